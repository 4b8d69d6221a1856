"""Every /sparql query is bounded: in memory (its process has an address-space limit and
is replaced when it dies), in response size (rows and bytes), and in how many wait for
a query process (the rest get 503 + Retry-After at once, so /healthz and the pages keep
answering). A query process that cannot open the store or is killed is replaced, and
the request gets a clear 503, never a 500 or a hang."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from rdflib import Literal, URIRef

from graphsvc.config import Config, load_config
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.web import close_app, create_app

SUBJECTS = [URIRef(f"urn:graphsvc:test:s{i}") for i in range(20)]
ROWS = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"
# every pattern multiplies the 20 triples: 20^6 solutions to sort, 20^13 to nest
SORTED_PRODUCT = ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o . "
                  "?p ?q ?r } ORDER BY ?c ?f ?i ?l ?o ?r")
NESTED_OPTIONALS = ("SELECT * WHERE { ?s0 ?p0 ?o0 "
                    + "".join(f"OPTIONAL {{ ?s{i} ?p{i} ?o{i} " for i in range(1, 13))
                    + "}" * 12 + " } ORDER BY ?o12")
COUNT_PRODUCT = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
                 "?j ?k ?l . ?m ?n2 ?o . ?p ?q ?r . ?t ?u ?v }")
AMPLIFIED = ('SELECT (REPLACE(STR(?s), "(.)", "' + "$1" * 50 + '") AS ?x) WHERE { ?s ?p ?o } '
             "ORDER BY ?s")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty triples on disk, only read once written."""
    path = tmp_path_factory.mktemp("limits") / "store"
    with EmbeddedStore(path) as store:
        store.write({"urn:g": [(s, URIRef("urn:p"), Literal(i))
                               for i, s in enumerate(SUBJECTS)]})
    return path


@pytest.fixture
def serve(small_store: Path) -> Iterator:
    """Apps over the small store with the given settings; closed after the test."""
    opened = []

    def start(pool_size: int = 1, **settings):
        store = EmbeddedStore(small_store, read_only=True)
        app = create_app(replace(Config(store=small_store), **settings), store=store,
                         pool_size=pool_size)
        opened.append((app, store))
        return app

    yield start
    for app, store in opened:
        close_app(app)
        store.close()


def ask(client, query: str):
    return client.post("/sparql", data=query, content_type="application/sparql-query")


def test_memory_limit_stops_a_query_and_its_process_is_replaced(serve) -> None:
    app = serve(query_memory_mb=1024, query_timeout_s=120)
    client = app.test_client()
    for query in (SORTED_PRODUCT, NESTED_OPTIONALS):
        stopped = ask(client, query)
        assert stopped.status_code == 503, stopped.get_json()
        assert "memory limit of 1024 MiB" in stopped.get_json()["error"]
        after = ask(client, ROWS)  # a new process answers the next query
        assert after.status_code == 200
        assert [b["s"]["value"] for b in after.get_json()["results"]["bindings"]] == sorted(
            str(s) for s in SUBJECTS)
    assert len(app.extensions["graphsvc"].pool.pids()) == 1


def test_answers_are_cut_at_the_byte_limit_and_at_the_row_limit(serve) -> None:
    limit = 4_000
    client = serve(max_result_bytes=limit).test_client()
    expected = ["".join(c * 50 for c in str(s)) for s in sorted(SUBJECTS, key=str)]
    assert sum(len(x) for x in expected) > limit
    cut = ask(client, AMPLIFIED)
    assert cut.status_code == 200
    assert cut.headers["X-Graphsvc-Truncated"] == "true"
    assert cut.headers["X-Graphsvc-Truncated-By"] == "bytes"
    got = [b["x"]["value"] for b in cut.get_json()["results"]["bindings"]]
    assert got == expected[:len(got)] and got
    assert sum(len(x) for x in got) <= limit < sum(len(x) for x in expected[:len(got) + 1])
    construct = ('CONSTRUCT { ?s <urn:big> ?x } WHERE { ?s ?p ?o '
                 'BIND(REPLACE(STR(?s), "(.)", "' + "$1" * 50 + '") AS ?x) }')
    graph = client.post("/sparql", data=construct, content_type="application/sparql-query",
                        headers={"Accept": "application/n-triples"})
    assert graph.headers["X-Graphsvc-Truncated-By"] == "bytes"
    assert 0 < len(graph.data.decode().splitlines()) < len(SUBJECTS)
    small = serve(max_result_rows=5).test_client()
    capped = ask(small, ROWS)
    assert capped.headers["X-Graphsvc-Truncated-By"] == "rows"
    assert len(capped.get_json()["results"]["bindings"]) == 5


def test_a_full_queue_answers_503_at_once_and_healthz_still_answers(serve) -> None:
    """One query runs, one waits, the others are turned away with Retry-After; the
    server's threads stay free for /healthz and the pages meanwhile."""
    from waitress.server import create_server

    app = serve(query_queue=1, query_timeout_s=300)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    answers: list[tuple[int, dict, str | None]] = []
    turned_away = threading.Semaphore(0)

    def heavy() -> None:
        request = urllib.request.Request(url + "/sparql", data=COUNT_PRODUCT.encode(),
                                         headers={"Content-Type": "application/sparql-query"})
        try:
            with urllib.request.urlopen(request) as response:
                answers.append((response.status, json.load(response), None))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.load(error), error.headers.get("Retry-After")))
            turned_away.release()

    clients = [threading.Thread(target=heavy) for _ in range(5)]
    for client in clients:
        client.start()
    for _ in range(3):  # the two admitted hold their slots until the pool closes
        turned_away.acquire()
    for status, body, retry in answers:
        assert status == 503 and retry == "300" and "waiting" in body["error"]
    with urllib.request.urlopen(url + "/healthz") as health:
        assert health.status == 200
    editor = urllib.request.Request(url + "/sparql", headers={"Accept": "text/html"})
    with urllib.request.urlopen(editor) as page:
        assert page.status == 200
    assert sum(client.is_alive() for client in clients) == 2
    app.extensions["graphsvc"].pool.close()  # the admitted two end now, with a 503
    for client in clients:
        client.join()
    assert sorted(status for status, _, _ in answers) == [503] * 5
    server.trigger.pull_trigger(server.close)  # closed by its own loop, which then ends
    loop.join()


def test_a_process_that_cannot_open_the_store_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "store"
    path.write_text("not a store")  # the read-only open fails
    with EmbeddedStore() as in_process:
        app = create_app(Config(store=path), store=in_process, pool_size=2)
        try:
            client = app.test_client()
            failed = ask(client, ROWS)
            assert failed.status_code == 503
            assert "could not open the store" in failed.get_json()["error"]
            path.unlink()
            with EmbeddedStore(path) as store:
                store.write({"urn:g": [(SUBJECTS[0], URIRef("urn:p"), Literal(0))]})
            answered = ask(client, ROWS)
            assert answered.status_code == 200
            assert len(answered.get_json()["results"]["bindings"]) == 1
            assert len(app.extensions["graphsvc"].pool.pids()) == 2  # never fewer
        finally:
            close_app(app)


def test_a_killed_process_is_replaced(serve) -> None:
    app = serve(query_timeout_s=300)
    client, pool = app.test_client(), app.extensions["graphsvc"].pool
    assert ask(client, ROWS).status_code == 200
    idle = pool.pids()[0]
    os.kill(idle, signal.SIGKILL)  # while idle: the next query does not notice
    while not _gone(idle):
        threading.Event().wait(0.01)
    after = ask(client, ROWS)
    assert after.status_code == 200, after.get_json()
    running: list = []
    thread = threading.Thread(target=lambda: running.append(ask(client, COUNT_PRODUCT)))
    victim = pool.pids()[0]
    thread.start()
    while not _busy(victim):  # the query is running in it
        thread.join(0.05)
    os.kill(victim, signal.SIGKILL)
    thread.join()
    assert running[0].status_code == 503
    assert "SIGKILL" in running[0].get_json()["error"]
    assert ask(client, ROWS).status_code == 200


def _state(pid: int, task: int | None = None) -> str:
    stat = Path(f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat")
    return stat.read_text().rsplit(") ", 1)[1][0]


def _gone(pid: int) -> bool:
    """Every thread has ended; only the zombie waits to be reaped."""
    return _state(pid) == "Z" and len(list(Path(f"/proc/{pid}/task").iterdir())) == 1


def _busy(pid: int) -> bool:
    """A thread of the process is using the CPU (state R): it runs the query."""
    return any(_state(pid, int(t.name)) == "R" for t in Path(f"/proc/{pid}/task").iterdir())


def test_limits_are_settings() -> None:
    config = load_config({"GRAPHSVC_QUERY_MEMORY_MB": "512", "GRAPHSVC_QUERY_QUEUE": "7",
                          "GRAPHSVC_MAX_RESULT_BYTES": "1000"})
    assert (config.query_memory_mb, config.query_queue, config.max_result_bytes) == (
        512, 7, 1000)
    assert Config().query_memory_mb > 0 and Config().max_result_bytes > 0
