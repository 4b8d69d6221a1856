"""Every OSCAL file and every crosswalk file of ../shared/data imports (one batch each)."""

from __future__ import annotations

from pathlib import Path

from bench.imports import oscal_files
from graphsvc.control_states import is_states_graph
from graphsvc.framework_index import INDEX_GRAPH
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store.embedded import EmbeddedStore


def test_every_oscal_file_imports(shared_data: Path) -> None:
    files = oscal_files(shared_data)
    assert len(files) >= 270  # 230 AWS component definitions among them
    with EmbeddedStore() as store:
        reports = import_oscal(store, files, max_bytes=10**9)
        models = {r.model for r in reports}
        assert models == {"catalog", "profile", "component-definition", "system-security-plan",
                          "mapping-collection", "assessment-plan", "assessment-results"}
        written = {r.graph for r in reports} | {r.release for r in reports if r.release}
        assert {g.iri for g in store.graphs() if not is_states_graph(g.iri)} == written | {
            INDEX_GRAPH}


def test_every_crosswalk_file_imports(shared_data: Path) -> None:
    files = [*sorted((shared_data / "ciso-library").glob("*.yaml")),
             *sorted((shared_data / "oscal-mappings").glob("*.csv")),
             *sorted((shared_data / "oscal-mappings").glob("*.xlsx")),
             shared_data / "aws/securityhub/securityhub_control_to_nist80053r5.csv",
             *sorted((shared_data / "aws/prowler/compliance").glob("*.json"))]
    with EmbeddedStore() as store:
        reports = import_crosswalks(store, files, max_bytes=10**9)
    assert len(reports) == len(files)
    # (CISO Assistant libraries state each pair twice, forward and "revert": kept once)
    assert sum(r.counts["mappings"] for r in reports) > 10000
