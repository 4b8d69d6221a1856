"""Crosswalks: CISO Assistant YAML, CSV tables and OSCAL 1.2 mapping collections, with
mapping counts per file and per relation checked against the files themselves."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rdflib.namespace import SKOS

from graphsvc.cli import main
from graphsvc.errors import BadInput
from graphsvc.identity import requirement_iri
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.mappings import RELATIONS
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.namespaces import GC
from graphsvc.store import Rows, Store
from tests.helpers import MAPPINGS_BY_RELATION

PER_RELATION = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?relation (COUNT(DISTINCT ?m) AS ?n) WHERE {
  GRAPH ?g { ?m a gc:Mapping ; gc:relation ?relation }
} GROUP BY ?relation
"""


def relations_in_store(store: Store) -> Counter:
    rows = store.query(PER_RELATION)
    assert isinstance(rows, Rows)
    return Counter({str(r).rsplit("#", 1)[-1]: int(n) for r, n in rows})


def typed(value: object) -> str:
    return str(RELATIONS["" if value is None else str(value).lower()]).rsplit("#", 1)[-1]


def ciso_rows(path: Path) -> list[dict]:
    objects = yaml.safe_load(path.read_text())["objects"]
    sets = objects.get("requirement_mapping_sets") or [objects["requirement_mapping_set"]]
    return [row for s in sets for row in s["requirement_mappings"]]


CISO_MAPPINGS = {
    "mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml": 1284,
    "mapping-nist-csf-2.0-to-iso27001-2022.yaml": 686,
    "mapping-nist-sp-800-66-rev2-to-nist-sp-800-53-rev5.yaml": 1242,
    "mapping-nist-sp-800-66-rev2-to-nist-csf-2.0.yaml": 5108,
    "mapping-soc2-2017-rev-2022-to-iso27001-2022.yaml": 2810,
    # the data README says 268: it counted the strength_of_relationship lines too
    "mapping-iso27001-2013-to-iso27001-2022.yaml": 134,
}


INVERSE = {"SubsetOf": "SupersetOf", "SupersetOf": "SubsetOf"}


def distinct_mappings(rows: list[dict]) -> dict[tuple, str]:
    """(source, target) -> relation, each pair once whichever side states it: a row and
    its reverse (the library's "revert" set, or a repeated row) are one mapping."""
    seen: dict[tuple, str] = {}
    for r in rows:
        s, t, rel = r["source_requirement_urn"], r["target_requirement_urn"], typed(
            r.get("relationship"))
        if (t, s) in seen and seen[(t, s)] == INVERSE.get(rel, rel):
            continue
        seen.setdefault((s, t), rel)
    return seen


@pytest.mark.parametrize("name", sorted(CISO_MAPPINGS))
def test_ciso_mapping_counts_per_relation(store: Store, shared_data: Path, name: str) -> None:
    path = shared_data / "ciso-library" / name
    rows = ciso_rows(path)
    assert len(rows) == CISO_MAPPINGS[name]  # the figures of the data README
    [report] = import_crosswalks(store, [path], max_bytes=10**8)
    expected = distinct_mappings(rows)
    assert relations_in_store(store) == Counter(expected.values())
    assert report.counts["mappings"] + report.counts["mappings stated again (kept once)"] \
        == len(rows)
    pairs = store.query(MAPPED_PAIRS)
    assert isinstance(pairs, Rows)
    got = [frozenset((str(s), str(t))) for s, t in pairs]
    assert sorted(map(sorted, got)) == sorted(
        sorted(str(_requirement(u)) for u in pair) for pair in expected)  # as lists: no repeats


MAPPED_PAIRS = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?s ?t WHERE { ?m a gc:Mapping ; gc:sourceRequirement ?s ; gc:targetRequirement ?t }
"""


def _requirement(urn: str) -> str:
    framework, node = urn.split(":")[-2:]
    return requirement_iri(framework, node)


def test_ciso_and_oscal_800_53_meet_in_one_node(store: Store, shared_data: Path) -> None:
    import_oscal(store, [shared_data / "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json"],
                 max_bytes=10**8)
    import_crosswalks(store, [shared_data / "ciso-library/nist-sp-800-53-rev5.yaml"],
                      max_bytes=10**8)
    node = requirement_iri("nist-sp-800-53-rev5", "ac-2.1")
    described = store.query(DESCRIBED_BY, {"r": node})
    assert isinstance(described, Rows)
    # one node; each source states it in its own release (5.0.1, CISO's library v1)
    assert sorted(str(r) for (r,) in described) == [
        "https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/release/5.0.1",
        "https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/release/ciso-1"]
    facts = store.query("SELECT ?p ?o WHERE { ?r ?p ?o }", {"r": node})
    assert isinstance(facts, Rows)
    by_predicate = Counter(str(p) for p, _ in facts)
    assert by_predicate[str(GC.title)] == by_predicate[str(GC.identifier)] == 1
    notations = {str(o) for p, o in facts if p == SKOS.altLabel}
    assert {"AC-2(1)"} <= notations  # CISO's notation: another label, found by search


DESCRIBED_BY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?release WHERE { ?v gc:versionOf ?r ; gc:inRelease ?release } ORDER BY ?release
"""


def test_ciso_framework_requirements(store: Store, shared_data: Path) -> None:
    path = shared_data / "ciso-library/nist-csf-2.0.yaml"
    nodes = yaml.safe_load(path.read_text())["objects"]["framework"]["requirement_nodes"]
    [report] = import_crosswalks(store, [path], max_bytes=10**8)
    assert report.counts["requirements"] == len(nodes)
    rows = store.query("PREFIX gc: <https://w3id.org/graphsvc/compliance#> SELECT "
                       "(COUNT(*) AS ?n) WHERE { ?r a gc:Requirement ; gc:parentRequirement ?p }")
    assert isinstance(rows, Rows)
    assert int(rows.rows[0][0]) == sum(1 for n in nodes if n.get("parent_urn"))


@pytest.mark.parametrize("name", ["csf2_to_800-53_crosswalk.csv",
                                  "nist_rev5_to_nist_rev4_crosswalk.csv"])
def test_trestle_csv_counts_per_relation(store: Store, shared_data: Path, name: str) -> None:
    path = shared_data / "oscal-mappings" / name
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["$$Source_Resource"].startswith("A ref")]
    mapped = [r for r in rows if r["$$Map_Target_ID_Ref_list"].split()]
    import_crosswalks(store, [path], max_bytes=10**8)
    assert relations_in_store(store) == Counter(typed(r["$$Map_Relationship"]) for r in mapped)


@pytest.mark.parametrize("name", [
    "NIST_CSF_v2.0-to-NIST_SP-800-53_rev5.mapping-collection.json",
    "NIST_SP-800-53_rev5-to-NIST_SP-800-53_rev4.mapping-collection.json",
])
def test_oscal_mapping_collection_counts(store: Store, shared_data: Path, name: str) -> None:
    path = shared_data / "oscal-mappings" / name
    collection = json.loads(path.read_text())["mapping-collection"]
    maps = [m for mapping in collection["mappings"] for m in mapping["maps"]]
    import_oscal(store, [path], max_bytes=10**8)
    assert relations_in_store(store) == Counter(typed(m["relationship"]) for m in maps)
    targets = store.query("PREFIX gc: <https://w3id.org/graphsvc/compliance#> SELECT "
                          "(COUNT(*) AS ?n) WHERE { ?m gc:targetRequirement ?t }")
    assert isinstance(targets, Rows)
    assert int(targets.rows[0][0]) == sum(len({t["id-ref"] for t in m["targets"]}) for m in maps)


def test_ir8477_csv_with_unspecified_relation(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "source_framework,source_id,target_framework,target_id,relationship,rationale,"
        "strength,source\n"
        "nist-csf-2.0,PR.AA-01,nist-sp-800-53-rev5,ia-2,subset-of,semantic,7,NIST OLIR\n"
        "nist-csf-2.0,PR.AA-01,nist-sp-800-53-rev5,ac-2,,,,NIST OLIR\n")
    import_crosswalks(store, [path], max_bytes=10**6)
    assert relations_in_store(store) == Counter({"SubsetOf": 1, "Unspecified": 1})


@pytest.mark.parametrize("content,expected", [
    ("source_framework,source_id,target_framework,target_id,relationship\n"
     "a,1,b,2,sort-of\n", "line 2"),
    ("source_framework,source_id,target_framework,target_id,relationship,strength\n"
     "a,1,b,2,equal,11\n", "strength must be 1-10"),
    ("who,what\nx,y\n", "unknown CSV columns"),
])
def test_bad_csv_exit_2_and_nothing_imported(runner: CliRunner, tmp_path: Path,
                                             content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(main, ["import", "crosswalk", str(path)])
    assert result.exit_code == 2 and expected in result.output and "bad.csv" in result.output
    assert "0 graphs" in runner.invoke(main, ["graphs"]).output


def test_ciso_yaml_alias_bomb_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nobjects: {framework: *b}\n")
    with pytest.raises(BadInput, match="aliases"):
        import_crosswalks(store, [path], max_bytes=10**6)


@pytest.mark.parametrize("written,normal", [("AC-2(1)", "ac-2.1"), ("ac-2.1", "ac-2.1"),
                                            ("PR.AA-01", "pr.aa-01"), ("A.5.15", "a.5.15"),
                                            ("si-4 (12)", "si-4.12")])
def test_requirement_ids_are_normalised(written: str, normal: str) -> None:
    assert requirement_iri("f", written) == requirement_iri("f", normal)


def test_iso_workbook_rows_become_mappings(store: Store, shared_data: Path) -> None:
    import re

    import openpyxl

    path = shared_data / "oscal-mappings/sp800-53r5-to-iso-27001-mapping.xlsx"
    sheet = openpyxl.load_workbook(path, read_only=True)["Sheet1"]
    expected = {}
    for row in sheet.iter_rows(min_row=3, values_only=True):
        control, _, iso = ((*row, None, None, None))[:3]
        if control and re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", str(control).strip()) and iso:
            ids = {c.strip().rstrip("*") for c in str(iso).replace("\n", ",").split(",")}
            ids = {i for i in ids if re.fullmatch(r"(A\.)?\d+(\.\d+)*", i)}
            if ids:
                expected[str(control).strip()] = ids
    import_crosswalks(store, [path], max_bytes=10**8)
    rows = store.query(MAPPINGS_BY_RELATION)
    assert isinstance(rows, Rows)
    got: dict[str, set[str]] = {}
    for _, relation, sources, targets in rows:
        assert str(relation).endswith("Unspecified")  # the workbook states no relation
        assert len(str(targets).split()) == 1  # a row lists references: one mapping each
        control = sources.rsplit("/", 1)[1]
        got.setdefault(control, set()).add(targets.rsplit("/", 1)[1])
    assert got == {requirement_iri("x", c).rsplit("/", 1)[1]: {i.lower() for i in ids}
                   for c, ids in expected.items()}


@pytest.mark.parametrize("name,source,target", [
    ("csf2.xlsx", "nist-csf-2.0", "nist-sp-800-53-rev5"),
    ("csf-pf-to-sp800-53r5-mappings.xlsx", "nist-privacy-framework-1.0", "nist-sp-800-53-rev5"),
    ("sp800-53r4-to-r5-comparison-workbook.xlsx", "nist-sp-800-53-rev5", "nist-sp-800-53-rev4"),
    ("Cybersecurity_Framework_v2-0_Concept_Crosswalk_800-53_5_2_0_draft.xlsx", "nist-csf-2.0",
     "nist-sp-800-53-rev5"),
])
def test_nist_workbooks_load(store: Store, shared_data: Path, name: str, source: str,
                             target: str) -> None:
    import_crosswalks(store, [shared_data / "oscal-mappings" / name], max_bytes=10**8)
    rows = store.query(
        "PREFIX gc: <https://w3id.org/graphsvc/compliance#> SELECT (COUNT(DISTINCT ?m) AS ?n) "
        "WHERE { ?m gc:sourceRequirement ?s ; gc:targetRequirement ?t "
        "FILTER(STRSTARTS(STR(?s), STR(?sf)) && STRSTARTS(STR(?t), STR(?tf))) }",
        bindings={"sf": requirement_iri(source, ""), "tf": requirement_iri(target, "")})
    assert isinstance(rows, Rows) and int(rows.rows[0][0]) > 50
