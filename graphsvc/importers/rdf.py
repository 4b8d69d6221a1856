"""Loading plain RDF files (Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML) safely.

Nothing is fetched because a file says so: XML DOCTYPE and entity declarations are
refused (no entity expansion, no external entities), JSON-LD remote contexts and
``@import`` are refused, and ``owl:imports`` is data, never followed. A load parses
every file first and writes all of them in one store transaction, so a bad file
leaves the store as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from rdflib import RDF, XSD, Literal, URIRef

from graphsvc import __version__
from graphsvc.errors import BadInput
from graphsvc.importers.oscal.document import MODELS as OSCAL_MODELS
from graphsvc.importers.safety import LIMITS, InputLimits, check_xml, load_json, read_limited
from graphsvc.namespaces import DCTERMS, GC, GRAPH, PROV
from graphsvc.store import Store, Triple, check_iri, is_staging
from graphsvc.store.rdfio import Spooled, parse_quads, spool
from graphsvc.writes import commit

EXTENSIONS = {
    ".ttl": "turtle",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".rdf": "rdfxml",
    ".owl": "rdfxml",
    ".xml": "rdfxml",
}


@dataclass(frozen=True)
class LoadReport:
    graphs: dict[str, int]  # graph IRI -> triples written by this load


def format_of(path: Path) -> str:
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(EXTENSIONS))
        raise BadInput(f"unknown RDF file type {path.suffix!r}; known: {known}",
                       where=str(path)) from None


def default_graph_for(path: Path) -> str:
    return str(GRAPH["file/" + path.name])


def read_rdf(data: bytes, fmt: str, *, source: str, limits: InputLimits = LIMITS
             ) -> list[tuple]:
    """All quads of a document, as rdflib terms (:func:`check_rdf` first)."""
    check_rdf(data, fmt, source=source, limits=limits)
    return parse_quads(data, fmt, source=source)


def check_rdf(data: bytes, fmt: str, *, source: str, limits: InputLimits = LIMITS) -> None:
    """Refuse what could make us fetch, or what Oxigraph's parsers could not survive:
    its JSON-LD parser overflows its stack some thousand levels deep, its RDF/XML parser
    is quadratic in depth and in namespace declarations."""
    if fmt == "rdfxml":
        check_xml(data, source, limits)
    elif fmt == "jsonld":
        _refuse_remote_contexts(data, source, limits)


def load_files(
    store: Store,
    sources: Iterable[tuple[Path, str | None]],
    *,
    replace: bool = False,
    max_bytes: int,
    limits: InputLimits = LIMITS,
) -> LoadReport:
    """Parse every (file, target graph) pair, then write them all in one transaction."""
    graphs = read_files(sources, max_bytes=max_bytes, limits=limits)
    commit(store, graphs, replace=replace)
    return LoadReport({name: len(triples) for name, triples in graphs.items()})


def read_files(sources: Iterable[tuple[Path, str | None]], *, max_bytes: int,
               limits: InputLimits = LIMITS) -> dict[str, Spooled]:
    """The graphs the files become. Triples of a document's default graph go to its
    target graph (``None``: one graph per file); a TriG or N-Quads file's named graphs
    keep their names unless a target is given. Each graph gets a provenance record of
    the files it came from. The graphs are spooled (parsed again when read): memory
    follows the files' size."""
    graphs: dict[str, Spooled] = {}
    for path, graph in sources:
        target = _writable(graph, "--graph") if graph else None
        data = read_limited(path, max_bytes)
        fmt, source = format_of(path), str(path)
        check_rdf(data, fmt, source=source, limits=limits)
        own_graph = target or default_graph_for(path)
        written = spool(data, fmt, source=source, into=graphs,
                        graph_for=partial(_graph_for, target, own_graph, source))
        for name in written or {own_graph}:
            graphs.setdefault(name, Spooled()).extend(provenance(name, source, data))
    return graphs


def _graph_for(target: str | None, own: str, source: str, name: str | None) -> str:
    """The graph a quad of the document's graph ``name`` (None: default) goes to."""
    return target or (_writable(name, source) if name else own)


def _writable(graph: str, where: str) -> str:
    """A graph a load may write: not a staging graph of a write under way, nor one the
    service derives."""
    name = str(check_iri(graph, where))
    if is_staging(name) or name.startswith(str(GRAPH["derived/"])):
        raise BadInput(f"graph <{name}> is the service's own; load into another graph",
                       where=where)
    return name


def provenance(graph: str, source: str, data: bytes) -> list[Triple]:
    """The graph describes where its content came from (kept with it, replaced with it)."""
    g = URIRef(graph)
    return [
        (g, RDF.type, GC.SourceGraph),
        (g, DCTERMS.source, Literal(source)),
        (g, GC.contentSha256, Literal(hashlib.sha256(data).hexdigest())),
        (g, PROV.generatedAtTime,
         Literal(datetime.now(UTC).isoformat(timespec="seconds"), datatype=XSD.dateTime)),
        (g, GC.toolVersion, Literal(__version__)),
    ]


def _refuse_remote_contexts(data: bytes, source: str, limits: InputLimits) -> None:
    """A JSON-LD context given by IRI (or pulled in with @import) would be fetched. A key
    given twice is refused: Oxigraph might read the other one."""
    document = load_json(data, source, limits, unique_keys=True)
    _refuse_plain_json(document, source)
    for pointer, context in _contexts(document, ""):
        for item in context if isinstance(context, list) else [context]:
            if isinstance(item, str) or (isinstance(item, dict) and "@import" in item):
                raise BadInput("remote JSON-LD contexts are not accepted; inline the context",
                               where=f"{source}, {pointer}/@context")


def _refuse_plain_json(document: object, source: str) -> None:
    """JSON that is not JSON-LD would load as (almost) nothing: say what it is instead."""
    if isinstance(document, dict) and len(document) == 1 and next(iter(document)) in OSCAL_MODELS:
        raise BadInput(f"this is an OSCAL {next(iter(document))}, not JSON-LD: import it with "
                       "`graphsvc import oscal`", where=source)
    if not _has_keyword(document, depth=0):
        raise BadInput("not JSON-LD: no @context, @id, @graph or @type anywhere; "
                       "OSCAL documents go through `graphsvc import oscal`, crosswalk "
                       "tables through `graphsvc import crosswalk`", where=source)


def _has_keyword(node: object, depth: int) -> bool:
    if depth > 64:
        return False
    if isinstance(node, dict):
        return any(k.startswith("@") for k in node) or any(
            _has_keyword(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return any(_has_keyword(v, depth + 1) for v in node)
    return False


def _contexts(node: object, pointer: str) -> Iterable[tuple[str, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                yield pointer, value
            yield from _contexts(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _contexts(value, f"{pointer}/{index}")
