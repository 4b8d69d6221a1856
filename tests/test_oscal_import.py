"""OSCAL catalogs and profiles from ../shared/data, checked against counts taken
straight from the files (json / ElementTree / yaml, not our reader)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphsvc.cli import main
from graphsvc.errors import BadInput
from graphsvc.identity import baseline_iri, framework_iri
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store import Rows, Store
from tests.helpers import catalog_control_ids

NS = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}
PER_FAMILY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?family (COUNT(DISTINCT ?c) AS ?controls) (COUNT(DISTINCT ?e) AS ?enhancements)
       (COUNT(DISTINCT ?w) AS ?withdrawn)
WHERE {
  ?r gc:inFramework ?fw ; gc:inFamily ?f . ?f gc:identifier ?family .
  OPTIONAL { ?r a gc:Control . FILTER NOT EXISTS { ?r a gc:ControlEnhancement } BIND(?r AS ?c) }
  OPTIONAL { ?r a gc:ControlEnhancement . BIND(?r AS ?e) }
  OPTIONAL { ?r gc:withdrawn true . BIND(?r AS ?w) }
} GROUP BY ?family
"""
MEMBERS = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?id WHERE { ?b gc:includesControl ?c . ?c gc:identifier ?id }
"""


def families_from_json(path: Path) -> dict[str, Counter]:
    """family id (the nearest group) -> Counter(controls, enhancements, withdrawn)."""
    out: dict[str, Counter] = {}

    def control(c: dict, family: str, depth: int) -> None:
        counts = out.setdefault(family, Counter())
        counts["enhancements" if depth else "controls"] += 1
        if any(p["name"] == "status" and p["value"] == "withdrawn" for p in c.get("props", [])):
            counts["withdrawn"] += 1
        for child in c.get("controls", []):
            control(child, family, depth + 1)

    def group(g: dict) -> None:
        for c in g.get("controls", []):
            control(c, g["id"], 0)
        for sub in g.get("groups", []):
            group(sub)

    for g in json.loads(path.read_text())["catalog"]["groups"]:
        group(g)
    return out


def families_from_xml(path: Path) -> dict[str, Counter]:
    out: dict[str, Counter] = {}

    def control(c: ET.Element, family: str, depth: int) -> None:
        counts = out.setdefault(family, Counter())
        counts["enhancements" if depth else "controls"] += 1
        if c.find("o:prop[@name='status'][@value='withdrawn']", NS) is not None:
            counts["withdrawn"] += 1
        for child in c.findall("o:control", NS):
            control(child, family, depth + 1)

    def group(g: ET.Element) -> None:
        for c in g.findall("o:control", NS):
            control(c, g.get("id"), 0)
        for sub in g.findall("o:group", NS):
            group(sub)

    for g in ET.parse(path).getroot().findall("o:group", NS):
        group(g)
    return out


def families_in_store(store: Store, framework: str) -> dict[str, Counter]:
    rows = store.query(PER_FAMILY, bindings={"fw": framework_iri(framework)})
    assert isinstance(rows, Rows)
    return {
        str(f): Counter({k: int(v) for k, v in
                         zip(("controls", "enhancements", "withdrawn"), rest, strict=True)
                         if int(v)})
        for f, *rest in rows
    }


CATALOGS = [
    ("nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json", "nist-sp-800-53-rev5"),
    ("nist-800-53-rev4/NIST_SP-800-53_rev4_catalog.json", "nist-sp-800-53-rev4"),
    ("nist-csf-2.0/NIST_CSF_v2.0_catalog.xml", "nist-csf-2.0"),
    ("nist-csf-2.0/NIST_CSF_v2.0_catalog-oscal-1.2.1.json", "nist-csf-2.0"),
    ("nist-800-171-rev3/NIST_SP800-171_rev3_catalog.xml", "nist-sp-800-171-rev3"),
    ("aws/oscal-content-for-aws-services/catalogs/aws_security-hub.oscal.json",
     "aws-securityhub"),
]


@pytest.mark.parametrize("name,framework", CATALOGS)
def test_catalog_counts_per_family_match_the_file(
    store: Store, shared_data: Path, name: str, framework: str
) -> None:
    path = shared_data / name
    import_oscal(store, [path], max_bytes=10**8)
    expected = (families_from_xml if path.suffix == ".xml" else families_from_json)(path)
    assert families_in_store(store, framework) == expected


def test_the_800_53_figures_of_the_data_readme(store: Store, shared_data: Path) -> None:
    import_oscal(store, [shared_data / CATALOGS[0][0]], max_bytes=10**8)
    totals = sum(families_in_store(store, "nist-sp-800-53-rev5").values(), Counter())
    assert len(families_in_store(store, "nist-sp-800-53-rev5")) == 20
    assert totals["controls"] + totals["enhancements"] == 1189


def test_json_yaml_and_xml_give_the_same_graph(store: Store, shared_data: Path) -> None:
    graphs = []
    for suffix in ("json", "yaml", "xml"):
        import_oscal(store, [shared_data / f"oscal-examples/basic-catalog.{suffix}"],
                     max_bytes=10**8)
        content = store.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
            "FILTER(?s != ?g) }")  # leave out the provenance record
        graphs.append(set(content))
    assert graphs[0] == graphs[1] == graphs[2] and len(graphs[0]) > 100


def profile_ids(path: Path) -> set[str]:
    profile = json.loads(path.read_text())["profile"]
    return {i for imp in profile["imports"] for inc in imp.get("include-controls", [])
            for i in inc.get("with-ids", [])}


def members(store: Store, baseline: str) -> set[str]:
    rows = store.query(MEMBERS, bindings={"b": baseline_iri(baseline)})
    assert isinstance(rows, Rows)
    return {str(r[0]) for r in rows}


@pytest.mark.parametrize("level,count", [("LOW", 149), ("MODERATE", 287), ("HIGH", 370),
                                         ("PRIVACY", 102)])
def test_nist_profiles_resolve_to_nist_resolved_catalogs(
    store: Store, shared_data: Path, level: str, count: int
) -> None:
    folder = shared_data / "nist-800-53-rev5"
    import_oscal(store, [folder / "NIST_SP-800-53_rev5_catalog-5.0.1.json",
                         folder / f"NIST_SP-800-53_rev5_{level}-baseline_profile.json"],
                 max_bytes=10**8)
    resolved = next(folder.glob(f"NIST_SP-800-53_rev5_{level}-baseline-resolved-profile*"))
    got = members(store, f"nist-sp-800-53-rev5-{level.lower()}")
    assert got == catalog_control_ids(resolved)
    assert len(got) == count


@pytest.mark.parametrize("level,count", [("LOW", 156), ("MODERATE", 323), ("HIGH", 410),
                                         ("LI-SaaS", 156)])
def test_fedramp_profiles_resolve_against_the_nist_catalog(
    store: Store, shared_data: Path, level: str, count: int
) -> None:
    profile = shared_data / f"fedramp-rev5/FedRAMP_rev5_{level}-baseline_profile.json"
    import_oscal(store, [shared_data / CATALOGS[0][0], profile], max_bytes=10**8)
    got = members(store, f"fedramp-rev5-{level.lower()}")
    assert got == profile_ids(profile) and len(got) == count


def test_resolved_catalog_in_xml_and_json_is_one_baseline(store: Store, shared_data: Path
                                                           ) -> None:
    folder = shared_data / "nist-800-53-rev5"
    xml = folder / "xml/NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog.xml"
    import_oscal(store, [xml],
                 max_bytes=10**8)
    from_xml = members(store, "nist-sp-800-53-rev5-high")
    assert from_xml == catalog_control_ids(
        folder / "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json")


def counts(store: Store) -> dict[str, int]:
    return {g.iri: g.triples for g in store.graphs()}


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_bad_profiles_are_refused_and_nothing_is_imported(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / "nist-800-53-rev5/NIST_SP-800-53_rev5_LOW-baseline_profile.json"
    profile = json.loads(source.read_text())
    profile["profile"]["imports"][0]["include-controls"][0]["with-ids"][3] = "zz-99"
    unknown = _write(tmp_path, "unknown.json", json.dumps(profile))
    catalog = shared_data / CATALOGS[0][0]
    with pytest.raises(BadInput, match="'zz-99' is not in the catalog") as raised:
        import_oscal(store, [catalog, unknown], max_bytes=10**8)
    assert "/profile/imports/0/include-controls/0/with-ids/3" in str(raised.value)
    assert counts(store) == {}
    with pytest.raises(BadInput, match="no loaded catalog matches"):
        import_oscal(store, [source], max_bytes=10**8)


BAD = {
    "not-json.json": ('{"catalog": {"metadata": ', "line 1"),
    "wrong-model.json": ('{"dog": {}}', "not an OSCAL document"),
    "no-metadata.json": ('{"catalog": {"uuid": "x"}}', "/catalog"),
    "entity.xml": ('<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "b">]><catalog/>', "DOCTYPE"),
    "alias.yaml": ("catalog:\n  metadata: &m {title: x}\n  back: *m\n", "aliases"),
    "deep.json": ('{"catalog": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_documents_exit_2_and_change_nothing(runner: CliRunner, tmp_path: Path,
                                                 name: str) -> None:
    content, expected = BAD[name]
    path = _write(tmp_path, name, content)
    result = runner.invoke(main, ["import", "oscal", str(path)])
    assert result.exit_code == 2, result.output
    assert name in result.output and expected in result.output
    assert "0 graphs" in runner.invoke(main, ["graphs"]).output


def test_init_loads_the_fedramp_baselines_from_the_installed_package(
    runner: CliRunner, shared_data: Path
) -> None:
    assert runner.invoke(main, ["init"]).exit_code == 0
    for level, count in [("LOW", 156), ("MODERATE", 323), ("HIGH", 410), ("LI-SaaS", 156)]:
        result = runner.invoke(main, [
            "query", "--format", "csv",
            "PREFIX gc: <https://w3id.org/graphsvc/compliance#> SELECT DISTINCT ?id WHERE { "
            f"<{baseline_iri('fedramp-rev5-' + level.lower())}> gc:includesControl ?c . "
            "?c gc:identifier ?id }"])
        got = set(result.output.split()[1:])
        profile = shared_data / f"fedramp-rev5/FedRAMP_rev5_{level}-baseline_profile.json"
        assert got == profile_ids(profile) and len(got) == count
