"""Search across frameworks and the short forms every IRI parameter takes, on real
content: what init ships (FedRAMP rev5 catalogs), ISO/IEC 27001:2022 (CISO Assistant),
CSF 2.0 and the CISO 800-53 -> ISO crosswalk. Expected answers are read from the
source files (ElementTree, yaml, json); the index is checked to follow every write,
across processes, on both backends."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from rdflib import RDF, Literal, URIRef

from graphsvc import search
from graphsvc.content import init_store
from graphsvc.errors import BadInput
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.namespaces import GC
from graphsvc.questions import NotInStore, ask, resolve
from graphsvc.store import Rows
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.writes import commit, drop_graphs
from tests.conftest import ROOT, SHARED_DATA, need_shared_data, remote_store
from tests.helpers import load_analyst_content

FW = "https://w3id.org/graphsvc/id/fw/"
REQUIREMENT = "https://w3id.org/graphsvc/compliance#Requirement"
ISO = "ciso-library/iso27001-2022.yaml"
MAPPING = "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
CSF = "nist-csf-2.0/NIST_CSF_v2.0_catalog-oscal-1.2.1.json"
OSCAL_NS = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}


@pytest.fixture(scope="module")
def analyst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """An on-disk store with the analyst's content (the index lives beside it)."""
    need_shared_data()
    with EmbeddedStore(tmp_path_factory.mktemp("analyst") / "store") as store:
        load_analyst_content(store, SHARED_DATA)
        yield store


def first(results: search.Results) -> str:
    return results.frameworks[0].hits[0].iri


def fedramp_titles() -> dict[str, str]:
    """id -> title of every control of the FedRAMP HIGH catalog init ships, read with
    ElementTree from the installed package."""
    folder = files("trestle_fedramp").joinpath("resources", "fedramp-source", "content",
                                               "baselines", "rev5", "xml")
    root = ET.fromstring(folder.joinpath(
        "FedRAMP_rev5_HIGH-baseline-resolved-profile_catalog.xml").read_bytes())
    return {c.get("id"): c.findtext("o:title", namespaces=OSCAL_NS)
            for c in root.iter(f"{{{OSCAL_NS['o']}}}control")}


def test_identifiers_in_every_notation(analyst: EmbeddedStore) -> None:
    iso = {n["ref_id"]: n["urn"].rsplit(":", 1)[1] for n in yaml.safe_load(
        (SHARED_DATA / ISO).read_text())["objects"]["framework"]["requirement_nodes"]
        if n.get("ref_id")}
    csf = json.loads((SHARED_DATA / CSF).read_text())["catalog"]
    subcategory = csf["groups"][0]["groups"][0]["controls"][0]["id"]  # gv.oc-01
    cases = {
        "AC-2": "nist-sp-800-53-rev5/ac-2", "ac-2": "nist-sp-800-53-rev5/ac-2",
        "AC-2(1)": "nist-sp-800-53-rev5/ac-2.1", "ac-2.1": "nist-sp-800-53-rev5/ac-2.1",
        "AC-02(01)": "nist-sp-800-53-rev5/ac-2.1", "A.5.15": f"iso27001-2022/{iso['A.5.15']}",
        subcategory.upper(): f"nist-csf-2.0/{subcategory}",
    }
    for given, expected in cases.items():
        results = search.search(analyst, given)
        assert first(results) == FW + expected, given
        assert results.frameworks[0].hits[0].matched == "identifier"
        assert str(resolve(given, REQUIREMENT, analyst, "p")) == FW + expected
    enhancements = search.search(analyst, "AC-2").frameworks[0].hits
    titles = fedramp_titles()
    enhancement_ids = sorted((i for i in titles if i.startswith("ac-2.")),
                             key=lambda i: int(i.split(".")[1]))
    expected_ids = ["ac-2", *enhancement_ids]
    assert [h.iri.rsplit("/", 1)[1] for h in enhancements] == expected_ids
    assert [h.title for h in enhancements] == [titles[i] for i in expected_ids]


def test_find_all_controls_about_encryption(analyst: EmbeddedStore) -> None:
    results = search.search(analyst, "encryption", limit=500)
    nist = next(f for f in results.frameworks if f.framework == FW + "nist-sp-800-53-rev5")
    top = [h.iri.rsplit("/", 1)[1] for h in nist.hits[:10]]
    assert {"sc-13", "sc-28"} <= set(top), top
    assert len(nist.hits) == len({h.iri for h in nist.hits})  # no control twice
    found = {h.iri.rsplit("/", 1)[1] for h in nist.hits} | {
        e.iri.rsplit("/", 1)[1] for h in nist.hits for e in h.enhancements}
    about = {i for i, t in fedramp_titles().items()
             if any(w in t.lower() for w in ("encrypt", "cryptograph"))}
    assert about <= found, about - found  # every control titled so is found
    iso = next(f for f in results.frameworks if f.framework == FW + "iso27001-2022")
    assert iso.hits[0].notation == "A.8.24" and iso.hits[0].matched == "title"


def test_ranking_and_words(analyst: EmbeddedStore) -> None:
    account = search.search(analyst, "account management").frameworks[0].hits
    assert account[0].notation == "AC-2" and account[0].matched == "title"
    tiers = [search.TIERS.index(h.matched) if h.matched in search.TIERS else 9
             for h in account]
    own = [t for t, h in zip(tiers, account, strict=True) if h.matched != "enhancements"]
    assert own == sorted(own) or own[0] == 1  # titles before statements
    for hostile in ['"', 'AND OR NOT', "NEAR(a b)", "col:value", "*", "{title}: x", "'); --"]:
        search.search(analyst, hostile)  # never an FTS5 syntax error
    nothing = search.search(analyst, "zzqx nothingness")
    assert nothing.total == 0
    some = search.search(analyst, "cryptographic zzqx")
    assert some.total > 0 and not some.all_words
    typing = search.search(analyst, "encry", prefix=True)
    assert typing.total > 0


def test_the_index_follows_every_write_across_processes(analyst: EmbeddedStore) -> None:
    basic = SHARED_DATA / "oscal-examples/basic-catalog.json"
    group = json.loads(basic.read_text())["catalog"]["groups"][0]["groups"][0]
    title = group["controls"][0]["title"]
    before = {g.iri for g in analyst.graphs()}
    found = [f.framework for f in search.search(analyst, title).frameworks]
    assert FW + "basic-test" not in found and found  # ISO A.5.2 has the same title
    import_oscal(analyst, [basic], max_bytes=10**8, framework="basic-test")
    try:
        hits = search.search(analyst, title)
        assert any(f.framework == FW + "basic-test" for f in hits.frameworks)
        assert FW + "basic-test" in _search_in_another_process(analyst.path, title)
    finally:
        drop_graphs(analyst, [g.iri for g in analyst.graphs() if g.iri not in before])
    assert all(f.framework != FW + "basic-test" for f in search.search(analyst, title).frameworks)
    assert FW + "basic-test" not in _search_in_another_process(analyst.path, title)


def _search_in_another_process(store: Path, text: str) -> list[str]:
    """The frameworks a read-only process finds ``text`` in (it reads the index file)."""
    code = ("import sys, json; from pathlib import Path; from graphsvc import search; "
            "from graphsvc.store.embedded import EmbeddedStore; "
            "s = EmbeddedStore(Path(sys.argv[1]), read_only=True); "
            "print(json.dumps([f.framework for f in search.search(s, sys.argv[2]).frameworks]))")
    out = subprocess.run([sys.executable, "-c", code, str(store), text], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out)


def test_remote_and_in_memory_stores(oxigraph_server: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Remote: a file in the cache directory, built on first use, rebuilt on commit;
    in memory: rebuilt on the first search after a write."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    remote = remote_store(oxigraph_server)
    remote._update("DROP ALL")
    init_store(remote, max_bytes=10**9)
    assert first(search.search(remote, "AC-2(1)")) == FW + "nist-sp-800-53-rev5/ac-2.1"
    location = search.location(remote)
    assert location is not None and location.is_file() and str(tmp_path) in str(location)
    with EmbeddedStore() as memory:
        assert search.location(memory) is None
        init_store(memory, max_bytes=10**9)
        assert search.search(memory, "AC-2").total > 0
        drop_graphs(memory, [g.iri for g in memory.graphs()
                             if "fedramp" in g.iri or "catalog" in g.iri])
        assert search.search(memory, "AC-2").total == 0
    remote._update("DROP ALL")


def test_short_forms_of_every_iri_parameter(analyst: EmbeddedStore) -> None:
    by_iri = ask(analyst, "crosswalk", {"requirement": FW + "nist-sp-800-53-rev5/ac-2"})
    for short in ("AC-2", "ac-2", "nist-sp-800-53-rev5/AC-2"):
        by_short = ask(analyst, "crosswalk", {"requirement": short})
        assert isinstance(by_short, Rows) and isinstance(by_iri, Rows)
        assert by_short.rows == by_iri.rows and len(by_iri) > 0
    tree = ask(analyst, "framework-tree", {"framework": "iso27001-2022"})
    assert isinstance(tree, Rows) and len(tree) == 140
    coverage = ask(analyst, "coverage", {"baseline": "fedramp-rev5-moderate"})
    assert isinstance(coverage, Rows) and len(coverage) > 10
    with pytest.raises(NotInStore, match="'AC-99' names no Requirement"):
        ask(analyst, "crosswalk", {"requirement": "AC-99"})
    twin = "https://w3id.org/graphsvc/graph/test/twin"
    other = URIRef(FW + "other-fw/ac-2")  # a second framework with an AC-2
    commit(analyst, {twin: [(other, RDF.type, URIRef(REQUIREMENT)),
                            (other, GC.identifier, Literal("ac-2")),
                            (other, GC.inFramework, URIRef(FW + "other-fw"))]})
    try:
        with pytest.raises(BadInput, match="names 2 Requirements") as refused:
            ask(analyst, "crosswalk", {"requirement": "AC-2"})
        assert "nist-sp-800-53-rev5/AC-2" in str(refused.value) and "other-fw" in str(refused.value)
        assert ask(analyst, "crosswalk", {"requirement": "nist-sp-800-53-rev5/AC-2"}).rows \
            == by_iri.rows
    finally:
        drop_graphs(analyst, [twin])


def test_search_pages_and_json(analyst: EmbeddedStore) -> None:
    from graphsvc.config import Config
    from graphsvc.web import close_app, create_app

    app = create_app(Config(store=analyst.path), store=analyst, pool_size=1)
    try:
        client = app.test_client()
        answer = client.get("/search.json", query_string={"q": "A.5.15"})
        assert answer.status_code == 200
        body = answer.get_json()
        assert body["frameworks"][0]["results"][0]["notation"] == "A.5.15"
        assert client.get("/search.json").status_code == 400
        page = client.get("/search", query_string={"q": "encryption"}).data.decode()
        assert "SC-13" in page and "<mark>" in page and "ISO/IEC 27001:2022" in page
        assert client.get("/questions/crosswalk?requirement=AC-2").status_code == 200
        unknown = client.get("/api/questions/crosswalk?requirement=AC-99")
        assert unknown.status_code == 404 and "AC-99" in unknown.get_json()["error"]
    finally:
        close_app(app)

