"""Parsing RDF documents with Oxigraph's parsers: fast, streaming, exact error positions,
and no network access (JSON-LD remote contexts are refused; nothing is dereferenced)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, MutableMapping

import pyoxigraph as ox

from graphsvc.errors import BadInput, TooLarge
from graphsvc.store import Term, Triple
from graphsvc.store.embedded import from_ox

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}

Quad = tuple[Term, Term, Term, Term | None]


class _IllTyped(logging.Filter):
    """rdflib logs a traceback for each literal it cannot cast to a Python value (a
    5,000-digit integer, a date in month 13). Such a literal stays as written, as RDF
    has it; the traceback would be all a user of the CLI sees of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_IllTyped())


def iter_quads(data: bytes, fmt: str, *, source: str, base_iri: str | None = None
               ) -> Iterator[ox.Quad]:
    """The document's quads one at a time, as Oxigraph terms (graph ``DefaultGraph`` =
    the document's default graph). Blank nodes are renamed so that two loads never
    share one by accident. Raises :class:`BadInput` naming ``source``, line and column."""
    try:
        for quad in ox.parse(data, format=FORMATS[fmt], base_iri=base_iri,
                             rename_blank_nodes=True):
            if isinstance(quad.subject, ox.Triple) or isinstance(quad.object, ox.Triple):
                raise BadInput(f"RDF-star terms are not supported: {quad}", where=source)
            yield quad
    except SyntaxError as exc:
        where = f"{source}, line {exc.lineno}" if exc.lineno else source
        if exc.lineno and exc.offset:
            where += f", column {exc.offset}"
        raise BadInput(f"not valid {fmt}: {exc.msg}", where=where) from exc
    except (ValueError, OSError) as exc:  # what the parsers raise besides SyntaxError
        raise BadInput(f"not valid {fmt}: {exc}", where=source) from exc
    except MemoryError as exc:  # a parser's own buffer limit (16 MiB for one JSON-LD token)
        raise TooLarge(f"not parsed: {exc}", where=source) from exc


def parse_quads(data: bytes, fmt: str, *, source: str, base_iri: str | None = None
                ) -> list[Quad]:
    """All quads of a document as rdflib terms (graph ``None`` = its default graph)."""
    return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object), _graph(q.graph_name))
            for q in iter_quads(data, fmt, source=source, base_iri=base_iri)]


def _graph(name: object) -> Term | None:
    return None if isinstance(name, ox.DefaultGraph) else from_ox(name)


class Spooled:
    """The triples of one graph kept as N-Triples text and parsed again on each pass:
    a load holds about the size of its files, where rdflib terms take near a kilobyte a
    triple (a 70 MB N-Triples file was 2 GB). Any number of passes give the same
    triples, blank nodes included."""

    def __init__(self) -> None:
        self._text = bytearray()
        self._count = 0
        self.extra: list[Triple] = []  # a few triples of our own (provenance)

    def add(self, quad: ox.Quad) -> None:
        self._text += f"{quad.subject} {quad.predicate} {quad.object} .\n".encode()
        self._count += 1

    def extend(self, triples: Iterable[Triple]) -> None:
        self.extra += triples

    def __len__(self) -> int:
        return self._count + len(self.extra)

    def __iter__(self) -> Iterator[Triple]:
        for t in ox.parse(self._text, format=ox.RdfFormat.N_TRIPLES):
            yield from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)  # type: ignore[misc]
        yield from self.extra


def spool(data: bytes, fmt: str, *, source: str, into: MutableMapping[str, Spooled],
          graph_for: Callable[[str | None], str]) -> set[str]:
    """Parse a document into spooled graphs: each quad goes to the graph ``graph_for``
    gives its graph name (``None``: the document's default graph). The names written."""
    written = set()
    for quad in iter_quads(data, fmt, source=source):
        graph = quad.graph_name
        if isinstance(graph, ox.BlankNode):
            raise BadInput(f"a graph named by a blank node ({graph}) cannot be loaded: name "
                           "it with an IRI", where=source)
        name = graph_for(None if isinstance(graph, ox.DefaultGraph) else graph.value)
        if name not in into:
            into[name] = Spooled()
        into[name].add(quad)
        written.add(name)
    return written
