"""FedRAMP 20x Key Security Indicators: the import counted against the JSON, and
ksi-coverage / ksi-automation recomputed from the files, on both backends."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
from rdflib import URIRef

from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.questions import ask
from graphsvc.store import Rows, Store
from graphsvc.web.dashboards import ksi_view
from tests.conftest import ROOT
from tests.helpers import drop_added

FRMR = "fedramp-20x/FRMR.documentation.json"
SECURITY_HUB = "aws/securityhub/securityhub_control_to_nist80053r5.csv"
PROWLER = "aws/prowler/compliance/nist_800_53_revision_5_aws.json"


def indicators(data: Path) -> dict[str, dict]:
    document = json.loads((data / FRMR).read_text())
    return {iid.lower(): {**indicator, "theme": theme.get("id") or key}
            for key, theme in document["KSI"].items()
            for iid, indicator in theme["indicators"].items()}


def rows(store: Store, name: str, **given: str) -> list[dict]:
    answer = ask(store, name, given)
    assert isinstance(answer, Rows)
    return [{k: (None if v is None else str(v)) for k, v in r.items()} for r in answer.dicts()]


@pytest.fixture
def with_ksi(loaded: Store, shared_data: Path):
    before = {g.iri for g in loaded.graphs()}
    [report] = import_crosswalks(loaded, [shared_data / FRMR], max_bytes=10**8)
    yield loaded, report
    drop_added(loaded, before)


def test_the_indicators_and_their_controls(with_ksi, shared_data: Path) -> None:
    store, report = with_ksi
    document = json.loads((shared_data / FRMR).read_text())
    found = indicators(shared_data)
    assert len(document["KSI"]) == report.counts["themes"] == 11
    assert len(found) == report.counts["indicators"] == 60
    with_controls = {i for i, v in found.items() if v.get("controls")}
    assert len(with_controls) == report.counts["indicators with controls"] == 51
    distinct = {c for v in found.values() for c in v.get("controls", [])}
    assert len(distinct) == 257
    inventory = {r["thing"].rsplit("/", 1)[1]: r for r in rows(store, "inventory")}
    assert inventory["fedramp-20x-ksi"]["count"] == "60"
    mapped = store.query("""
        PREFIX gc: <https://w3id.org/graphsvc/compliance#>
        SELECT ?i ?c ?r WHERE { ?m gc:sourceRequirement ?i ; gc:targetRequirement ?c ;
          gc:relation ?r . ?i gc:inFramework <https://w3id.org/graphsvc/id/fw/fedramp-20x-ksi> }""")
    assert isinstance(mapped, Rows)
    assert {str(r) for _, _, r in mapped} == {  # related, never claimed equal
        "https://w3id.org/graphsvc/compliance#Unspecified"}
    assert sorted((str(i).rsplit("/", 1)[1], str(c).rsplit("/", 1)[1]) for i, c, _ in mapped) \
        == sorted((i, c) for i, v in found.items() for c in dict.fromkeys(v.get("controls", [])))
    # the former id and the update history come along
    first = next(iter(found))
    facts = store.query("SELECT ?p ?o WHERE { ?r ?p ?o }", {
        "r": URIRef(f"https://w3id.org/graphsvc/id/fw/fedramp-20x-ksi/{first}")})
    assert isinstance(facts, Rows)
    assert found[first]["fka"] in {str(o) for _, o in facts}


def demo_states(as_of: date) -> dict[str, str]:
    """What the demo SSP does with each control on a day, read from its JSON: inherited
    or shared under the leveraged authorization (valid from its date), its own parts."""
    ssp = json.loads((ROOT / "ontology/demo-customer-ssp.oscal.json").read_text())[
        "system-security-plan"]
    [auth] = ssp["system-implementation"]["leveraged-authorizations"]
    attested = date.fromisoformat(auth["date-authorized"]) <= as_of
    out = {}
    for req in ssp["control-implementation"]["implemented-requirements"]:
        bys = [b for s in req.get("statements", [req]) for b in s.get("by-components", [])]
        states = {b["implementation-status"]["state"] for b in bys}
        inherited = any(b.get("inherited") for b in bys)
        own = any(not b.get("inherited") or b.get("satisfied") for b in bys)
        done = states <= {"implemented"}
        if inherited and not own:
            out[req["control-id"]] = "inherited" if attested else "missing"
        elif done and (not inherited or attested):
            out[req["control-id"]] = "implemented"
        elif states & {"implemented", "partial"}:
            out[req["control-id"]] = "partly"
        else:
            out[req["control-id"]] = "missing"
    return out


@pytest.mark.parametrize("day", ["2026-06-30", "2025-01-01"])
def test_ksi_coverage_of_the_demo(with_ksi, shared_data: Path, day: str) -> None:
    store, _ = with_ksi
    states = demo_states(date.fromisoformat(day))
    expected = []
    for iid, indicator in indicators(shared_data).items():
        controls = list(dict.fromkeys(indicator.get("controls", [])))
        counted = [states.get(c, "missing") for c in controls]
        expected.append((iid, len(controls), *(counted.count(s) for s in (
            "implemented", "inherited", "partly", "missing"))))
    got = [(r["indicatorId"], int(r["controls"]), *(int(r[k] or 0) for k in (
        "implemented", "inherited", "partly", "missing")))
        for r in rows(store, "ksi-coverage", as_of=day)]
    assert sorted(got) == sorted(expected)
    assert any(g[2] or g[4] for g in got)  # the demo speaks of some related controls


def test_ksi_automation_from_the_check_tables(with_ksi, shared_data: Path) -> None:
    store, _ = with_ksi
    added = import_crosswalks(store, [shared_data / SECURITY_HUB, shared_data / PROWLER],
                              max_bytes=10**8)
    assert len(added) == 2
    with (shared_data / SECURITY_HUB).open(newline="") as f:
        hub = {r["nist_800_53_r5_control"].strip().lower().replace("(", ".").replace(")", "")
               .replace(" ", "") for r in csv.DictReader(f) if r.get("aws_config_rules")}
    prowler = json.loads((shared_data / PROWLER).read_text())
    probed = set()  # "AC-2(3)(a) ..." checks a part of ac-2.3; "... (AC-3)" checks ac-3
    for requirement in prowler["Requirements"]:
        found = re.match(r"([A-Z]{2}-\d+)(?:\s*\((\d+)\))?", requirement["Name"].strip()) \
            or re.search(r"\(([A-Z]{2}-\d+)(?:\((\d+)\))?\)\s*$", requirement["Name"])
        if found and requirement.get("Checks"):
            probed.add(found.group(1).lower() + (f".{found.group(2)}" if found.group(2) else ""))
    checked = hub | probed
    expected = []
    for iid, indicator in indicators(shared_data).items():
        controls = set(indicator.get("controls", []))
        if controls:
            hits = len(controls & checked)
            expected.append((iid, len(controls), hits, "automated" if hits == len(controls)
                             else "partly" if hits else "none"))
    got = [(r["indicatorId"], int(r["controls"]), int(r["checked"]), r["automation"])
           for r in rows(store, "ksi-automation")]
    assert sorted(got) == sorted(expected)
    # the /ksi page's figures: indicators met through their controls, and the share the
    # checks reach against FedRAMP's 70% goal
    day = "2026-06-30"
    view = ksi_view(rows(store, "ksi-coverage", as_of=day), rows(store, "ksi-automation"))
    states = demo_states(date.fromisoformat(day))
    met = [iid for iid, indicator in indicators(shared_data).items() if indicator.get(
        "controls") and all(states.get(c) in ("implemented", "inherited")
                            for c in indicator["controls"])]
    assert view["met"] == len(met)
    assert (view["automated"], view["automation_rows"]) == (
        sum(e[3] == "automated" for e in expected), len(expected))
    assert view["indicators"] == len(indicators(shared_data))
