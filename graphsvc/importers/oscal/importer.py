"""Importing OSCAL files: read, map by model, write each as one named graph (replacing an
earlier import of the same thing) with its provenance, all files in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from rdflib import RDF

from graphsvc.errors import BadInput
from graphsvc.importers.model import Built, ImportReport, finish
from graphsvc.importers.oscal.assessment import assessment_graph
from graphsvc.importers.oscal.catalog import catalog_graph
from graphsvc.importers.oscal.document import OscalDocument, read_oscal
from graphsvc.importers.oscal.mapping import mapping_collection_graph
from graphsvc.importers.oscal.profile import profile_graph
from graphsvc.importers.oscal.ssp import component_definition_graph, ssp_graph
from graphsvc.importers.releases import ReleaseGraphs
from graphsvc.importers.safety import LIMITS, InputLimits, read_limited
from graphsvc.namespaces import DCTERMS, GC
from graphsvc.store import Store, Triple
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.writes import collector_paused, commit

# what later documents of a batch look up: releases and their controls, baselines
CATALOG_INDEX = {RDF.type, GC.identifier, GC.versionOf, GC.inRelease, GC.releaseOf,
                 GC.enhances, GC.wholeRelease, GC.includesControl, GC.selectsFrom,
                 DCTERMS.source}


def import_oscal(store: Store, paths: Iterable[Path], *, max_bytes: int,
                 framework: str | None = None, catalog: str | None = None,
                 release: str | None = None,
                 progress: Callable[[ImportReport], None] = lambda _: None,
                 limits: InputLimits = LIMITS) -> list[ImportReport]:
    """Import files in order, all in one transaction: on any error nothing is written.

    A profile may select from a catalog, and an SSP name a baseline, imported earlier
    in the same batch.
    """
    documents = ((str(path), read_limited(path, max_bytes)) for path in paths)
    graphs, reports = build_batch(store, documents, framework=framework, catalog=catalog,
                                  release=release, progress=progress, limits=limits)
    commit(store, graphs)
    return reports


@collector_paused()
def build_batch(store: Store, documents: Iterable[tuple[str, bytes]], *,
                framework: str | None = None, catalog: str | None = None,
                release: str | None = None,
                progress: Callable[[ImportReport], None] = lambda _: None,
                limits: InputLimits = LIMITS,
                ) -> tuple[dict[str, list[Triple]], list[ImportReport]]:
    """The graphs (source, bytes) documents become, each built against the store plus
    what the batch built before it; nothing is written to the store."""
    batch = EmbeddedStore()  # the releases and baselines of this batch so far
    releases = ReleaseGraphs(store)
    graphs: dict[str, list[Triple]] = {}
    reports = []
    for source, data in documents:
        built = build_oscal([store, batch], data, source=source, framework=framework,
                            catalog=catalog, release=release, limits=limits)
        report, triples = finish(built, source, data)
        if built.release is not None:
            counts, warnings = releases.take(built.release, source, data)
            report = replace(report, counts=report.counts + counts,
                             warnings=report.warnings + tuple(warnings))
            graph = built.release.graph
            batch.write({graph: [t for t in releases.graph(graph)
                                 if t[1] in CATALOG_INDEX]}, replace=True)
        if built.graph != (built.release.graph if built.release else None):
            graphs[built.graph] = triples
            batch.write({built.graph: [t for t in triples if t[1] in CATALOG_INDEX]},
                        replace=True)
        reports.append(report)
        progress(report)
    graphs.update(releases.graphs())
    return graphs, reports


def build_oscal(stores: Sequence[Store], data: bytes, *, source: str,
                framework: str | None = None, catalog: str | None = None,
                release: str | None = None, limits: InputLimits = LIMITS) -> Built:
    """What an OSCAL document states, not yet written."""
    return build_document(stores, read_oscal(data, source=source, limits=limits),
                          framework=framework, catalog=catalog, release=release)


def build_document(stores: Sequence[Store], doc: OscalDocument, *,
                   framework: str | None = None, catalog: str | None = None,
                   release: str | None = None) -> Built:
    """What a document read by :func:`read_oscal` states, not yet written."""
    source = doc.source
    builders: dict[str, Callable[[], Built]] = {
        "catalog": lambda: catalog_graph(doc, framework, release),
        "profile": lambda: profile_graph(doc, stores, catalog, release),
        "system-security-plan": lambda: ssp_graph(doc, stores, framework),
        "component-definition": lambda: component_definition_graph(doc, framework),
        "mapping-collection": lambda: mapping_collection_graph(doc),
        "assessment-plan": lambda: assessment_graph(doc, framework),
        "assessment-results": lambda: assessment_graph(doc, framework),
    }
    if doc.model not in builders:
        raise BadInput(f"importing an OSCAL {doc.model} is not supported yet", where=source)
    try:
        built = builders[doc.model]()
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        # read_oscal's checks keep the mappers' assumptions; this says where it did not
        raise BadInput(f"the {doc.model} is not shaped as OSCAL defines it "
                       f"({type(exc).__name__}: {exc})", where=source) from exc
    built.model = doc.model
    return built
