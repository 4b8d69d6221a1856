"""Named questions: header parsing, safe parameters, and answers checked against an
independent computation in Python from the source files (demo SSP JSON, demo Turtle,
FedRAMP profile JSON, CISO YAML), on both backends."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml
from rdflib import RDF, Graph, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import normalise_id
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.rdf import load_files
from graphsvc.namespaces import GC
from graphsvc.questions import ask, load_questions, parse_question
from graphsvc.store import Rows, Store
from tests.conftest import ROOT
from tests.helpers import drop_added

SSP = ROOT / "ontology/demo-customer-ssp.oscal.json"
DEMO_TTL = ROOT / "ontology/demo-customer.ttl"
DEMO_SET = "https://w3id.org/graphsvc/id/demo/controlset-claims-portal"


def fedramp_moderate(shared_data: Path) -> set[str]:
    profile = json.loads((shared_data / "fedramp-rev5/FedRAMP_rev5_MODERATE-baseline_profile.json"
                          ).read_text())["profile"]
    return {i for imp in profile["imports"] for inc in imp["include-controls"]
            for i in inc["with-ids"]}


def per_family(levels: dict[str, int], inherited: set[str]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for control, level in levels.items():
        counts = out.setdefault(control.split("-")[0], Counter())
        counts["controls"] += 1
        counts[("none", "partial", "full")[level]] += 1
        counts["inherited"] += control in inherited
    return out


def answered(store: Store, params: dict[str, str], today: date) -> dict[str, Counter]:
    rows = ask(store, "coverage", params, today=today)
    assert isinstance(rows, Rows)
    return {r["family"].toPython(): Counter({k: int(r[k]) for k in
                                             ("controls", "full", "partial", "none",
                                              "inherited")})
            for r in rows.dicts()}


def ssp_expectation(baseline: set[str], as_of: date) -> tuple[dict[str, int], set[str]]:
    """Coverage of the demo SSP, from its JSON: inheritance counts from date-authorized on."""
    ssp = json.loads(SSP.read_text())["system-security-plan"]
    authorized = date.fromisoformat(
        ssp["system-implementation"]["leveraged-authorizations"][0]["date-authorized"])
    valid = authorized <= as_of
    levels = dict.fromkeys(baseline, 0)
    inherited = set()
    for ir in ssp["control-implementation"]["implemented-requirements"]:
        bys = [b for st in ir["statements"] for b in st["by-components"]]
        inherits = any("inherited" in b for b in bys)
        own = [b for b in bys if "inherited" not in b]
        states = {b["implementation-status"]["state"] for b in own}
        score = 2 if states == {"implemented"} else 1 if states & {"implemented", "partial"} else 0
        if inherits and not own:
            score = 2 if valid else 0
        elif inherits and not valid:
            score = min(score, 1)
        if ir["control-id"] in levels:
            levels[ir["control-id"]] = max(levels[ir["control-id"]], score)
            if inherits and valid:
                inherited.add(ir["control-id"])
    return levels, inherited


@pytest.mark.parametrize("as_of", [date(2026, 11, 29), date(2025, 1, 1)])
def test_coverage_of_the_demo_ssp(loaded: Store, shared_data: Path, as_of: date) -> None:
    baseline = fedramp_moderate(shared_data)
    levels, inherited = ssp_expectation(baseline, as_of)
    assert answered(loaded, {"as_of": as_of.isoformat()}, as_of) == per_family(levels,
                                                                               inherited)


def turtle_expectation(baseline: set[str], as_of: date, g: Graph | None = None
                       ) -> tuple[dict[str, int], set[str]]:
    """Coverage of the Turtle demo control set, read with rdflib's Graph API only (from
    ``g``, the demo Turtle as a test changed it, if given)."""
    g = Graph().parse(DEMO_TTL) if g is None else g

    def valid(artifact: URIRef, control: str) -> bool:
        start, end = g.value(artifact, GC.validFrom), g.value(artifact, GC.validUntil)
        covers = {str(c).rsplit("/", 1)[1] for c in g.objects(artifact, GC.coversControl)}
        if g.value(artifact, GC.coversBaseline) is not None:
            covers |= baseline  # the demo's FedRAMP authorization covers the baseline
        # in scope: the attestation covers every service the system uses
        used = set(g.objects(g.value(URIRef(DEMO_SET), GC.describesSystem), GC.usesService))
        in_scope = used <= set(g.objects(artifact, GC.coversService))
        return (control in covers and in_scope and (start is None or start.toPython() <= as_of)
                and (end is None or as_of <= end.toPython()))

    levels = dict.fromkeys(baseline, 0)
    inherited = set()
    for impl in g.subjects(RDF.type, GC.ControlImplementation):
        control = str(g.value(impl, GC.implementsControl)).rsplit("/", 1)[1]
        if control not in levels:
            continue
        resp, status = g.value(impl, GC.responsibility), g.value(impl, GC.status)
        under = g.value(impl, GC.inheritedUnder)
        ok = under is not None and valid(under, control)
        own = 2 if status in (GC.Implemented, GC.Alternative) else (
            1 if status == GC.PartiallyImplemented else 0)
        if resp == GC.ProviderResponsibility:
            score = 2 if ok else 0
        elif resp == GC.SharedResponsibility:
            score = own if ok else min(own, 1)
        else:
            score = own
        levels[control] = max(levels[control], score)
        if ok and resp in (GC.ProviderResponsibility, GC.SharedResponsibility):
            inherited.add(control)
    return levels, inherited


@pytest.mark.parametrize("as_of", [date(2026, 6, 1), date(2026, 12, 20), date(2025, 1, 1)])
def test_coverage_of_the_turtle_demo(loaded: Store, shared_data: Path, as_of: date) -> None:
    baseline = fedramp_moderate(shared_data)
    levels, inherited = turtle_expectation(baseline, as_of)
    got = answered(loaded, {"controlSet": DEMO_SET, "as_of": as_of.isoformat()}, as_of)
    assert got == per_family(levels, inherited)


def test_coverage_through_a_crosswalk(loaded: Store, shared_data: Path, tmp_path: Path) -> None:
    """A control set that implements ISO/IEC 27001:2022 A.5.15 covers, partially, the
    800-53 controls CISO maps one-to-one to it as 'intersect'."""
    mapping = shared_data / "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
    before = {g.iri for g in loaded.graphs()}
    try:
        _coverage_through_a_crosswalk(loaded, shared_data, tmp_path, mapping)
    finally:  # the remote store is shared by the session
        drop_added(loaded, before)


def _coverage_through_a_crosswalk(loaded: Store, shared_data: Path, tmp_path: Path,
                                  mapping: Path) -> None:
    import_crosswalks(loaded, [mapping], max_bytes=10**8)
    rows = yaml.safe_load(mapping.read_text())["objects"]["requirement_mapping_sets"][0][
        "requirement_mappings"]
    mapped = {normalise_id(r["source_requirement_urn"].rsplit(":", 1)[1]) for r in rows
              if r["target_requirement_urn"].endswith(":a.5.15")
              and r["relationship"] == "intersect"}
    path = tmp_path / "iso.ttl"
    path.write_text(
        "@prefix gc: <https://w3id.org/graphsvc/compliance#> .\n"
        "<http://example.org/cs> a gc:ControlSet .\n"
        "<http://example.org/i> a gc:ControlImplementation ;"
        " gc:inControlSet <http://example.org/cs> ;"
        " gc:implementsControl <https://w3id.org/graphsvc/id/fw/iso27001-2022/a.5.15> ;"
        " gc:status gc:Implemented ; gc:responsibility gc:CustomerResponsibility .\n")
    load_files(loaded, [(path, "http://example.org/g")], max_bytes=10**6)
    baseline = fedramp_moderate(shared_data)
    levels = {c: (1 if c in mapped else 0) for c in baseline}
    got = answered(loaded, {"controlSet": "http://example.org/cs"}, date(2026, 11, 29))
    assert got == per_family(levels, set())
    assert sum(c["partial"] for c in got.values()) == len(mapped & baseline) > 0


INJECTIONS = ['x> } ; DROP ALL ; SELECT * { <y', '"}) UNION { ?s ?p ?o }', "id:baseline/none"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_are_refused_as_parameters(loaded: Store, value: str) -> None:
    before = {g.iri: g.triples for g in loaded.graphs()}
    with pytest.raises(BadInput, match="parameter baseline"):
        ask(loaded, "coverage", {"baseline": value})
    assert {g.iri: g.triples for g in loaded.graphs()} == before


@pytest.mark.parametrize("params,message", [
    ({"as_of": "2026-13-01"}, "not a date"),
    ({"as_of": "2026-01-01'; DROP"}, "not a date"),
    ({"controlSet": "id:org/aws"}, "is not a ControlSet"),
    ({"wat": "1"}, "unknown parameter"),
])
def test_bad_parameters(loaded: Store, params: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        ask(loaded, "coverage", params)


def test_every_question_file_has_a_valid_header() -> None:
    questions = load_questions()
    assert {"coverage", "responsibility"} <= set(questions)
    for question in questions.values():
        assert question.summary
    with pytest.raises(BadInput, match="summary"):
        parse_question("broken", "#+ description: no summary\nSELECT * {}")


def test_gaps_of_the_demo_ssp(loaded: Store, shared_data: Path) -> None:
    baseline = fedramp_moderate(shared_data)
    as_of = date(2026, 11, 29)
    levels, _ = ssp_expectation(baseline, as_of)
    ssp = json.loads(SSP.read_text())["system-security-plan"]
    touched = {ir["control-id"] for ir in ssp["control-implementation"]
               ["implemented-requirements"]}
    rows = ask(loaded, "gaps", {"as_of": as_of.isoformat()}, today=as_of)
    assert isinstance(rows, Rows)
    got = {str(r["control"]) for r in rows.dicts()}
    # a gap is a control nothing addresses: not merely partial or planned ones
    assert got == baseline - touched
    assert {c for c, level in levels.items() if level == 0} >= got


def test_gaps_grow_when_the_inheritance_lapses(loaded: Store, shared_data: Path) -> None:
    def gaps(as_of: str) -> set[str]:
        rows = ask(loaded, "gaps", {"as_of": as_of})
        assert isinstance(rows, Rows)
        return {str(r["control"]) for r in rows.dicts()}

    before, after = gaps("2026-11-29"), gaps("2025-01-01")
    ssp = json.loads(SSP.read_text())["system-security-plan"]
    only_inherited = {ir["control-id"] for ir in ssp["control-implementation"]
                      ["implemented-requirements"]
                      if all("inherited" in b for st in ir["statements"]
                             for b in st["by-components"])}
    assert after - before == only_inherited == {"pe-3", "pe-6"}


def test_inheritance_of_the_turtle_demo(loaded: Store) -> None:
    g = Graph().parse(DEMO_TTL)
    expected = set()
    for impl in g.subjects(GC.inheritedUnder, None):
        if g.value(impl, GC.responsibility) in (GC.ProviderResponsibility,
                                                GC.SharedResponsibility):
            artifact = g.value(impl, GC.inheritedUnder)
            end = g.value(artifact, GC.validUntil)
            expected.add((str(g.value(impl, GC.implementsControl)).rsplit("/", 1)[1],
                          str(artifact), end is None or date(2026, 12, 20) <= end.toPython()))
    rows = ask(loaded, "inheritance", {"as_of": "2026-12-20", "controlSet": DEMO_SET})
    assert isinstance(rows, Rows)
    got = {(str(r["control"]), str(r["artifact"]), r["valid"].toPython())
           for r in rows.dicts()}
    assert got == expected and any(not valid for *_, valid in got)


@pytest.mark.parametrize("as_of,days", [("2026-11-29", 30), ("2026-11-29", 1000),
                                        ("2027-06-01", 30)])
def test_attestations_expiring(loaded: Store, as_of: str, days: int) -> None:
    g = Graph().parse(DEMO_TTL)
    start = date.fromisoformat(as_of)
    expected = {str(a) for a, end in g.subject_objects(GC.validUntil)
                if (g.value(a, RDF.type) in (GC.Authorization, GC.AuditReport))
                and 0 <= (end.toPython() - start).days <= days}
    rows = ask(loaded, "attestations", {"as_of": as_of, "days": str(days)})
    assert isinstance(rows, Rows)
    assert {str(r["artifact"]) for r in rows.dicts()} == expected


@pytest.mark.parametrize("law,as_of,in_force", [("id:program/hipaa", "2026-11-29", True),
                                                ("id:program/hipaa", "2026-01-01", False),
                                                ("id:program/gdpr", "2026-11-29", False)])
def test_agreements(loaded: Store, law: str, as_of: str, in_force: bool) -> None:
    rows = ask(loaded, "agreements", {"law": law, "as_of": as_of,
                                      "controlSet": DEMO_SET})
    assert isinstance(rows, Rows) and len(rows) == 1
    assert rows.dicts()[0]["inForce"].toPython() is in_force


def test_crosswalk_of_one_requirement(loaded: Store, shared_data: Path) -> None:
    mapping = shared_data / "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
    before = {g.iri for g in loaded.graphs()}
    try:
        import_crosswalks(loaded, [mapping], max_bytes=10**8)
        rows = yaml.safe_load(mapping.read_text())["objects"]["requirement_mapping_sets"][0][
            "requirement_mappings"]
        expected = {(r["target_requirement_urn"].rsplit(":", 1)[1], "intersects-with")
                    for r in rows if r["source_requirement_urn"].endswith(":ac-2")}
        answer = ask(loaded, "crosswalk", {"requirement": "id:fw/nist-sp-800-53-rev5/ac-2"})
        assert isinstance(answer, Rows)
        got = {(str(r["other"]).rsplit("/", 1)[1], str(r["relation"])) for r in answer.dicts()}
        assert got == expected and len(got) >= 3
        reverse = ask(loaded, "crosswalk",
                      {"requirement": "id:fw/iso27001-2022/a.5.15"})
        assert isinstance(reverse, Rows) and len(reverse) > 0
    finally:
        drop_added(loaded, before)


def test_crosswalk_matrix(loaded: Store, shared_data: Path) -> None:
    files = [shared_data / "ciso-library/iso27001-2022.yaml",
             shared_data / "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"]
    catalog = shared_data / "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json"
    from graphsvc.importers.oscal.importer import import_oscal

    before = {g.iri for g in loaded.graphs()}
    try:
        import_crosswalks(loaded, files, max_bytes=10**8)
        import_oscal(loaded, [catalog], max_bytes=10**8)
        nodes = yaml.safe_load(files[0].read_text())["objects"]["framework"][
            "requirement_nodes"]
        by_urn = {n["urn"]: n for n in nodes}
        sets = yaml.safe_load(files[1].read_text())["objects"]["requirement_mapping_sets"]
        rows = [r for s in sets for r in s["requirement_mappings"]]  # forward and revert
        pairs = {}
        for r in rows:
            ends = (r["source_requirement_urn"], r["target_requirement_urn"])
            nist, iso = ends if "nist-sp-800-53" in ends[0] else ends[::-1]
            assert r["relationship"] == "intersect"  # symmetric: the same read from either side
            pairs[(nist, iso)] = (normalise_id(nist.rsplit(":", 1)[1]).split("-")[0],
                                  by_urn[by_urn[iso]["parent_urn"]]["ref_id"].lower())
        assert len(pairs) == len(rows) // 2 == 642  # every pair is stated both ways
        expected = Counter((family, parent, "intersects-with")
                           for family, parent in pairs.values())
        answer = ask(loaded, "crosswalk-matrix", {})
        assert isinstance(answer, Rows)
        got = Counter({(str(r["sourceFamily"]), str(r["targetFamily"]), str(r["relation"])):
                       int(r["mappings"]) for r in answer.dicts()})
        assert got == expected and sum(got.values()) == len(pairs)
    finally:
        drop_added(loaded, before)


def test_services_in_scope(loaded: Store, shared_data: Path) -> None:
    import csv as csvlib

    path = shared_data / "aws/services-in-scope/aws_services_compliance_status_2021-10-10.csv"
    with path.open(newline="") as f:
        hipaa = {r["service_prefix"] for r in csvlib.DictReader(f) if r["HIPAA"] == "true"}
    before = {g.iri for g in loaded.graphs()}
    try:
        [report] = import_crosswalks(loaded, [path], max_bytes=10**8)
        rows = ask(loaded, "services", {"programme": "id:program/hipaa"})
        assert isinstance(rows, Rows)
        got = {str(r["service"]).rsplit("/aws-", 1)[1] for r in rows.dicts()}
        assert got == hipaa and len(got) > 50
        ec2 = ask(loaded, "services", {"service": "id:service/aws-ec2"})
        assert isinstance(ec2, Rows) and "HIPAA" in {str(r["programmeLabel"])
                                                      for r in ec2.dicts()}
    finally:
        drop_added(loaded, before)
    empty = shared_data / "aws/services-in-scope/aws_services_compliance_status_2022-07-15.csv"
    from graphsvc.importers.services import services_graph

    warnings = services_graph(empty.read_bytes(), str(empty)).warnings
    assert any("FedRAMP_Moderate" in w for w in warnings)  # the upstream scraper fault
    with path.open(newline="") as f:
        assert report.counts["services"] == sum(1 for _ in csvlib.DictReader(f))


def test_automation_through_security_hub(loaded: Store, shared_data: Path) -> None:
    import csv as csvlib

    table = shared_data / "aws/securityhub/securityhub_control_to_nist80053r5.csv"
    baseline = fedramp_moderate(shared_data)
    with table.open(newline="") as f:
        expected = {(normalise_id(r["nist_800_53_r5_control"]), rule)
                    for r in csvlib.DictReader(f)
                    for rule in r["aws_config_rules"].split()
                    if normalise_id(r["nist_800_53_r5_control"]) in baseline}
    before = {g.iri for g in loaded.graphs()}
    try:
        import_crosswalks(loaded, [table], max_bytes=10**8)
        rows = ask(loaded, "automation", {})
        assert isinstance(rows, Rows)
        got = {(str(r["control"]), str(r["check"])) for r in rows.dicts()
               if str(r["via"]) == "AWS Security Hub"}
        assert got == expected and len(got) > 100
    finally:
        drop_added(loaded, before)


@pytest.mark.parametrize("as_of", ["2026-06-01", "2026-12-20"])
def test_attestations_covering_a_control(loaded: Store, as_of: str) -> None:
    g = Graph().parse(DEMO_TTL)
    day = date.fromisoformat(as_of)
    expected = {}
    for artifact in set(g.subjects(GC.coversControl, URIRef(
            "https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/pe-3"))) | set(
            g.subjects(GC.coversBaseline, None)):
        start, end = g.value(artifact, GC.validFrom), g.value(artifact, GC.validUntil)
        expected[str(artifact)] = start.toPython() <= day <= end.toPython()
    ssp = json.loads(SSP.read_text())["system-security-plan"]
    for auth in ssp["system-implementation"]["leveraged-authorizations"]:  # SSP: inherits pe-3
        expected[f"https://w3id.org/graphsvc/id/oscal/{auth['uuid']}"] = (
            date.fromisoformat(auth["date-authorized"]) <= day)
    rows = ask(loaded, "coverage-of-control", {"as_of": as_of})
    assert isinstance(rows, Rows)
    assert {str(r["artifact"]): r["valid"].toPython() for r in rows.dicts()} == expected
