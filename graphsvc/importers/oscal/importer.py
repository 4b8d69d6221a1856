"""Importing OSCAL files: read, map by model, write each as one named graph (replacing an
earlier import of the same thing) with its provenance, all files in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rdflib import RDF

from graphsvc.errors import BadInput
from graphsvc.importers.model import Built, ImportReport, finish
from graphsvc.importers.oscal.assessment import assessment_graph
from graphsvc.importers.oscal.catalog import catalog_graph
from graphsvc.importers.oscal.document import read_oscal
from graphsvc.importers.oscal.mapping import mapping_collection_graph
from graphsvc.importers.oscal.profile import profile_graph
from graphsvc.importers.oscal.ssp import component_definition_graph, ssp_graph
from graphsvc.importers.safety import read_limited
from graphsvc.namespaces import DCTERMS, GC
from graphsvc.store import Store, Triple
from graphsvc.store.embedded import EmbeddedStore

CATALOG_INDEX = {RDF.type, GC.identifier, GC.inFramework, GC.enhances, DCTERMS.source}


def import_oscal(store: Store, paths: Iterable[Path], *, max_bytes: int,
                 framework: str | None = None, catalog: str | None = None,
                 progress: Callable[[ImportReport], None] = lambda _: None,
                 ) -> list[ImportReport]:
    """Import files in order, all in one transaction: on any error nothing is written.

    A profile may select from a catalog, and an SSP name a baseline, imported earlier
    in the same batch.
    """
    documents = ((str(path), read_limited(path, max_bytes)) for path in paths)
    graphs, reports = build_batch(store, documents, framework=framework, catalog=catalog,
                                  progress=progress)
    store.write(graphs, replace=True)
    return reports


def build_batch(store: Store, documents: Iterable[tuple[str, bytes]], *,
                framework: str | None = None, catalog: str | None = None,
                progress: Callable[[ImportReport], None] = lambda _: None,
                ) -> tuple[dict[str, list[Triple]], list[ImportReport]]:
    """The graphs (source, bytes) documents become, each built against the store plus
    what the batch built before it; nothing is written to the store."""
    batch = EmbeddedStore()  # the catalog and baseline index of this batch so far
    graphs: dict[str, list[Triple]] = {}
    reports = []
    for source, data in documents:
        report, triples = build_oscal([store, batch], data, source=source,
                                      framework=framework, catalog=catalog)
        if report.model in ("catalog", "profile"):  # what later documents look up
            batch.write({report.graph: [t for t in triples if t[1] in CATALOG_INDEX]},
                        replace=True)
        graphs[report.graph] = triples
        reports.append(report)
        progress(report)
    return graphs, reports


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
        built = ssp_graph(doc, stores, framework)
    elif doc.model == "component-definition":
        built = component_definition_graph(doc, framework)
    elif doc.model == "mapping-collection":
        built = mapping_collection_graph(doc)
    elif doc.model in ("assessment-plan", "assessment-results"):
        built = assessment_graph(doc, framework)
    else:
        raise BadInput(f"importing an OSCAL {doc.model} is not supported yet", where=source)
    return finish(built, doc.model, source, data)
