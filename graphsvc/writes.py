"""Every write to the store goes through here, so that derived facts follow it.

Imports, loads, ``init`` and ``drop`` call :func:`commit`: the graphs are written (or
dropped) and the framework index is recomputed in the same transaction whenever the
write touches what it is computed from. A write that does not (a control set) costs
one small query more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphsvc import search
from graphsvc.errors import BadInput, NotFound
from graphsvc.framework_index import (
    INDEX_GRAPH,
    INPUT_PREDICATES,
    build_index,
    input_graphs,
    read_by_index,
)
from graphsvc.namespaces import GRAPH
from graphsvc.store import Store, Triple, check_iri
from graphsvc.store.embedded import EmbeddedStore


def commit(store: Store, graphs: Mapping[str, list[Triple]], *, replace: bool = True,
           drop: Iterable[str] = ()) -> None:
    """Write ``graphs`` (replacing them, or adding to them) and drop ``drop``, with the
    framework index recomputed where needed: all in one transaction."""
    dropped = set(drop) - {INDEX_GRAPH}
    leaving = dropped | (set(graphs) if replace else set())
    touched = any(p in INPUT_PREDICATES for triples in graphs.values() for _, p, _ in triples)
    if not touched and not (leaving & input_graphs(store)):
        store.write(graphs, replace=replace, drop=dropped)
        return
    incoming = EmbeddedStore(keep_answers=False)  # what the index reads of the new graphs
    incoming.write({g: [t for t in triples if read_by_index(t)] for g, triples in graphs.items()})
    # added triples join those the graphs hold; replaced graphs are read from the new copy
    index = build_index([(store, leaving | {INDEX_GRAPH}), (incoming, set())])
    store.write({**graphs, INDEX_GRAPH: index}, replace=True if replace else {INDEX_GRAPH},
                drop=dropped)
    search.refresh(store)  # the search index reads the framework index and the text


def graph_name(given: str) -> str:
    """A graph IRI, or a name under https://w3id.org/graphsvc/graph/ (demo-customer)."""
    return str(check_iri(given if ":" in given else str(GRAPH[given]), "graph"))


def drop_graphs(store: Store, names: Iterable[str]) -> list[str]:
    """Remove named graphs in one transaction (the index follows). Every graph must
    exist: otherwise nothing is dropped and the error names the unknown ones."""
    graphs = [graph_name(n) for n in names]
    if INDEX_GRAPH in graphs:
        raise BadInput("the framework index is derived from the other graphs and follows "
                       "them; drop those instead", where=INDEX_GRAPH)
    unknown = [g for g in graphs if g not in store.graph_names()]
    if unknown:
        raise NotFound(f"no such graph: {', '.join(unknown)} (see `graphsvc graphs`); "
                       "nothing was dropped", where="graph")
    commit(store, {}, drop=graphs)
    return graphs
