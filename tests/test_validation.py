"""Validation with SHACL: the results equal the defects planted (counted from the
generator's parameters and the profile files), the fast engine equals pyshacl, the
example leveraging SSP gives what its JSON says, bad input is refused."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph

from graphsvc.cli import main
from graphsvc.errors import BadInput
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store import Store
from graphsvc.store.guard import check_query
from graphsvc.validation import SH, constraints, validate
from graphsvc.validation_output import render_report
from tests.conftest import ROOT
from tests.helpers import baseline_ids, control_set_turtle, drop_added

AS_OF = "2026-11-29"
LOW = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"
MODERATE = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-moderate"


def members(shared_data: Path, level: str) -> list[str]:
    return baseline_ids(shared_data / f"fedramp-rev5/FedRAMP_rev5_{level}-baseline_profile.json")


def found(report) -> set[tuple[str, str]]:
    return {(str(r.shape).rsplit("#", 1)[1], r.control) for r in report.results}


def run(store: Store, tmp_path: Path, text: str, engine: str = "fast", **kw):
    path = tmp_path / "set.ttl"
    path.write_text(text)
    return validate(store, path=path, baseline=kw.pop("baseline", LOW),
                    as_of=date.fromisoformat(AS_OF), engine=engine, **kw)


def test_a_complete_control_set_conforms(loaded: Store, shared_data: Path,
                                         tmp_path: Path) -> None:
    ids = members(shared_data, "LOW")
    report = run(loaded, tmp_path, control_set_turtle(ids, LOW, AS_OF))
    assert report.results == [] and report.conforms and report.passed
    assert len(report.controls) == len(set(ids)) > 100


PLANTED = {
    "missing": dict(missing=frozenset({"ac-2", "au-6", "sc-7", "ir-4"})),
    "bad statuses": dict(bad_status=frozenset({"cm-2", "ra-5", "si-2"})),
    "expired attestation": dict(inherited=frozenset({"pe-2", "pe-3", "mp-2"}), expired=True),
    "-1 inherited": dict(inherited=frozenset({"ac-1", "pe-2"})),
    "HIPAA without BAA": dict(hipaa=True, baa=False),
    "HIPAA with BAA": dict(hipaa=True, baa=True),
}


def expected_defects(plan: dict) -> set[tuple[str, str]]:
    """What the planted defects must give, by rule and control, from the plan alone."""
    out = {("BaselineControlAccountedFor", c) for c in plan.get("missing", ())}
    out |= {("StatusIsOscal", c) for c in plan.get("bad_status", ())}
    inherited = plan.get("inherited", frozenset())
    if plan.get("expired"):
        out |= {("InheritedAttestationValid", c) for c in inherited}
    out |= {("PolicyControlNotInherited", c) for c in inherited if re.fullmatch(r"[a-z]+-1", c)}
    if plan.get("hipaa") and not plan.get("baa", True):
        out.add(("RequiredAgreementInForce", ""))
    return out


@pytest.mark.parametrize("name", list(PLANTED))
def test_violations_equal_the_defects_planted(loaded: Store, shared_data: Path,
                                              tmp_path: Path, name: str) -> None:
    plan = PLANTED[name]
    text = control_set_turtle(members(shared_data, "LOW"), LOW, AS_OF, **plan)
    report = run(loaded, tmp_path, text)
    assert found(report) == expected_defects(plan)
    assert report.counts["Violation"] == len(expected_defects(plan))
    assert report.passed is (not expected_defects(plan))


def test_the_fast_engine_gives_exactly_pyshacls_results(loaded: Store, shared_data: Path,
                                                         tmp_path: Path) -> None:
    """Every planted defect at once, plus the demo control set (warnings included).
    Only 30 controls are stated (rdflib runs one query per focus node and constraint,
    ~20 ms each); the other LOW controls are missing."""
    ids = members(shared_data, "LOW")
    plan = dict(missing=frozenset(ids[30:]) | {"ac-2"}, bad_status=frozenset({"ac-3"}),
                inherited=frozenset({"ac-1", "at-1"}), expired=True, hipaa=True, baa=False)
    text = control_set_turtle(ids, LOW, AS_OF, **plan)
    fast = run(loaded, tmp_path, text, "fast")
    reference = pyshacl_results(("planted", AS_OF), lambda: run(loaded, tmp_path, text,
                                                               "pyshacl"))
    assert sorted(r.key() for r in fast.results) == reference
    assert len(fast.results) == len(reference) == len(expected_defects(plan))
    demo = ROOT / "ontology" / "demo-customer.ttl"
    for as_of in ("2026-11-29", "2027-07-01"):  # after 2027-05-31 the FedRAMP demo expired
        def check(engine: str, day: str = as_of):
            return validate(loaded, path=demo, baseline=MODERATE, engine=engine,
                            as_of=date.fromisoformat(day))
        fast = check("fast")
        assert sorted(r.key() for r in fast.results) == pyshacl_results(
            ("demo", as_of), lambda c=check: c("pyshacl"))
        assert any(r.severity == "Warning" for r in fast.results)


# pyshacl (the reference) takes seconds per run, and every backend holds the same
# content: it runs once per session for each case, and each backend's fast engine is
# compared with its results.
_PYSHACL: dict[tuple[str, str], list] = {}


def pyshacl_results(case: tuple[str, str], report) -> list:
    if case not in _PYSHACL:
        _PYSHACL[case] = sorted(r.key() for r in report().results)
    return _PYSHACL[case]


def test_the_demo_control_set(loaded: Store, shared_data: Path) -> None:
    """Counted from the demo Turtle with rdflib and the FedRAMP profile: the baseline
    controls it has no statement for; reviews older than 12 months; the risk plan and
    assessment last reviewed more than 6 months before the day; on a later day, the
    inherited controls whose attestation has lapsed."""
    demo = Graph().parse(ROOT / "ontology" / "demo-customer.ttl")
    from graphsvc.namespaces import GC

    stated = {str(c).rsplit("/", 1)[1] for c in demo.objects(None, GC.implementsControl)}
    report = validate(loaded, path=ROOT / "ontology" / "demo-customer.ttl", baseline=MODERATE,
                      as_of=date.fromisoformat(AS_OF))
    missing = {c for rule, c in found(report) if rule == "BaselineControlAccountedFor"}
    assert missing == set(members(shared_data, "MODERATE")) - stated and len(missing) > 250
    reviewed = {str(demo.value(i, GC.implementsControl)).rsplit("/", 1)[1]
                for i in demo.subjects(RDF.type, GC.ControlImplementation)
                if str(demo.value(i, GC.lastReviewed)) < "2025-11-29"}
    assert {c for rule, c in found(report) if rule == "ReviewedWithinCadence"} == reviewed
    assert {rule for rule, c in found(report) if not c} == {"BusinessPlanReviewed",
                                                            "RiskAssessmentReviewed"}
    later = validate(loaded, path=ROOT / "ontology" / "demo-customer.ttl", baseline=MODERATE,
                     as_of=date(2027, 7, 1))
    expired = {c for rule, c in found(later) if rule == "InheritedAttestationValid"}
    lapsed = {str(demo.value(i, GC.implementsControl)).rsplit("/", 1)[1]
              for i in demo.subjects(GC.responsibility, GC.ProviderResponsibility)
              if str(demo.value(demo.value(i, GC.inheritedUnder), GC.validUntil)) < "2027-07-01"}
    assert expired == lapsed and len(lapsed) >= 5


def test_the_example_leveraging_ssp(loaded: Store, shared_data: Path) -> None:
    """The NIST example SSP against the rev4 LOW baseline its import-profile names:
    every LOW control but the one it implements is missing; ac-2 (shared: inherited
    and satisfied) states no status and no review date."""
    rev4 = shared_data / "nist-800-53-rev4"
    before = {g.iri for g in loaded.graphs()}
    try:
        import_oscal(loaded, [rev4 / "NIST_SP-800-53_rev4_catalog.json",
                              rev4 / "NIST_SP-800-53_rev4_LOW-baseline_profile.json"],
                     max_bytes=10**8)
        path = shared_data / "oscal-examples/oscal_leveraging-example_ssp.json"
        ssp = json.loads(path.read_text())["system-security-plan"]
        requirements = ssp["control-implementation"]["implemented-requirements"]
        implemented = {r["control-id"] for r in requirements}
        low = set(baseline_ids(rev4 / "NIST_SP-800-53_rev4_LOW-baseline_profile.json"))
        expected = {("BaselineControlAccountedFor", c) for c in low - implemented}
        for r in requirements:
            bys = [b for s in r.get("statements", []) for b in s.get("by-components", [])]
            if not any("implementation-status" in b for b in bys):
                expected.add(("StatusIsOscal", r["control-id"]))
            if not any(b.get("responsible-roles") for b in bys):
                expected.add(("HasOwner", r["control-id"]))
            expected.add(("ReviewedWithinCadence", r["control-id"]))  # OSCAL has no date
        report = validate(loaded, path=path, as_of=date.fromisoformat(AS_OF))
        assert str(report.baseline).endswith("rev4-low")
        assert found(report) == expected
        assert report.counts["Violation"] == len(expected) - 1
    finally:
        drop_added(loaded, before)


def test_report_formats(loaded: Store, shared_data: Path, tmp_path: Path) -> None:
    plan = dict(missing=frozenset({"ac-2", "au-6"}), inherited=frozenset({"ac-1"}))
    report = run(loaded, tmp_path, control_set_turtle(members(shared_data, "LOW"), LOW,
                                                      AS_OF, **plan))
    n = len(expected_defects(plan))
    data = json.loads(render_report(report, "json"))
    assert data["counts"]["Violation"] == len(data["results"]) == n and not data["passed"]
    shacl = Graph().parse(data=render_report(report, "turtle"), format="turtle")
    assert len(set(shacl.subjects(RDF.type, SH.ValidationResult))) == n
    assert (None, SH.conforms, None) in shacl
    sarif = json.loads(render_report(report, "sarif"))
    assert sarif["version"] == "2.1.0"
    assert [r["level"] for r in sarif["runs"][0]["results"]] == ["error"] * n
    assert {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]} == {
        str(c.shape).rsplit("#", 1)[1] for c in constraints()}
    suite = ET.fromstring(render_report(report, "junit").split("?>", 1)[1]).find("testsuite")
    assert suite is not None and int(suite.get("failures")) == n
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"ac-2", "au-6", "ac-1"}
    text = render_report(report, "text")
    assert "Summary: 3 violations, 0 warnings, 0 info: FAILS" in text
    assert text.index("\nAC (") < text.index("\nAU (")


def test_data_never_acts_as_shapes(loaded: Store, shared_data: Path, tmp_path: Path) -> None:
    """A shape inside the uploaded data (which would flag every control set) is data."""
    rogue = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix gc: <https://w3id.org/graphsvc/compliance#> .
<https://example.org/rogue> a sh:NodeShape ; sh:targetClass gc:ControlSet ;
  sh:sparql [ sh:message "rogue" ; sh:select "SELECT $this WHERE { $this a ?t }" ] .
"""
    ids = members(shared_data, "LOW")
    text = control_set_turtle(ids, LOW, AS_OF, missing=frozenset(ids[10:])) + rogue
    for engine in ("fast", "pyshacl"):
        results = run(loaded, tmp_path, text, engine).results
        assert {r.control for r in results} == set(ids[10:])
        assert not any(r.message == "rogue" for r in results)


def test_shape_queries_are_read_only_and_local() -> None:
    for c in constraints():
        check_query(c.select.replace("$this", "?this"))  # refuses SERVICE and updates
        assert not re.search(r"(?<![?$])\b(SERVICE|LOAD|FROM)\b", c.select, re.IGNORECASE)


def test_validate_cli_exit_codes_and_bad_input(runner: CliRunner, shared_data: Path,
                                                tmp_path: Path) -> None:
    assert runner.invoke(main, ["init"]).exit_code == 0
    before = runner.invoke(main, ["graphs"]).output
    good = tmp_path / "good.ttl"
    good.write_text(control_set_turtle(members(shared_data, "LOW"), LOW, AS_OF))
    ok = runner.invoke(main, ["validate", str(good), "--as-of", AS_OF])
    assert ok.exit_code == 0, ok.output
    assert "0 violations" in ok.output
    bad = tmp_path / "bad.ttl"
    bad.write_text(control_set_turtle(members(shared_data, "LOW"), LOW, AS_OF,
                                      missing=frozenset({"ac-2"})))
    failed = runner.invoke(main, ["validate", str(bad), "--as-of", AS_OF, "--format", "json"])
    assert failed.exit_code == 1 and json.loads(failed.output)["counts"]["Violation"] == 1
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix gc: <https://w3id.org/graphsvc/compliance#> .\n<a> gc:x .\n")
    cases = [
        ([str(broken)], "line 2"),
        ([str(ROOT / "pyproject.toml")], "unknown file type"),
        ([str(shared_data / "oscal-examples/basic-catalog.json")], "not a control set"),
        ([str(good), "--baseline", "fedramp-rev9-ultra"], "unknown baseline"),
        ([str(good), "--as-of", "2026-02-30"], "--as-of"),
        ([str(good), "--review-months", "0"], "--review-months"),
        (["--graph", "https://example.org/none"], "no graph"),
    ]
    for args, words in cases:
        result = runner.invoke(main, ["validate", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, (args, result.output)
    assert runner.invoke(main, ["graphs"]).output == before  # nothing was written


def test_validate_a_graph_of_the_store(loaded: Store) -> None:
    report = validate(loaded, graph="https://w3id.org/graphsvc/graph/demo-customer",
                      as_of=date.fromisoformat(AS_OF))
    assert str(report.baseline) == MODERATE  # the control set's gc:targetBaseline
    from_file = validate(loaded, path=ROOT / "ontology" / "demo-customer.ttl",
                         as_of=date.fromisoformat(AS_OF))
    assert {r.key() for r in report.results} == {r.key() for r in from_file.results}
    with pytest.raises(BadInput):
        validate(loaded, graph="https://w3id.org/graphsvc/graph/ontology")
