"""Where the data lives: one small interface, two backends.

* :class:`~graphsvc.store.embedded.EmbeddedStore` -- Oxigraph on disk (default) or in memory;
* :class:`~graphsvc.store.remote.RemoteStore` -- any SPARQL 1.1 endpoint (Protocol for
  queries, Graph Store Protocol for loads).

Terms crossing this interface are rdflib terms. Queries see the union of all named
graphs as their default graph (each source lives in its own named graph). Nothing
outside this package imports pyoxigraph or SPARQLWrapper.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from rdflib import Graph
from rdflib.term import BNode, Literal, URIRef

from graphsvc.config import Config
from graphsvc.errors import BadInput

Term = URIRef | BNode | Literal
Triple = tuple[Term, Term, Term]

# Each source lives in its own named graph; the default graph is not written to.
GRAPHS_QUERY = """
SELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }
GROUP BY ?g ORDER BY ?g
"""


@dataclass(frozen=True)
class Rows:
    """The solutions of a SELECT query, in the order the query gave them."""

    variables: list[str]
    rows: list[tuple[Term | None, ...]]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Term | None, ...]]:
        return iter(self.rows)

    def dicts(self) -> list[dict[str, Term | None]]:
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]


QueryResult = Rows | Graph | bool


@dataclass(frozen=True)
class GraphInfo:
    iri: str
    triples: int


def term_bytes(terms: Iterable[Term | None]) -> int:
    """The UTF-8 size of the terms' text: what an answer costs, whatever its format."""
    return sum(len(str(t).encode()) for t in terms if t is not None)


_IRI_FORBIDDEN = set('<>"{}|^`\\ \t\r\n')


def check_iri(value: str, where: str = "IRI") -> URIRef:
    """An absolute IRI that is safe to write between angle brackets in SPARQL."""
    if ":" not in value or any(ch in _IRI_FORBIDDEN or ord(ch) < 0x20 for ch in value):
        raise BadInput(f"not an absolute IRI: {value!r}", where=where)
    return URIRef(value)


class Store(ABC):
    """A quad store: read-only SPARQL queries, and named graphs written in transactions."""

    @abstractmethod
    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None, *,
              limit: int | None = None, max_bytes: int | None = None) -> QueryResult:
        """Run a read-only query; ``bindings`` give variables a value before evaluation;
        ``limit`` keeps at most that many rows or triples, ``max_bytes`` stops after the
        first row or triple whose terms (:func:`term_bytes`) pass that size (the embedded
        engine then stops evaluating there).

        Returns :class:`Rows` (SELECT), an rdflib ``Graph`` (CONSTRUCT, DESCRIBE) or a
        bool (ASK). Updates and SERVICE are refused with :class:`BadInput`.
        """

    @abstractmethod
    def write(self, graphs: Mapping[str, Iterable[Triple]], *,
              replace: bool | Collection[str] = False, drop: Iterable[str] = ()) -> None:
        """Add triples to named graphs, replace them (``replace``: True for all, or the
        names of those to replace) and drop the graphs ``drop``: all or nothing."""

    def drop(self, graphs: Iterable[str]) -> None:
        """Remove named graphs in one transaction; unknown graphs are ignored."""
        update = " ;\n".join(f"DROP SILENT GRAPH <{check_iri(g, 'graph')}>" for g in graphs)
        if update:
            self._update(update)

    @abstractmethod
    def _update(self, update: str) -> None:
        """Run one SPARQL Update (our own text, with checked IRIs only) as a transaction."""

    def graph_names(self) -> set[str]:
        """The named graphs that hold anything (cheaper than counting them)."""
        result = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        assert isinstance(result, Rows)
        return {str(g) for (g,) in result if not is_staging(str(g))}

    def graphs(self) -> list[GraphInfo]:
        """The named graphs with their triple counts."""
        result = self.query(GRAPHS_QUERY)
        assert isinstance(result, Rows)
        return [GraphInfo(str(g), int(n)) for g, n in result if not is_staging(str(g))]

    def close(self) -> None:  # noqa: B027 -- backends without resources need nothing
        """Release files or connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


STAGING_PREFIX = "urn:graphsvc:staging:"


def is_staging(graph: str) -> bool:
    """Staging graphs hold a load until it is moved into place in one update."""
    return graph.startswith(STAGING_PREFIX)


def plan_write(targets: Iterable[str], existing: set[str]) -> dict[str, str]:
    """Where each target graph is written first: new graphs directly (cheap), graphs that
    exist already into a staging graph that one update then moves into place."""
    return {t: STAGING_PREFIX + uuid.uuid4().hex if t in existing else t for t in targets}


def replaced(replace: bool | Collection[str], targets: Iterable[str]) -> set[str]:
    """The target graphs a write replaces (the others it adds to)."""
    return set(targets) if replace is True else set(replace or ()) & set(targets)


def move_update(moves: Mapping[str, str], *, replacing: Collection[str],
                drop: Iterable[str] = ()) -> str:
    """One SPARQL Update that puts every staging graph into its target graph (replacing
    the targets named in ``replacing``, adding to the others) and drops ``drop``.

    A single update request is one transaction on Oxigraph, so either all graphs of a
    load appear or none does. Only IRIs checked by :func:`check_iri` reach this text.
    """
    ops = [f"MOVE SILENT GRAPH <{s}> TO GRAPH <{t}>" if t in replacing else
           f"ADD SILENT GRAPH <{s}> TO GRAPH <{t}> ; DROP SILENT GRAPH <{s}>"
           for s, t in moves.items()]
    ops += [f"DROP SILENT GRAPH <{check_iri(g, 'graph')}>" for g in drop]
    return " ;\n".join(ops)


def open_store(config: Config, *, read_only: bool = False, keep_answers: bool = True,
               serving: bool = False) -> Store:
    """The backend the configuration asks for: remote if a URL is set, else embedded
    (read-only: its newest published view; ``keep_answers``: until the store changes;
    ``serving``: a long-lived reader, which copies small views into memory)."""
    if config.remote:
        from graphsvc.store.remote import RemoteStore

        return RemoteStore.from_config(config)
    from graphsvc.store.embedded import EmbeddedStore

    copy = config.memory_copy_quads if serving and read_only else 0
    return EmbeddedStore(config.store_dir, read_only=read_only, keep_answers=keep_answers,
                         copy_quads=copy)
