"""What-if and the scope of attestations, on the demo (both backends).

Expected figures are recomputed from the demo Turtle with rdflib (tests/test_questions'
turtle_expectation, on a copy of the graph the test changes as the scenario says) and
the FedRAMP profiles' JSON; what-if's "before" is the store's own answer."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import XSD, Graph, Literal, URIRef

from graphsvc.cli import main
from graphsvc.errors import BadInput, NotFound
from graphsvc.namespaces import GC, ID
from graphsvc.store import Store
from graphsvc.validation import validate
from graphsvc.whatif import WhatIf, parse_change, what_if
from graphsvc.writes import commit
from tests.helpers import baseline_ids, drop_added
from tests.test_questions import (
    DEMO_SET,
    DEMO_TTL,
    fedramp_moderate,
    per_family,
    turtle_expectation,
)

SOC2 = URIRef(ID["demo/artifact-aws-soc-2"])
FEDRAMP_AUTH = URIRef(ID["demo/artifact-aws-fedramp-moderate"])
KMS = URIRef(ID["service/aws-kms"])
AS_OF = date(2026, 12, 1)


def sides(result: WhatIf) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """The families before and after, as tests/test_questions.per_family gives them."""
    keys = ("controls", "full", "partial", "none", "inherited")
    return tuple({f["family"]: Counter({k: f[f"{k}{when}"] for k in keys})
                  for f in result.families if f[f"controls{when}"]}
                 for when in ("Before", "After"))  # type: ignore[return-value]


def test_no_change_answers_as_the_store(loaded: Store) -> None:
    """The copy the scenario is applied to answers as the store itself, for every demo
    control set: the copy holds all that coverage reads."""
    for control_set in (DEMO_SET, "id:controlset/c0c0c0c0-0000-4000-8000-000000000000"):
        result = what_if(loaded, control_set, None, AS_OF, [])
        before, after = sides(result)
        assert before == after and result.controls == []
        assert sum(c["full"] for c in before.values()) > 0


def test_the_soc2_report_lapsing_a_day_early(loaded: Store, shared_data: Path) -> None:
    """With the SOC 2 report's scope widened to KMS (which the demo system uses), it
    lapsing a day before its end changes coverage on its last day exactly as the test
    recomputes it from the Turtle; before, the report counts."""
    baseline = fedramp_moderate(shared_data)
    g = Graph().parse(DEMO_TTL)
    end = g.value(SOC2, GC.validUntil).toPython()
    graphs = set(loaded.graph_names())
    commit(loaded, {"urn:test:soc2-kms": [(SOC2, GC.coversService, KMS)]})
    try:
        result = what_if(loaded, DEMO_SET, None, end, [parse_change(
            f"lapse:demo/artifact-aws-soc-2@{end.isoformat()}")])
    finally:
        drop_added(loaded, graphs)
    g.add((SOC2, GC.coversService, KMS))
    expected_before = per_family(*turtle_expectation(baseline, end, g))
    g.set((SOC2, GC.validUntil, Literal((end - timedelta(days=1)).isoformat(),
                                        datatype=XSD.date)))
    expected_after = per_family(*turtle_expectation(baseline, end, g))
    assert sides(result) == (expected_before, expected_after)
    assert expected_before != expected_after  # the report did carry controls


def inherited_under(artifact: URIRef, baseline: set[str], as_of: date) -> set[str]:
    """The controls the demo inherits (provider or shared) under one attestation, valid
    on the day, from the Turtle."""
    g = Graph().parse(DEMO_TTL)
    _, inherited = turtle_expectation(baseline, as_of, g)
    return {c for c in inherited
            if any(str(g.value(i, GC.implementsControl)).endswith(f"/{c}")
                   and g.value(i, GC.inheritedUnder) == artifact
                   for i in g.subjects(GC.inControlSet, URIRef(DEMO_SET)))}


def test_a_service_leaving_scope_removes_exactly_what_it_carried(
        loaded: Store, shared_data: Path) -> None:
    baseline = fedramp_moderate(shared_data)
    carried = inherited_under(FEDRAMP_AUTH, baseline, AS_OF)
    assert carried  # the demo inherits under its FedRAMP authorization
    result = what_if(loaded, DEMO_SET, None, AS_OF, [parse_change(
        "service-out:service/aws-ec2@program/fedramp")])
    assert [c["identifier"] for c in result.controls] == sorted(
        carried, key=lambda c: [int(p) if p.isdigit() else p
                                for p in c.replace(".", "-").split("-")])
    assert all(c["before"] == "inherited" or c["before"].endswith("provider part inherited")
               for c in result.controls)
    assert all("inherited" not in c["after"] and "aws-ec2" in c["why"]
               for c in result.controls)
    before, after = sides(result)
    assert sum(f["inherited"] for f in before.values()) - sum(
        f["inherited"] for f in after.values()) == len(carried)


def test_moving_to_high_lists_the_controls_high_adds(loaded: Store, shared_data: Path
                                                     ) -> None:
    high = set(baseline_ids(shared_data / "fedramp-rev5/FedRAMP_rev5_HIGH-baseline_profile.json"))
    moderate = fedramp_moderate(shared_data)
    result = what_if(loaded, DEMO_SET, "fedramp-rev5-moderate", AS_OF,
                     [parse_change("baseline:baseline/fedramp-rev5-high")])
    added = [c["identifier"] for c in result.controls if c["before"] == "not in the baseline"]
    assert len(added) == len(set(added)) and set(added) == high - moderate
    assert all(c["levelBefore"] is None for c in result.controls if c["identifier"] in added)
    before, after = sides(result)
    assert sum(f["controls"] for f in after.values()) == len(high)
    assert sum(f["controls"] for f in before.values()) == len(moderate)


def test_the_demo_s_soc2_report_does_not_cover_kms(loaded: Store, shared_data: Path) -> None:
    """The demo system uses KMS, which the SOC 2 report's scope leaves out: the
    controls inherited under it are not covered, and validation says why."""
    g = Graph().parse(DEMO_TTL)
    uses = set(g.objects(g.value(URIRef(DEMO_SET), GC.describesSystem), GC.usesService))
    assert KMS in uses and KMS not in set(g.objects(SOC2, GC.coversService))
    under_soc2 = {str(g.value(i, GC.implementsControl)).rsplit("/", 1)[1]
                  for i in g.subjects(GC.inheritedUnder, SOC2)}
    report = validate(loaded, path=DEMO_TTL, baseline="fedramp-rev5-moderate", as_of=AS_OF)
    outside = [r for r in report.results if str(r.shape).endswith("CoversServices")]
    assert sorted(r.message.split(" ")[0] for r in outside) == sorted(under_soc2)
    assert all("Key Management Service" in r.message for r in outside)
    # what-if: were KMS to leave SOC 2 (it is not in it), nothing would change
    assert what_if(loaded, DEMO_SET, None, AS_OF, [parse_change(
        "drop-program:program/soc-2")]).controls == []


def test_bad_scenarios_say_what_and_where(loaded: Store) -> None:
    with pytest.raises(NotFound, match="inherits nothing under"):
        what_if(loaded, DEMO_SET, None, AS_OF, [parse_change("lapse:demo/no-such-report")])
    with pytest.raises(NotFound, match="not a CloudService"):
        what_if(loaded, DEMO_SET, None, AS_OF, [parse_change(
            "service-out:demo/artifact-aws-soc-2@program/fedramp")])
    for text in ("expire:demo/x", "renew:demo/artifact-aws-soc-2", "lapse:demo/x@2026-02-30",
                 "service-out:service/aws-ec2"):
        with pytest.raises(BadInput) as caught:
            parse_change(text)
        assert caught.value.where.startswith("change")


def test_the_command_and_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 client) -> None:
    monkeypatch.setenv("GRAPHSVC_STORE", str(tmp_path / "store"))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    args = ["what-if", DEMO_SET, "--as-of", AS_OF.isoformat(),
            "--change", "lapse:demo/artifact-aws-fedramp-moderate"]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output
    api = client.get("/api/what-if", query_string={
        "controlSet": DEMO_SET, "as_of": AS_OF.isoformat(),
        "change": "lapse:demo/artifact-aws-fedramp-moderate"}).get_json()
    assert api["controls"] and all(c["identifier"] in out.output for c in api["controls"])
    assert "controls change state" in out.output
    bad = runner.invoke(main, [*args[:-1], "lapse:demo/nothing"])
    assert bad.exit_code == 2 and "inherits nothing under" in bad.output
    assert client.get("/api/what-if", query_string={
        "controlSet": DEMO_SET, "change": "lapse:demo/nothing"}).status_code == 404
    page = client.get("/what-if", query_string={
        "controlSet": DEMO_SET, "as_of": AS_OF.isoformat(), "lapse": str(FEDRAMP_AUTH)})
    assert page.status_code == 200
    assert all(c["identifier"] in page.data.decode() for c in api["controls"])
