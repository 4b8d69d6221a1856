"""Importing one OSCAL file: read, map by model, write as one named graph (replacing an
earlier import of the same thing) with its provenance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF

from graphsvc.errors import BadInput
from graphsvc.importers.crosswalk import crosswalk_graph
from graphsvc.importers.crosswalk import format_of as crosswalk_format
from graphsvc.importers.oscal.assessment import assessment_graph
from graphsvc.importers.oscal.catalog import catalog_graph
from graphsvc.importers.oscal.document import read_oscal
from graphsvc.importers.oscal.mapping import mapping_collection_graph
from graphsvc.importers.oscal.model import Built
from graphsvc.importers.oscal.profile import profile_graph
from graphsvc.importers.oscal.ssp import component_definition_graph, ssp_graph
from graphsvc.importers.rdf import provenance
from graphsvc.importers.safety import read_limited
from graphsvc.namespaces import DCTERMS, GC
from graphsvc.store import Store, Triple
from graphsvc.store.embedded import EmbeddedStore

CATALOG_INDEX = {RDF.type, GC.identifier, GC.inFramework, GC.enhances, DCTERMS.source}


@dataclass(frozen=True)
class ImportReport:
    source: str
    model: str
    graph: str
    triples: int
    counts: Counter[str]
    warnings: tuple[str, ...] = ()


def import_oscal(store: Store, paths: Iterable[Path], *, max_bytes: int,
                 framework: str | None = None, catalog: str | None = None,
                 progress: Callable[[ImportReport], None] = lambda _: None,
                 ) -> list[ImportReport]:
    """Import files in order, all in one transaction: on any error nothing is written.

    A profile may select from a catalog imported earlier in the same batch.
    """
    batch = EmbeddedStore()  # what this batch has built so far, for profile resolution
    graphs: dict[str, list[Triple]] = {}
    reports = []
    for path in paths:
        data = read_limited(path, max_bytes)
        report, triples = build_oscal([store, batch], data, source=str(path),
                                      framework=framework, catalog=catalog)
        if report.model == "catalog":  # what profile resolution reads, nothing more
            batch.write({report.graph: [t for t in triples if t[1] in CATALOG_INDEX]},
                        replace=True)
        graphs[report.graph] = triples
        reports.append(report)
        progress(report)
    store.write(graphs, replace=True)
    return reports


def import_crosswalks(store: Store, paths: Iterable[Path], *, max_bytes: int,
                      fmt: str | None = None,
                      progress: Callable[[ImportReport], None] = lambda _: None,
                      ) -> list[ImportReport]:
    """Import crosswalk tables (CISO YAML, CSV) in one transaction."""
    graphs: dict[str, list[Triple]] = {}
    reports = []
    for path in paths:
        data = read_limited(path, max_bytes)
        kind = crosswalk_format(path, fmt)
        built = crosswalk_graph(data, source=str(path), fmt=kind)
        report, graphs[built.graph] = _finish(built, kind, str(path), data)
        reports.append(report)
        progress(report)
    store.write(graphs, replace=True)
    return reports


def _finish(built: Built, model: str, source: str, data: bytes
            ) -> tuple[ImportReport, list[Triple]]:
    triples = built.triples + provenance(built.graph, source, data)
    report = ImportReport(source, model, built.graph, len(set(triples)), built.counts,
                          tuple(built.warnings))
    return report, triples


def build_oscal(stores: Sequence[Store], data: bytes, *, source: str,
                framework: str | None = None, catalog: str | None = None,
                ) -> tuple[ImportReport, list[Triple]]:
    """The named graph an OSCAL document becomes, not yet written."""
    doc = read_oscal(data, source=source)
    built: Built
    if doc.model == "catalog":
        built = catalog_graph(doc, framework)
    elif doc.model == "profile":
        built = profile_graph(doc, stores, catalog)
    elif doc.model == "system-security-plan":
        built = ssp_graph(doc, stores[0], framework)
    elif doc.model == "component-definition":
        built = component_definition_graph(doc, framework)
    elif doc.model == "mapping-collection":
        built = mapping_collection_graph(doc)
    elif doc.model in ("assessment-plan", "assessment-results"):
        built = assessment_graph(doc, framework)
    else:
        raise BadInput(f"importing an OSCAL {doc.model} is not supported yet", where=source)
    return _finish(built, doc.model, source, data)
