"""The web service on both backends: /sparql speaks the protocol to real clients and
refuses what it must; the question API answers what the core answers; uploads are
validated and bounded; loading needs the token; pages render and our IRIs dereference."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from graphsvc.questions import ask, load_questions
from graphsvc.store import Rows, open_store
from tests.conftest import ROOT
from tests.helpers import baseline_ids, control_set_turtle

COUNT = ("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g "
         "ORDER BY ?g")
AC2 = "https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/ac-2"


@pytest.fixture(scope="module")
def direct(web_config):
    """The same store, read directly (the independent side of each comparison)."""
    store = open_store(web_config, read_only=True)
    yield store
    store.close()


def expected_counts(direct) -> dict[str, int]:
    rows = direct.query(COUNT)
    assert isinstance(rows, Rows)
    return {str(g): int(n) for g, n in rows}


def test_sparql_results_in_every_format(client, direct) -> None:
    expected = expected_counts(direct)
    as_json = client.get("/sparql", query_string={"query": COUNT},
                         headers={"Accept": "application/sparql-results+json"})
    assert as_json.status_code == 200
    got = {b["g"]["value"]: int(b["n"]["value"])
           for b in as_json.get_json()["results"]["bindings"]}
    assert got == expected
    xml = client.post("/sparql", data={"query": COUNT},
                      headers={"Accept": "application/sparql-results+xml"})
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(xml.data)
    assert len(root.findall(".//r:result", ns)) == len(expected)
    direct_post = client.post("/sparql", data=COUNT, content_type="application/sparql-query",
                              headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(direct_post.data.decode())))
    assert {r["g"]: int(r["n"]) for r in rows} == expected
    tsv = client.get("/sparql", query_string={"query": COUNT},
                     headers={"Accept": "text/tab-separated-values"})
    assert len(tsv.data.decode().strip().splitlines()) == len(expected) + 1
    ask_ = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert ask_.get_json() == {"head": {}, "boolean": True}
    construct = f"CONSTRUCT {{ <{AC2}> ?p ?o }} WHERE {{ <{AC2}> ?p ?o }}"
    sizes = set()
    for mimetype, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"),
                          ("application/ld+json", "json-ld")):
        answer = client.get("/sparql", query_string={"query": construct},
                            headers={"Accept": mimetype})
        assert answer.mimetype == mimetype
        sizes.add(len(Graph().parse(data=answer.data, format=fmt)))
    assert len(sizes) == 1 and sizes.pop() > 3
    description = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert "sd:SPARQL11Query" in description.data.decode()
    assert description.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in description.headers


def test_sparql_refuses_before_running(client, direct) -> None:
    graphs = set(expected_counts(direct))
    refused = [
        ({"query": "DROP ALL"}, "not a SPARQL 1.1 query"),
        ({"update": "DROP ALL"}, "read-only"),
        ({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"},
         "SERVICE"),
        ({"query": "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }"},
         "not a graph of this store"),
        ({"query": "SELECT * WHERE { ?s ?p "}, "query"),
        ({"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": "http://x.org/g"},
         "not a graph"),
    ]
    for params, words in refused:
        answer = client.get("/sparql", query_string=params)
        assert answer.status_code == 400, (params, answer.data)
        assert words in answer.get_json()["error"], answer.get_json()
    update = client.post("/sparql", data="DROP ALL", content_type="application/sparql-update")
    assert update.status_code == 400
    long = client.get("/sparql", query_string={"query": "#" * 30_000 + "\nASK {}"})
    assert long.status_code == 413
    known = sorted(graphs)[0]
    allowed = client.get("/sparql", query_string={
        "query": f"SELECT (COUNT(*) AS ?n) FROM <{known}> WHERE {{ ?s ?p ?o }}"})
    assert allowed.status_code == 200
    assert set(expected_counts(direct)) == graphs  # nothing was written


def test_service_never_connects(client) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(1.0)
    port = listener.getsockname()[1]
    answer = client.get("/sparql", query_string={
        "query": f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"})
    assert answer.status_code == 400
    with pytest.raises(OSError):
        listener.accept()
    listener.close()


def test_time_limit_and_row_cap(app, web_config) -> None:
    """A query past the limit is stopped (its process killed and replaced) and the
    endpoint keeps answering; answers are cut at the row cap."""
    from dataclasses import replace

    from graphsvc.web import close_app, create_app

    bounded = create_app(replace(web_config, query_timeout_s=1.0, max_result_rows=5),
                         store=app.extensions["graphsvc"].store, pool_size=1)
    try:
        client = bounded.test_client()
        heavy = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
        start = time.perf_counter()
        slow = client.get("/sparql", query_string={"query": heavy})
        elapsed = time.perf_counter() - start
        assert slow.status_code == 503 and "stopped" in slow.get_json()["error"]
        assert elapsed < 10
        capped = client.get("/sparql",
                            query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"})
        assert capped.status_code == 200
        assert len(capped.get_json()["results"]["bindings"]) == 5
        assert capped.headers["X-Graphsvc-Truncated"] == "true"
    finally:
        close_app(bounded)


def test_real_sparql_clients(live_url: str, direct) -> None:
    expected = expected_counts(direct)
    client = SPARQLWrapper(live_url + "/sparql")
    client.setQuery(COUNT)
    client.setReturnFormat(JSON)
    got = {b["g"]["value"]: int(b["n"]["value"])
           for b in client.query().convert()["results"]["bindings"]}
    assert got == expected
    store = SPARQLStore(live_url + "/sparql")
    rows = list(store.query(COUNT))
    assert {str(g): int(n) for g, n in rows} == expected
    assert (URIRef(AC2), None, None) in Graph(store=store)


def test_question_api_answers_what_the_core_answers(client, direct) -> None:
    listed = client.get("/api/questions").get_json()
    assert {q["name"] for q in listed} == set(load_questions())
    answer = client.get("/api/questions/coverage", query_string={"as_of": "2026-11-29"})
    assert answer.status_code == 200
    body = answer.get_json()
    core = ask(direct, "coverage", {"as_of": "2026-11-29"})
    assert isinstance(core, Rows)
    assert body["columns"] == core.variables
    assert [r["full"] for r in body["rows"]] == [str(r["full"]) for r in core.dicts()]
    as_csv = client.get("/api/questions/coverage.csv", query_string={"as_of": "2026-11-29"})
    assert len(list(csv.DictReader(io.StringIO(as_csv.data.decode())))) == len(core)
    bad = client.get("/api/questions/coverage", query_string={"as_of": "tomorrow-ish"})
    assert bad.status_code == 400 and bad.get_json()["where"] == "parameter as_of"
    injected = client.get("/api/questions/crosswalk",
                          query_string={"requirement": "x> } ; DROP ALL ; <y"})
    assert injected.status_code == 400
    unknown = client.get("/api/questions/no-such-question")
    assert unknown.status_code == 404 and "known" in unknown.get_json()["error"]
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for name, q in load_questions().items():
        params = spec["paths"][f"/api/questions/{name}"]["get"]["parameters"]
        assert [p["name"] for p in params] == [p.name for p in q.params]


def test_validation_upload(client, shared_data: Path) -> None:
    low = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"
    ids = baseline_ids(shared_data / "fedramp-rev5/FedRAMP_rev5_LOW-baseline_profile.json")
    text = control_set_turtle(ids, low, "2026-11-29", missing=frozenset(ids[:7]))
    answer = client.post("/api/validate", data={
        "file": (io.BytesIO(text.encode()), "set.ttl"), "as_of": "2026-11-29"})
    assert answer.status_code == 200, answer.data
    report = answer.get_json()
    assert report["counts"]["Violation"] == 7
    assert {r["control"] for r in report["results"]} == set(ids[:7])
    sarif = client.post("/api/validate", data={
        "file": (io.BytesIO(text.encode()), "set.ttl"), "as_of": "2026-11-29",
        "format": "sarif"}).get_json()
    assert len(sarif["runs"][0]["results"]) == 7
    for data, words in [
        ({"file": (io.BytesIO(b"not rdf at all {"), "x.ttl")}, "line"),
        ({"file": (io.BytesIO(b"{}"), "x.exe")}, "unknown file type"),
        ({"file": (io.BytesIO(text.encode()), "set.ttl"), "as_of": "31/12/2026"}, "as_of"),
        ({}, "file"),
    ]:
        bad = client.post("/api/validate", data=data)
        assert bad.status_code == 400, bad.data
        assert words in json.dumps(bad.get_json())


def test_upload_limit(app, web_config) -> None:
    from dataclasses import replace

    from graphsvc.web import close_app, create_app

    small = create_app(replace(web_config, max_upload_bytes=1000),
                       store=app.extensions["graphsvc"].store, pool_size=1)
    try:
        answer = small.test_client().post("/api/validate", data={
            "file": (io.BytesIO(b"#" * 5000), "big.ttl")})
        assert answer.status_code == 413 and "limit" in answer.get_json()["error"]
    finally:
        close_app(small)


def test_loading_needs_the_token(client, direct, shared_data: Path) -> None:
    low = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"
    ids = baseline_ids(shared_data / "fedramp-rev5/FedRAMP_rev5_LOW-baseline_profile.json")
    text = control_set_turtle(ids[:5], low, "2026-11-29").encode()
    before = expected_counts(direct)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        refused = client.post("/api/control-sets", headers=headers,
                              data={"file": (io.BytesIO(text), "set.ttl")})
        assert refused.status_code == 401
    assert expected_counts(direct) == before
    loaded = client.post("/api/control-sets", headers={"Authorization": "Bearer s3cret"},
                         data={"file": (io.BytesIO(text), "set.ttl")})
    assert loaded.status_code == 201, loaded.data
    graph = loaded.get_json()["graph"]
    try:
        seen = client.get("/sparql", query_string={
            "query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"})
        assert int(seen.get_json()["results"]["bindings"][0]["n"]["value"]) == len(
            Graph().parse(data=text, format="turtle"))
    finally:
        client.application.extensions["graphsvc"].writes.drop([graph])


def test_pages_render_with_headers(client) -> None:
    for url in ("/", "/questions", "/questions/coverage", "/questions/gaps",
                "/id/fw/nist-sp-800-53-rev5", "/id/fw/nist-sp-800-53-rev5/ac-2",
                "/crosswalks", "/coverage", "/validate", "/id/program/hipaa"):
        page = client.get(url, headers={"Accept": "text/html"})
        assert page.status_code == 200, url
        text = page.data.decode()
        assert "<h1>" in text and 'lang="en"' in text, url
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in page.headers
    editor = client.get("/sparql", headers={"Accept": "text/html"})
    assert "yasgui.min.js" in editor.data.decode()
    assert client.get("/static/vendor/yasgui-4.6.2/yasgui.min.js").status_code == 200
    missing = client.get("/id/fw/nothing-here", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and b"<h1>" in missing.data
    assert client.get("/api/nothing").get_json()["status"] == 404


def test_our_iris_dereference(client, direct) -> None:
    turtle = client.get("/id/fw/nist-sp-800-53-rev5/ac-2", headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle"
    graph = Graph().parse(data=turtle.data, format="turtle")
    rows = direct.query(f"SELECT DISTINCT ?p ?o WHERE {{ <{AC2}> ?p ?o }}")
    assert isinstance(rows, Rows)
    assert set(graph.predicate_objects(URIRef(AC2))) == {tuple(r) for r in rows}
    jsonld = client.get("/id/fw/nist-sp-800-53-rev5/ac-2",
                        headers={"Accept": "application/ld+json"})
    assert len(Graph().parse(data=jsonld.data, format="json-ld")) == len(graph)


def test_form_posts_need_the_csrf_token(client) -> None:
    demo = (ROOT / "ontology" / "demo-customer.ttl").read_bytes()
    refused = client.post("/validate", data={"file": (io.BytesIO(demo), "demo.ttl")})
    assert refused.status_code == 400 and b"CSRF" in refused.data
    page = client.get("/validate").data.decode()
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    accepted = client.post("/validate", data={"file": (io.BytesIO(demo), "demo.ttl"),
                                              "csrf_token": token, "as_of": "2026-11-29"})
    assert accepted.status_code == 200 and b"violations" in accepted.data


def test_concurrent_requests(live_url: str) -> None:
    """Threads of the real server share the store: 8 clients at once, all answered."""
    import urllib.request

    errors: list[Exception] = []

    def fetch() -> None:
        try:
            for _ in range(5):
                with urllib.request.urlopen(live_url + "/api/questions/inheritance") as r:
                    assert r.status == 200 and json.load(r)["rows"]
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
