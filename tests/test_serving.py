"""``graphsvc serve --workers N`` as it runs in production: real processes on a real
port. Every serving process sees a write as soon as it is acknowledged (and drops the
answers it kept), uploads go on while /sparql is under load, a serving process that
dies is replaced, a writer killed with -9 is recovered by the next start, and SIGTERM
always stops the whole service."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from graphsvc.store.server import free_port
from tests.conftest import need_shared_data
from tests.helpers import baseline_ids, control_set_turtle

TOKEN = "serving-test-token"
LOW = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"
GENERATED = "https://example.org/generated/"
HANG_S = 120  # a hang detector, not a speed limit


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from graphsvc.content import init_store
    from graphsvc.store.embedded import EmbeddedStore

    path = tmp_path_factory.mktemp("serving") / "store"
    with EmbeddedStore(path) as store:
        init_store(store, max_bytes=10**8)
    return path


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    data = need_shared_data()
    return baseline_ids(data / "fedramp-rev5" / "FedRAMP_rev5_LOW-baseline_profile.json")


class Service:
    """``graphsvc serve`` in its own process group, and what it is made of."""

    def __init__(self, store: Path, workers: int, tmp_path: Path) -> None:
        tokens = tmp_path / "tokens"
        import hashlib

        tokens.write_text(f"ci load,drop {hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
        self.port = free_port()
        env = {**os.environ, "GRAPHSVC_TOKENS_FILE": str(tokens), "PYTHONUNBUFFERED": "1"}
        env.pop("GRAPHSVC_REMOTE", None)
        self.process = subprocess.Popen(
            [Path(sys.executable).parent / "graphsvc", "--store", str(store), "serve",
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if "serving on" in line:
                break
        else:
            raise AssertionError("serve did not start:\n" + "".join(self.log))
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True
                         ).start()

    def serving(self) -> list[int]:
        """The serving processes: this one and its children that serve (not the
        multiprocessing resource tracker, not query processes)."""
        children = _children(self.process.pid)
        return [self.process.pid] + [p for p in children if "spawn_main" in _cmdline(p)
                                     and _parent(p) == self.process.pid]

    def connection(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HANG_S)
        conn.connect()
        return conn

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=HANG_S)


@pytest.fixture
def serve(store_dir: Path, tmp_path: Path) -> Iterator:
    started: list[Service] = []

    def start(workers: int) -> Service:
        started.append(Service(store_dir, workers, tmp_path))
        return started[-1]

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except OSError:
        return False
    return state != "Z"


def answering(service: Service, conn: http.client.HTTPConnection) -> int:
    """Which serving process holds the server side of this connection (from /proc)."""
    client_port = conn.sock.getsockname()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == service.port and int(remote, 16) == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in service.serving():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    raise AssertionError("no serving process holds the connection")


def request(conn: http.client.HTTPConnection, method: str, path: str,
            body: bytes | None = None, headers: dict[str, str] | None = None
            ) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def upload(conn: http.client.HTTPConnection, name: str, text: str) -> tuple[int, bytes]:
    boundary = "graphsvc-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}.ttl\"\r\nContent-Type: text/turtle\r\n\r\n{text}\r\n"
            f"--{boundary}--\r\n").encode()
    return request(conn, "POST", "/api/control-sets", body, {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": f"multipart/form-data; boundary={boundary}"})


def control_set(name: str, members: list[str], copies: int = 1) -> str:
    """A generated control set named ``name``: each member implemented ``copies`` times."""
    return control_set_turtle(members * copies, LOW, "2026-11-29").replace(
        "ex:set ", f"ex:{name} ")


def triples_in(conn: http.client.HTTPConnection, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    status, body = request(conn, "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                           headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def connections_to_each(service: Service, count: int) -> dict[int, http.client.HTTPConnection]:
    """One open connection to each serving process (the kernel hands connections to
    whichever process accepts first, so open them until every process has one)."""
    found: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):
        conn = service.connection()
        assert request(conn, "GET", "/healthz")[0] == 200
        found.setdefault(answering(service, conn), conn)
        if len(found) == count:
            return found
    raise AssertionError(f"connections reached only {len(found)} of {count} processes")


def test_every_serving_process_sees_each_write_when_it_is_acknowledged(
        serve, members: list[str]) -> None:
    service = serve(2)
    assert len(service.serving()) == 2
    conns = connections_to_each(service, 2)
    name = "set-each-process"
    text = control_set(name, members[:40])
    expected_triples = len(Graph().parse(data=text, format="turtle"))
    question = ("/api/questions/responsibility?" +
                urllib.parse.urlencode({"controlSet": GENERATED + name}))
    graph = f"https://w3id.org/graphsvc/graph/upload/{name}"
    for conn in conns.values():  # each process answers (and keeps) "not in the store"
        for _ in range(2):
            assert request(conn, "GET", question)[0] == 404
    writer, other = conns[service.process.pid], next(
        c for p, c in conns.items() if p != service.process.pid)
    for sender in (other, writer):  # a write received by either process
        status, body = upload(sender, name, text)
        assert status == 201, body
        for conn in conns.values():
            status, body = request(conn, "GET", question)
            assert status == 200, body
            rows = json.loads(body)["rows"]
            assert len(rows) == 40 and len({r["control"] for r in rows}) == 40
            assert triples_in(conn, graph) == expected_triples
        status, body = request(sender, "DELETE", "/api/graphs?" + urllib.parse.urlencode(
            {"graph": graph}), headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        for conn in conns.values():
            assert request(conn, "GET", question)[0] == 404
            assert triples_in(conn, graph) == 0
    assert service.stop() == 0


def test_uploads_while_sparql_is_under_load(serve, members: list[str]) -> None:
    service = serve(2)
    stop = threading.Event()
    answers: list[tuple[int, bytes]] = []

    def load(worker: int) -> None:
        conn, n = service.connection(), 0
        while not stop.is_set():
            n += 1  # a new text each time: no kept answer helps
            query = f"SELECT ?s WHERE {{ ?s a ?type }} LIMIT {1 + (worker * 1000 + n) % 997}"
            answers.append(request(conn, "GET", "/sparql?" + urllib.parse.urlencode(
                {"query": query})))
            answers.append(request(conn, "GET", "/api/questions/inheritance?as_of=2026-"
                                   f"{1 + n % 12:02d}-{1 + n % 28:02d}"))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        sizes = {}
        for round_ in range(6):  # two big ones (past the bulk loader's threshold)
            name = f"set-under-load-{round_ % 3}"
            text = control_set(name, members, copies=8 if round_ % 3 == 2 else 1)
            sizes[name] = len(Graph().parse(data=text, format="turtle"))
            conn = service.connection()
            status, body = upload(conn, name, text)
            assert status == 201, body
            graph = f"https://w3id.org/graphsvc/graph/upload/{name}"
            assert json.loads(body)["triples"] == sizes[name]
            fresh = service.connection()  # whichever process takes it sees the write
            assert triples_in(fresh, graph) == sizes[name]
        assert max(sizes.values()) > 10_000
    finally:
        stop.set()
        for thread in threads:
            thread.join(HANG_S)
    assert not any(thread.is_alive() for thread in threads)
    assert len(answers) > 50
    assert [a for a in answers if a[0] != 200] == []
    assert service.stop() == 0


def test_a_serving_process_that_dies_is_replaced(serve) -> None:
    service = serve(2)
    victim = next(p for p in service.serving() if p != service.process.pid)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + HANG_S
    while not (len(service.serving()) == 2 and victim not in service.serving()):
        assert time.monotonic() < deadline, "no serving process replaced the dead one"
        time.sleep(0.2)
    conns = connections_to_each(service, 2)
    for conn in conns.values():
        assert request(conn, "GET", "/api/questions/inventory")[0] == 200
    assert service.stop() == 0


def test_sigterm_stops_every_process_whatever_they_are_doing(serve,
                                                             members: list[str]) -> None:
    service = serve(2)
    conns = connections_to_each(service, 2)
    everything = [service.process.pid, *_children(service.process.pid)]
    busy = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
    running = []
    for conn in conns.values():  # a heavy query in each process, and an upload
        def ask(conn: http.client.HTTPConnection = conn) -> None:
            try:
                running.append(request(conn, "GET", "/sparql?" + urllib.parse.urlencode(
                    {"query": busy}))[0])
            except (OSError, http.client.HTTPException):
                running.append("closed")

        threading.Thread(target=ask, daemon=True).start()
    writing = threading.Thread(target=lambda: running.append(upload(
        service.connection(), "set-at-stop", control_set("set-at-stop", members))[0]),
        daemon=True)
    writing.start()
    time.sleep(1.0)
    everything += [p for pid in list(everything) for p in _children(pid)]
    assert service.stop() == 0
    deadline = time.monotonic() + HANG_S
    while any(_alive(p) for p in everything):
        assert time.monotonic() < deadline, [p for p in everything if _alive(p)]
        time.sleep(0.1)


def test_writer_killed_mid_upload_then_restarted(serve, store_dir: Path,
                                                 members: list[str]) -> None:
    """kill -9 the writer while it writes a new graph, then while it replaces one: the
    other serving process stops by itself, the next start recovers, the graph is whole
    (old or new) or absent, and the first /sparql query of every start is answered."""
    from graphsvc.store.embedded import JOURNAL

    name = "set-killed"
    graph = f"https://w3id.org/graphsvc/graph/upload/{name}"
    reviewed = (f"SELECT ?day (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s "
                "<https://w3id.org/graphsvc/compliance#lastReviewed> ?day } } GROUP BY ?day")

    def versions(service: Service) -> dict[str, int]:
        status, body = request(service.connection(), "GET", "/sparql?" +
                               urllib.parse.urlencode({"query": reviewed}))
        assert status == 200, body
        return {b["day"]["value"]: int(b["n"]["value"])
                for b in json.loads(body)["results"]["bindings"]}

    old = control_set_turtle(members * 8, LOW, "2026-11-29").replace("ex:set ", f"ex:{name} ")
    new = control_set_turtle(members * 8, LOW, "2027-03-01").replace("ex:set ", f"ex:{name} ")
    whole = _reviewed(old), _reviewed(new)
    assert whole[0] != whole[1]
    for text, before in ((old, {}), (new, whole[0])):
        service = serve(2)
        assert versions(service) == before
        everything = service.serving()
        threading.Thread(target=_quietly, args=(upload, service.connection(), name, text),
                         daemon=True).start()
        deadline = time.monotonic() + HANG_S
        while not (store_dir / JOURNAL).exists():  # the write has begun
            assert time.monotonic() < deadline, "the upload never reached the writer"
            time.sleep(0.002)
        service.process.kill()
        while any(_alive(p) for p in everything):  # the other process notices and stops
            assert time.monotonic() < deadline, "a serving process outlived its writer"
            time.sleep(0.1)
        again = serve(2)
        assert versions(again) in ({}, *whole)
        assert not (store_dir / JOURNAL).exists()
        if versions(again) == before == {}:  # undone: write it whole for the next round
            assert upload(again.connection(), name, old)[0] == 201
        assert again.stop() == 0
    for _ in range(3):
        again = serve(2)
        assert versions(again) in whole
        assert again.stop() == 0


def _reviewed(text: str) -> dict[str, int]:
    """Triples per gc:lastReviewed day of a control set, read with rdflib."""
    counts: dict[str, int] = {}
    for _, _, day in Graph().parse(data=text, format="turtle").triples(
            (None, URIRef("https://w3id.org/graphsvc/compliance#lastReviewed"), None)):
        counts[str(day)] = counts.get(str(day), 0) + 1
    return counts


def _quietly(call, *args) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        call(*args)
