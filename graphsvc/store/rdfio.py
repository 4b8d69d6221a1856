"""Parsing RDF documents with Oxigraph's parsers: fast, exact error positions, and no
network access (JSON-LD remote contexts are refused; nothing is dereferenced)."""

from __future__ import annotations

import pyoxigraph as ox

from graphsvc.errors import BadInput
from graphsvc.store import Term
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


def parse_quads(data: bytes, fmt: str, *, source: str, base_iri: str | None = None) -> list[Quad]:
    """All quads of a document (graph ``None`` = the document's default graph).

    Blank nodes are renamed so that two loads never share one by accident.
    Raises :class:`BadInput` naming ``source``, line and column.
    """
    try:
        parser = ox.parse(
            data, format=FORMATS[fmt], base_iri=base_iri, rename_blank_nodes=True
        )
        return [
            (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object), _graph(q.graph_name))
            for q in parser
        ]
    except SyntaxError as exc:
        where = f"{source}, line {exc.lineno}" if exc.lineno else source
        if exc.lineno and exc.offset:
            where += f", column {exc.offset}"
        raise BadInput(f"not valid {fmt}: {exc.msg}", where=where) from exc


def _graph(name: object) -> Term | None:
    return None if isinstance(name, ox.DefaultGraph) else from_ox(name)
