"""Control states (graphsvc/control_states.py): the coverage and gaps questions read
derived per-control states instead of joining the control set's statements, the
attestations and the mappings on every call. Checked two ways on real content (the
demo, the FedRAMP example SSP, NIST's leveraged / leveraging example SSPs, a crosswalk):
the questions give the answers of the joined form they replaced (kept in
tests/reference/) for every control set and baseline on every day where a validity
starts or ends, and after each kind of write the states in the store equal a fresh
computation from the store's other graphs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from rdflib import XSD, Literal, URIRef

from graphsvc import control_states
from graphsvc.content import init_store
from graphsvc.errors import BadInput
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.importers.rdf import load_files
from graphsvc.questions import bind, get_question, parse_question
from graphsvc.store import Rows, Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.writes import commit, drop_graphs
from tests.conftest import ROOT, SHARED_DATA, need_shared_data

REFERENCE = ROOT / "tests" / "reference"
SSPS = ["fedramp-rev5/examples/fedramp-ssp-example.oscal.xml",
        "oscal-examples/oscal_leveraged-example_ssp.json",
        "oscal-examples/oscal_leveraging-example_ssp.json",
        "oscal-examples/ssp-example.json"]
CROSSWALK = "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
GC = "PREFIX gc: <https://w3id.org/graphsvc/compliance#>\n"
ISO_SET = """@prefix gc: <https://w3id.org/graphsvc/compliance#> .
@prefix iso: <https://w3id.org/graphsvc/id/fw/iso27001-2022/> .
@prefix c: <https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/> .
<http://example.org/cs> a gc:ControlSet .
<http://example.org/i1> gc:inControlSet <http://example.org/cs> ;
  gc:implementsControl iso:a.5.15 ; gc:status gc:Implemented ;
  gc:responsibility gc:CustomerResponsibility .
<http://example.org/i2> gc:inControlSet <http://example.org/cs> ;
  gc:implementsControl c:ac-2 ; gc:status gc:PartiallyImplemented .
<http://example.org/i3> gc:inControlSet <http://example.org/cs> ;
  gc:implementsControl c:ac-3 ; gc:status gc:NotApplicable .
<http://example.org/i4> gc:inControlSet <http://example.org/cs> ;
  gc:implementsControl c:pe-3 ; gc:status gc:Implemented ;
  gc:responsibility gc:ProviderResponsibility ;
  gc:inheritedUnder <https://w3id.org/graphsvc/id/demo/artifact-aws-soc-2> .
"""


def everything(store: Store, tmp_path: Path) -> None:
    init_store(store, max_bytes=10**9)
    import_oscal(store, [SHARED_DATA / name for name in SSPS], max_bytes=10**9)
    import_crosswalks(store, [SHARED_DATA / CROSSWALK], max_bytes=10**9)
    path = tmp_path / "iso-set.ttl"
    path.write_text(ISO_SET)
    load_files(store, [(path, "http://example.org/iso-set")], max_bytes=10**6)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    need_shared_data()
    with EmbeddedStore() as store:
        everything(store, tmp_path_factory.mktemp("states"))
        yield store


def values(store: Store, query: str) -> list:
    rows = store.query(GC + query)
    assert isinstance(rows, Rows)
    return [row[0] for row in rows]


def days(store: Store) -> list[str]:
    """Every day a validity starts or ends, the days either side, and far off."""
    bounds = {date.fromisoformat(str(d)[:10]) for d in values(
        store, "SELECT DISTINCT ?d WHERE { { ?a gc:validFrom ?d } UNION { ?a gc:validUntil ?d } }")}
    around = {b + timedelta(days=k) for b in bounds for k in (-1, 0, 1)}
    return sorted(d.isoformat() for d in around | {date(2000, 1, 1), date(2100, 1, 1)})


def answer(store: Store, sparql: str, name: str, given: dict[str, str]) -> list[tuple]:
    question = parse_question(name, sparql)
    rows = store.query(question.sparql, bind(question, given, store, date(2026, 11, 29)))
    assert isinstance(rows, Rows)
    return [tuple(None if v is None else str(v) for v in row) for row in rows]


@pytest.mark.parametrize("name", ["coverage", "gaps"])
def test_the_states_answer_as_the_joined_question_did(real: Store, name: str) -> None:
    derived = get_question(name).sparql
    joined = (REFERENCE / f"{name}.rq").read_text()
    sets = values(real, "SELECT DISTINCT ?s WHERE { ?s a gc:ControlSet }")
    baselines = [f"https://w3id.org/graphsvc/id/baseline/fedramp-rev5-{level}"
                 for level in ("moderate", "high")]
    assert len(sets) >= 7
    compared, changing = 0, 0
    for control_set in sets:
        for baseline in baselines:
            before = None
            for day in days(real):
                given = {"controlSet": str(control_set), "baseline": str(baseline),
                         "as_of": day}
                expected = answer(real, joined, name, given)
                assert answer(real, derived, name, given) == expected, (control_set, day)
                compared += 1
                changing += before is not None and [r[3:] for r in expected] != before
                before = [r[3:] for r in expected]
    assert compared >= 300 and changing > 5  # the days asked do change the answers


def stored_states(store: Store) -> dict[str, set[tuple]]:
    rows = store.query("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert isinstance(rows, Rows)
    out: dict[str, set[tuple]] = {}
    for g, s, p, o in rows:
        if control_states.is_states_graph(str(g)):
            out.setdefault(str(g), set()).add((s, p, o))
    return out


def fresh_states(store: Store) -> dict[str, set[tuple]]:
    return {control_states.states_graph(s): set(triples)
            for s, triples in control_states.derive(store).items()}


def assert_fresh(store: Store) -> None:
    stored = stored_states(store)
    assert stored == fresh_states(store)
    assert stored  # (the demo always has control sets)


def test_states_follow_every_kind_of_write(tmp_path: Path, shared_data: Path) -> None:
    with EmbeddedStore() as store:
        init_store(store, max_bytes=10**9)
        assert_fresh(store)
        count = len(stored_states(store))
        import_oscal(store, [shared_data / SSPS[0]], max_bytes=10**9)  # a new control set
        assert_fresh(store)
        assert len(stored_states(store)) == count + 1
        import_oscal(store, [shared_data / SSPS[0]], max_bytes=10**9)  # replaced
        assert_fresh(store)
        path = tmp_path / "iso-set.ttl"
        path.write_text(ISO_SET)
        load_files(store, [(path, "http://example.org/iso-set")], max_bytes=10**6)
        assert_fresh(store)
        import_crosswalks(store, [shared_data / CROSSWALK], max_bytes=10**9)  # mappings
        assert_fresh(store)
        mapped = values(store, """SELECT ?c WHERE {
            ?s gc:stateOf <http://example.org/cs> ; gc:stateControl ?c ; gc:coverageLevel 1 }""")
        assert len(mapped) > 5  # a.5.15 implemented: its 800-53 intersections count
        # an attestation's validity moves (a graph added to, not replaced)
        commit(store, {"http://example.org/extension": [(
            URIRef("https://w3id.org/graphsvc/id/demo/artifact-aws-soc-2"),
            URIRef("https://w3id.org/graphsvc/compliance#validFrom"),
            Literal("2020-01-01", datatype=XSD.date))]}, replace=False)
        assert_fresh(store)
        drop_graphs(store, ["http://example.org/extension"])
        assert_fresh(store)
        drop_graphs(store, ["ciso/mapping-nist-sp-800-53-rev5-and-iso27001-2022"])
        assert_fresh(store)
        drop_graphs(store, ["http://example.org/iso-set", "demo-customer"])
        assert_fresh(store)
        assert control_states.states_graph(URIRef("http://example.org/cs")) not in stored_states(
            store)
        init_store(store, demo=False, max_bytes=10**9)
        assert_fresh(store)


def test_derived_graphs_cannot_be_dropped(real: Store) -> None:
    graph = next(iter(stored_states(real)))
    with pytest.raises(BadInput, match="derived graphs"):
        drop_graphs(real, [graph])


def test_inventory_counts_statements_from_the_states(real: Store) -> None:
    counts = {str(s): int(n) for s, n in real.query(GC + """
        SELECT ?s (COUNT(?i) AS ?n) WHERE { ?s a gc:ControlSet . ?i gc:inControlSet ?s }
        GROUP BY ?s""")}
    rows = answer(real, get_question("inventory").sparql, "inventory", {})
    listed = {r[1]: int(r[3]) for r in rows if r[0] == "control set"}
    assert listed == counts and len(listed) >= 7

