"""Every write to the store goes through here, so that derived facts follow it.

Imports, loads, ``init`` and ``drop`` call :func:`commit`: the graphs are written (or
dropped), and in the same transaction the framework index is recomputed whenever the
write touches what it is computed from, and the control states
(:mod:`graphsvc.control_states`) of the control sets it touches. A write that touches
neither costs a few small queries more.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from graphsvc import control_states, search
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an import builds and writes its graphs:
    they are hundreds of thousands of tuples and terms, kept to the end, and every full
    collection walked them all again (a sixth of importing all of ../shared/data's
    OSCAL files). Usable as a decorator; nested uses leave it to the outermost."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@collector_paused()
def commit(store: Store, graphs: Mapping[str, list[Triple]], *, replace: bool = True,
           drop: Iterable[str] = ()) -> None:
    """Write ``graphs`` (replacing them, or adding to them) and drop ``drop``, with the
    framework index and the control states recomputed where needed: all in one
    transaction."""
    dropped = {g for g in drop if not is_derived(g)}
    leaving = dropped | (set(graphs) if replace else set())
    derived, gone = control_states.recompute(store, graphs, leaving)
    touched = any(p in INPUT_PREDICATES for triples in graphs.values() for _, p, _ in triples)
    requirements_changed = bool(touched or leaving & input_graphs(store))
    if requirements_changed:
        derived[INDEX_GRAPH] = _index(store, graphs, leaving)
    store.write({**graphs, **derived}, replace=True if replace else set(derived),
                drop=dropped | gone)
    if requirements_changed:
        search.refresh(store)  # the search index reads the framework index and the text


def _index(store: Store, graphs: Mapping[str, list[Triple]], leaving: set[str]
           ) -> list[Triple]:
    incoming = EmbeddedStore(keep_answers=False)  # what the index reads of the new graphs
    incoming.write({g: [t for t in triples if read_by_index(t)] for g, triples in graphs.items()})
    # added triples join those the graphs hold; replaced graphs are read from the new copy
    return build_index([(store, leaving | {INDEX_GRAPH}), (incoming, set())])


def is_derived(graph: str) -> bool:
    """Derived graphs follow the graphs they come from: nobody writes or drops them."""
    return graph == INDEX_GRAPH or control_states.is_states_graph(graph)


def graph_name(given: str) -> str:
    """A graph IRI, or a name under https://w3id.org/graphsvc/graph/ (demo-customer)."""
    return str(check_iri(given if ":" in given else str(GRAPH[given]), "graph"))


def drop_graphs(store: Store, names: Iterable[str]) -> list[str]:
    """Remove named graphs in one transaction (the index follows). Every graph must
    exist: otherwise nothing is dropped and the error names the unknown ones."""
    graphs = [graph_name(n) for n in names]
    derived = [g for g in graphs if is_derived(g)]
    if derived:
        raise BadInput("derived graphs (the framework index, control states) follow the "
                       "graphs they come from; drop those instead", where=derived[0])
    unknown = [g for g in graphs if g not in store.graph_names()]
    if unknown:
        raise NotFound(f"no such graph: {', '.join(unknown)} (see `graphsvc graphs`); "
                       "nothing was dropped", where="graph")
    commit(store, {}, drop=graphs)
    return graphs
