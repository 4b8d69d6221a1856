"""One node and one statement per fact, where real sources meet: the shipped FedRAMP
content (release 5.1.1), the 5.0.1 catalog, NIST's 5.1.1 HIGH baseline, CSF 2.0, ISO
27001 and the CISO 800-53 <-> ISO crosswalk, and the FedRAMP example SSP, on both
backends. Expected values are read from the files with json / yaml / ElementTree."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from graphsvc.cli import main
from graphsvc.content import init_store
from graphsvc.errors import BadInput
from graphsvc.identity import normalise_id, requirement_iri
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.questions import ask, bind, parse_question
from graphsvc.store import Rows, Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.server import VIRTUOSO_LIMITS, oxigraph_server
from graphsvc.writes import drop_graphs
from tests.conftest import BACKENDS, ROOT, emptied, need_shared_data, remote_store, virtuoso_store
from tests.helpers import baseline_ids

NS = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}
FW = "https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5"
CATALOG_501 = "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json"
HIGH_511 = "nist-800-53-rev5/NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
SSP = "fedramp-rev5/examples/fedramp-ssp-example.oscal.xml"
CISO_MAP = "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
OSCAL = [CATALOG_501, HIGH_511, "nist-csf-2.0/NIST_CSF_v2.0_catalog-oscal-1.2.1.json", SSP]
CROSSWALKS = ["ciso-library/iso27001-2022.yaml", CISO_MAP]


def load_everything(store: Store, data: Path) -> None:
    init_store(store, max_bytes=10**9)
    import_oscal(store, [data / name for name in OSCAL], max_bytes=10**9)
    import_crosswalks(store, [data / name for name in CROSSWALKS], max_bytes=10**9)


@pytest.fixture(scope="module", params=BACKENDS)
def meeting(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Store]:
    """A store where the sources meet, built once per backend for this module."""
    data = need_shared_data()
    if request.param == "embedded":
        with EmbeddedStore() as store:
            load_everything(store, data)
            yield store
    elif request.param == "remote":
        with oxigraph_server(tmp_path_factory.mktemp("meeting")) as url:
            store = remote_store(url)
            load_everything(store, data)
            yield store
    else:  # the session's Virtuoso, emptied before and after
        store = emptied(virtuoso_store(request.getfixturevalue("virtuoso")))
        load_everything(store, data)
        yield store
        emptied(store)


def on_virtuoso(request: pytest.FixtureRequest) -> bool:
    return request.node.callspec.params.get("meeting") == "virtuoso"


def rows(store: Store, name: str, **given: str) -> list[dict]:
    answer = ask(store, name, given)
    assert isinstance(answer, Rows)
    return [{k: (None if v is None else str(v)) for k, v in r.items()} for r in answer.dicts()]


def test_every_statement_is_made_once(meeting: Store) -> None:
    """COUNT equals COUNT(DISTINCT) over the whole union of graphs: no triple is in two
    graphs, so an analyst's own counts are right."""
    total = meeting.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    distinct = meeting.query(
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")
    assert isinstance(total, Rows) and isinstance(distinct, Rows)
    assert int(total.rows[0][0]) == int(distinct.rows[0][0]) > 150_000
    per_family = meeting.query("""
        PREFIX gc: <https://w3id.org/graphsvc/compliance#>
        SELECT ?f (COUNT(?c) AS ?n) (COUNT(DISTINCT ?c) AS ?d) WHERE {
          <https://w3id.org/graphsvc/id/baseline/fedramp-rev5-moderate> gc:includesControl ?c .
          ?c gc:inFamily ?f } GROUP BY ?f""")
    assert isinstance(per_family, Rows) and len(per_family) == 18
    assert all(int(n) == int(d) for _, n, d in per_family)


def test_a_requirement_has_one_identifier_title_and_label(meeting: Store, shared_data: Path
                                                          ) -> None:
    many = meeting.query("""
        PREFIX gc: <https://w3id.org/graphsvc/compliance#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?r ?p (COUNT(?o) AS ?n) WHERE {
          ?r a gc:Requirement . VALUES ?p { gc:identifier gc:title rdfs:label gc:inFamily }
          ?r ?p ?o } GROUP BY ?r ?p HAVING (COUNT(?o) > 1)""")
    assert isinstance(many, Rows) and many.rows == []
    # the CISO library's AU-6 and OSCAL's au-6 are one node, AU-6 another label of it
    facts = meeting.query("SELECT ?p ?o WHERE { ?r ?p ?o }",
                          {"r": requirement_iri("nist-sp-800-53-rev5", "au-6")})
    assert isinstance(facts, Rows)
    labels = {str(o) for p, o in facts if str(p).endswith("altLabel")}
    identifiers = [str(o) for p, o in facts if str(p).endswith("#identifier")]
    assert identifiers == ["au-6"] and "AU-6" in labels


def test_ciso_pairs_appear_once_in_crosswalk_and_matrix(meeting: Store, shared_data: Path
                                                        ) -> None:
    sets = yaml.safe_load((shared_data / CISO_MAP).read_text())["objects"][
        "requirement_mapping_sets"]
    pairs = set()
    for row in (r for s in sets for r in s["requirement_mappings"]):
        ends = [row["source_requirement_urn"], row["target_requirement_urn"]]
        nist, iso = sorted(ends, key=lambda u: "nist-sp-800-53" not in u)
        pairs.add((normalise_id(nist.rsplit(":", 1)[1]), iso.rsplit(":", 1)[1]))
    assert len(pairs) == 642
    got = []  # as a list: a pair listed twice would be a wrong answer
    for control in sorted({c for c, _ in pairs}):
        for r in rows(meeting, "crosswalk", requirement=f"{FW}/{control}"):
            if r["derived"] == "false" and "/iso27001-2022/" in r["other"]:
                got.append((control, r["other"].rsplit("/", 1)[1]))
    assert sorted(got) == sorted(pairs)
    matrix = rows(meeting, "crosswalk-matrix")
    assert sum(int(r["mappings"]) for r in matrix) == 642
    drilled = [(r["aId"], r["bId"]) for cell in matrix for r in rows(
        meeting, "crosswalk-pairs", sourceFamily=cell["sourceFamily"],
        targetFamily=cell["targetFamily"])]
    assert sorted(drilled) == sorted(pairs)


def params_in_file(path: Path, control: str) -> list[str]:
    """The parameter ids a catalog gives a control, read with json or ElementTree."""
    if path.suffix == ".xml":
        root = ET.parse(path).getroot()
        found = root.find(f".//o:control[@id='{control}']", NS)
        assert found is not None
        return [p.get("id") for p in found.findall("o:param", NS)]

    def walk(node: dict) -> list[str] | None:
        for c in node.get("controls", []) + node.get("groups", []):
            if c.get("id") == control and "params" in c:
                return [p["id"] for p in c["params"]]
            found = walk(c)
            if found is not None:
                return found
        return None

    found = walk(json.loads(path.read_text())["catalog"])
    assert found is not None
    return found


def test_one_release_at_a_time(meeting: Store, shared_data: Path) -> None:
    """ac-1's parameters: the current release's (5.1.1, as FedRAMP's content states it),
    or 5.0.1's when asked; never both."""
    fedramp = files("trestle_fedramp").joinpath(
        "resources", "fedramp-source", "content", "baselines", "rev5", "xml",
        "FedRAMP_rev5_HIGH-baseline-resolved-profile_catalog.xml")
    with fedramp.open("rb") as handle:
        root = ET.parse(handle).getroot()
    control = root.find(".//o:control[@id='ac-1']", NS)
    assert control is not None
    current = [p.get("id") for p in control.findall("o:param", NS)]
    older = params_in_file(shared_data / CATALOG_501, "ac-1")
    assert set(current).isdisjoint(set(older) - {"ac-1_prm_1"})  # the releases differ

    def ids(**given: str) -> list[str]:
        answer = rows(meeting, "control-parameters", control=f"{FW}/ac-1", **given)
        return list(dict.fromkeys(r["paramId"] for r in answer))

    assert ids() == current
    assert ids(release=f"{FW}/release/5.0.1") == older
    text = rows(meeting, "control-text", control=f"{FW}/ac-2", release=f"{FW}/release/5.0.1")
    assert [r["text"] for r in text].count(
        "{{ insert: param, ac-2_prm_7 }} when users are terminated or transferred; and") == 1
    releases = {r["statedIn"] for r in rows(meeting, "control-text", control=f"{FW}/ac-2")}
    assert releases == {f"{FW}/release/5.1.1"}


def test_ssp_values_belong_to_their_control_set(meeting: Store, shared_data: Path) -> None:
    root = ET.parse(shared_data / SSP).getroot()
    requirement = root.find(".//o:implemented-requirement[@control-id='ac-2']", NS)
    assert requirement is not None
    expected = sorted((s.get("param-id"), v.text.strip())
                      for s in requirement.findall("o:set-parameter", NS)
                      for v in s.findall("o:value", NS))
    control_set = f"https://w3id.org/graphsvc/id/controlset/{root.get('uuid')}"
    answer = rows(meeting, "control-parameters", control=f"{FW}/ac-2")
    got = sorted((r["paramId"], r["value"]) for r in answer if r["setBy"] == control_set)
    assert got == expected and len(expected) > 5
    assert all(r["kind"] == "value" for r in answer if r["setBy"] == control_set)
    # and nothing writes a value onto the catalog's parameters themselves
    unscoped = meeting.query("""
        PREFIX gc: <https://w3id.org/graphsvc/compliance#>
        ASK { ?p a gc:Parameter ; gc:parameterValue ?v }""")
    assert unscoped is False
    constraints = [r for r in answer if r["kind"] == "constraint"]
    assert {r["setBy"].rsplit("/", 1)[1] for r in constraints} >= {"fedramp-rev5-moderate"}


def test_every_imported_framework_is_in_the_inventory(meeting: Store) -> None:
    frameworks = {r["thing"].rsplit("/", 1)[1]: r for r in rows(meeting, "inventory")
                  if r["kind"] == "framework"}
    assert {"nist-sp-800-53-rev5", "nist-csf-2.0", "iso27001-2022"} <= set(frameworks)
    assert frameworks["nist-csf-2.0"]["count"] == "185"  # subcategories, from the catalog
    releases = [r["thing"] for r in rows(meeting, "inventory") if r["kind"] == "release"]
    assert len(releases) == len(set(releases)) and f"{FW}/release/5.0.1" in releases
    iso = rows(meeting, "control-text", control=requirement_iri("iso27001-2022", "a.5.15"))
    assert [r["name"] for r in iso] == ["description"] and iso[0]["text"]


def release_titles(path: Path) -> dict[str, str]:
    out = {}

    def walk(node: dict) -> None:
        for c in node.get("controls", []) + node.get("groups", []):
            if "params" in c or "parts" in c or c.get("class") == "SP800-53":
                out[c["id"]] = c["title"]
            walk(c)

    walk(json.loads(path.read_text())["catalog"])
    return out


def test_release_diff_titles_and_renamed_parameters(meeting: Store, shared_data: Path,
                                                    request: pytest.FixtureRequest) -> None:
    if on_virtuoso(request):
        pytest.skip(VIRTUOSO_LIMITS["release-diff"])
    old = release_titles(shared_data / CATALOG_501)
    new = release_titles(shared_data / HIGH_511)
    diff = rows(meeting, "release-diff")
    titles = sorted((r["control"], r["before"], r["after"]) for r in diff
                    if r["change"] == "title changed")
    # the shipped FedRAMP content states 5.1.1 first: its titles are the release's
    assert titles and all(old[c] == b for c, b, _ in titles)
    assert {c for c, _, _ in titles} >= {c for c in new if c in old and old[c] != new[c]}
    renamed = {(r["control"], r["before"], r["after"]) for r in diff
               if r["change"] == "parameter renamed"}
    expected = set()  # 5.1.1 parameters whose alt-identifier is a 5.0.1 id of the control

    def walk(node: dict) -> None:
        for c in node.get("controls", []) + node.get("groups", []):
            earlier = set(params_in_file(shared_data / CATALOG_501, c["id"])) if (
                c["id"] in old and c.get("params")) else set()
            for p in c.get("params", []):
                for prop in p.get("props", []):
                    if prop["name"] == "alt-identifier" and prop["value"] in earlier:
                        expected.add((c["id"], prop["value"], p["id"]))
            walk(c)

    walk(json.loads((shared_data / HIGH_511).read_text())["catalog"])
    assert len(expected) > 500 and expected <= renamed
    assert len(diff) == len({tuple(r.values()) for r in diff})  # no row twice


def test_an_ssp_whose_profile_is_not_loaded_lands_on_its_controls(
        runner: CliRunner, shared_data: Path) -> None:
    path = shared_data / "fedramp-rev5/examples/AwesomeCloudSSP1.xml"
    assert runner.invoke(main, ["init"]).exit_code == 0
    imported = runner.invoke(main, ["import", "oscal", str(path)])
    assert imported.exit_code == 0
    assert "nist-sp-800-53-rev4's (from the profile's name)" in imported.output
    assert "fedramp-rev4-moderate it names is not loaded" in imported.output
    ids = {e.get("control-id") for e in ET.parse(path).getroot().iter(
        f"{{{NS['o']}}}implemented-requirement")}
    moderate = baseline_ids(
        shared_data / "fedramp-rev5/FedRAMP_rev5_MODERATE-baseline_profile.json")
    expected_missing = sorted(set(moderate) - ids)
    assert len(expected_missing) == 321
    result = runner.invoke(main, ["validate", str(path), "--baseline", "fedramp-rev5-moderate",
                                  "--format", "json", "--as-of", "2026-01-01"])
    report = json.loads(result.output)
    missing = sorted(r["control"] for r in report["results"]
                     if "no statement" in r["message"] or "not accounted" in r["message"])
    assert missing == expected_missing


def test_drop_is_all_or_nothing_and_init_no_demo_removes_the_demo(runner: CliRunner) -> None:
    runner.invoke(main, ["init"])
    before = runner.invoke(main, ["graphs"]).output
    bad = runner.invoke(main, ["drop", "demo-customer", "no-such-graph"])
    assert bad.exit_code == 2 and "no-such-graph" in bad.output
    assert runner.invoke(main, ["graphs"]).output == before
    assert runner.invoke(main, ["drop", "demo-customer"]).exit_code == 0
    assert "demo-customer" not in runner.invoke(main, ["graphs"]).output
    runner.invoke(main, ["init"])
    assert runner.invoke(main, ["init", "--no-demo"]).exit_code == 0
    listing = runner.invoke(main, ["graphs"]).output
    assert "demo" not in listing and "a0a0a0a0" not in listing and "c0c0c0c0" not in listing
    demo = runner.invoke(main, ["query", "PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
                                         "ASK { ?x gc:demo true }"])
    assert "false" in demo.output.lower()


def test_load_refuses_json_that_is_not_json_ld(runner: CliRunner, shared_data: Path) -> None:
    runner.invoke(main, ["init", "--no-demo"])
    before = runner.invoke(main, ["graphs"]).output
    result = runner.invoke(main, ["load", str(shared_data / "oscal-examples/ssp-example.json")])
    assert result.exit_code == 2
    assert "OSCAL system-security-plan" in result.output and "import oscal" in result.output
    assert runner.invoke(main, ["graphs"]).output == before


def test_dangling_references_are_reported(tmp_path: Path, shared_data: Path) -> None:
    document = json.loads((shared_data / "oscal-examples/ssp-example.json").read_text())
    ssp = document["system-security-plan"]
    by = next(b for r in ssp["control-implementation"]["implemented-requirements"]
              for holder in [r, *r.get("statements", [])] for b in holder.get("by-components", []))
    by["component-uuid"] = "00000000-dead-4bad-8000-000000000000"
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(document))
    with EmbeddedStore() as store:
        [report] = import_oscal(store, [path], max_bytes=10**8)
    assert report.counts["dangling references"] == 1
    assert any("00000000-dead-4bad-8000-000000000000" in w for w in report.warnings)


def test_drop_keeps_the_index_in_step(shared_data: Path) -> None:
    with EmbeddedStore() as store:
        import_crosswalks(store, [shared_data / "ciso-library/iso27001-2022.yaml"],
                          max_bytes=10**8)
        frameworks = {r["thing"] for r in rows(store, "inventory") if r["kind"] == "framework"}
        assert frameworks == {"https://w3id.org/graphsvc/id/fw/iso27001-2022"}
        drop_graphs(store, ["ciso/iso-iec-27001-2022"])
        assert [r for r in rows(store, "inventory") if r["kind"] == "framework"] == []
        with pytest.raises(BadInput):
            drop_graphs(store, ["derived/frameworks"])


# Questions rewritten for speed (engine plans: one scan per family instead of a look-up
# per control, counts once per release, the part path walked from the version) and the
# text they replaced, kept in tests/reference: the same answers, row for row.
REWRITTEN = [
    ("inventory", {}),
    ("framework-controls", {}),
    ("framework-controls", {"release": f"{FW}/release/5.0.1"}),
    ("framework-controls", {"framework": "id:fw/nist-csf-2.0"}),
    ("framework-controls", {"framework": "id:fw/iso27001-2022"}),
    ("control-text", {"control": f"{FW}/ac-2"}),
    ("control-text", {"control": f"{FW}/ac-2", "release": f"{FW}/release/5.0.1"}),
    ("control-text", {"control": requirement_iri("iso27001-2022", "a.5.15")}),
]


@pytest.mark.parametrize("name,given", REWRITTEN)
def test_rewritten_questions_answer_as_before(meeting: Store, name: str, given: dict[str, str],
                                              request: pytest.FixtureRequest) -> None:
    if on_virtuoso(request):
        pytest.skip("the old texts were rewritten because Virtuoso 7.2 answers them wrong; the "
                    "new ones give the embedded store's answers there (tests/test_engines.py)")
    reference = parse_question(name, (ROOT / "tests" / "reference" / f"{name}.rq").read_text())
    expected = meeting.query(reference.sparql, bind(reference, given, meeting))
    assert isinstance(expected, Rows) and len(expected) > 0
    # the old texts concatenated baselines in the engine's order, the new ones sort them
    assert rows(meeting, name, **given) == [
        {k: (None if v is None else " ".join(sorted(str(v).split())) if k == "baselines"
             else str(v)) for k, v in r.items()} for r in expected.dicts()]
