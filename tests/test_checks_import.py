"""Technical-check tables: AWS Security Hub -> 800-53 r5 CSV and Prowler compliance JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store import Rows, Store
from tests.helpers import catalog_control_ids

GC = "PREFIX gc: <https://w3id.org/graphsvc/compliance#> "


def scalar(store: Store, query: str) -> int:
    rows = store.query(GC + query)
    assert isinstance(rows, Rows)
    return int(rows.rows[0][0])


def test_security_hub_table(store: Store, shared_data: Path) -> None:
    path = shared_data / "aws/securityhub/securityhub_control_to_nist80053r5.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    import_crosswalks(store, [path], max_bytes=10**8)
    assert len(rows) == 1533
    assert scalar(store, "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a gc:Mapping ; "
                         "gc:relation gc:Unspecified }") == len(rows)
    hub_controls = {r["securityhub_control_id"] for r in rows}
    assert len(hub_controls) == 221  # the data README's figure
    assert scalar(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?m gc:sourceRequirement ?s }"
                  ) == len(hub_controls)
    rules = {rule for r in rows for rule in r["aws_config_rules"].split()}
    assert scalar(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a gc:TechnicalCheck }"
                  ) == len(rules)


def test_prowler_800_53_checks_attach_to_catalog_controls(store: Store, shared_data: Path
                                                          ) -> None:
    path = shared_data / "aws/prowler/compliance/nist_800_53_revision_5_aws.json"
    document = json.loads(path.read_text())
    checks = {c for r in document["Requirements"] for c in r.get("Checks", [])}
    import_oscal(store, [shared_data / "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json"],
                 max_bytes=10**8)
    import_crosswalks(store, [path], max_bytes=10**8)
    assert scalar(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a gc:TechnicalCheck }"
                  ) == len(checks)
    # every checked requirement is a control of the catalog, except those Prowler names
    # with an id 800-53 does not have (it writes "SA-1(1)", "CP-1(2)", ...)
    rows = store.query(GC + "SELECT DISTINCT ?r WHERE { ?c gc:checksRequirement ?r "
                            "FILTER NOT EXISTS { ?r a gc:Control } }")
    assert isinstance(rows, Rows)
    dangling = {str(r[0]).rsplit("/", 1)[1] for r in rows}
    catalog_ids = catalog_control_ids(
        shared_data / "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json")
    names = " ".join(r["Name"] for r in document["Requirements"]).upper()
    assert not dangling & catalog_ids
    for missing in dangling:
        family_number, _, enhancement = missing.upper().partition(".")
        assert f"{family_number}({enhancement})" in names
    assert scalar(store, "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?c gc:checksRequirement ?r }"
                  ) > 100


@pytest.mark.parametrize("name", ["hipaa_aws.json", "soc2_aws.json", "pci_4.0_aws.json"])
def test_prowler_other_frameworks_keep_their_requirements(store: Store, shared_data: Path,
                                                          name: str) -> None:
    path = shared_data / "aws/prowler/compliance" / name
    document = json.loads(path.read_text())
    [report] = import_crosswalks(store, [path], max_bytes=10**8)
    assert report.counts["requirements"] == len({r["Id"] for r in document["Requirements"]})
    pairs = {(r["Id"], c) for r in document["Requirements"] for c in r.get("Checks", [])}
    assert scalar(store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?c ?r WHERE { "
                         "?c gc:checksRequirement ?r } }") == len(pairs)
