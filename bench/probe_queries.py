"""``python -m bench.probe_queries``: what a hostile user of the query side tries (issue
12), against the real thing: ``graphsvc serve`` in its own process over a store with
what ``init`` loads, ``graphsvc query`` as a process, the embedded store, values bound
into a question's text, and a real Oxigraph server behind the remote backend.

1. Egress: SERVICE hidden every way we know (codepoint escapes, comments, the four kinds
   of strings, IRIs with escapes, keywords in every case, SERVICE in every position)
   through every entry point; a listener on 127.0.0.1 counts what reaches it (must be 0).
2. Adversarial queries on /sparql with the default limits: each must end within the time
   limit (+5 s) as 200 (cut if need be), 4xx or 503, never 500 or a hang; the peak
   memory of the query processes, sampled from /proc, against their limit.
3. /healthz while 10 heavy queries arrive at once.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rdflib import Literal, URIRef

from bench.web import served
from graphsvc.config import Config
from graphsvc.content import init_store
from graphsvc.errors import BadInput
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore
from graphsvc.store.server import oxigraph_server

LIMITS = Config()
GRAPHSVC = str(Path(sys.executable).parent / "graphsvc")


class Listener:
    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            connection, _ = self.socket.accept()
            self.hits += 1
            connection.close()


def vectors(port: int, count: int) -> list[str]:
    """The issue's text, then ``count`` others drawn from every combination."""
    iri = f"http://127.0.0.1:{port}/"
    spellings = ["SERVICE", "service", "SeRvIcE", "\\u0053ERVICE", "S\\U00000045RVICE",
                 "SERVICE SILENT"]
    targets = [f"<{iri}>", f"<http\\u003A//127.0.0.1:{port}/>", f"<{iri}\\u0073>", "e:",
               "?endpoint"]
    places = ["{}", "OPTIONAL {{ {} }}", "{{ ?s ?p ?o }} UNION {{ {} }}", "MINUS {{ {} }}",
              "FILTER EXISTS {{ {} }}", "GRAPH ?g {{ {} }}", "{{ SELECT * WHERE {{ {} }} }}"]
    hidings = ["{}"] + [f"# {nl} BIND({q}\n{{}}\n# {nl} {q} AS ?x)"
                        for nl in ("\\u000a", "\\u000d", "\\U0000000A", "\n")
                        for q in ('"""', "'''", '"', "'")]
    texts = [f'SELECT * WHERE {{\n# \\u000a BIND("""\nSERVICE <{iri}> {{ ?s ?p ?o }}\n'
             f'# \\u000a """ AS ?x)\n}}']
    combos = list(itertools.product(spellings, targets, places, hidings))
    for spelling, target, place, hiding in random.Random(12).sample(combos, count):
        clause = place.format(f"{spelling} {target} {{ ?s ?p ?o }}")
        values = f"VALUES ?endpoint {{ <{iri}> }} " if target == "?endpoint" else ""
        texts.append(f"PREFIX e: <{iri}>\nSELECT * WHERE {{\n{values}"
                     f"{hiding.replace('{}', clause)}\n}}")
    return texts


def http(url: str, query: str, how: str, timeout: float = 60) -> tuple[int, bytes, dict]:
    if how == "GET":
        request = urllib.request.Request(url + "/sparql?" + urllib.parse.urlencode(
            {"query": query}))
    elif how == "form":
        request = urllib.request.Request(url + "/sparql", urllib.parse.urlencode(
            {"query": query}).encode())
    else:
        request = urllib.request.Request(url + "/sparql", query.encode(),
                                         {"Content-Type": "application/sparql-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def egress(url: str, store_dir: Path, remote: RemoteStore, listener: Listener) -> None:
    texts = vectors(listener.port, 150)
    outcomes: dict[str, int] = {"refused": 0, "answered": 0, "error": 0}

    def count(kind: str) -> None:
        outcomes[kind] += 1

    with EmbeddedStore() as memory:
        memory.write({"urn:g": [(URIRef("urn:s"), URIRef("urn:p"), Literal("o"))]})
        for text in texts:
            for how in ("GET", "form", "direct"):
                status = http(url, text, how)[0]
                count("answered" if status == 200 else "refused" if status < 500 else "error")
            for store in (memory, remote):
                try:
                    store.query(text)
                    count("answered")
                except BadInput:
                    count("refused")
            bound = memory.query("SELECT ?v WHERE { BIND(?x AS ?v) }", {"x": Literal(text)})
            count("answered" if bound.rows == [(Literal(text),)] else "error")
    for text in texts[:25]:  # a process each: the text and a sample
        code = subprocess.run([GRAPHSVC, "--store", str(store_dir), "query", text],
                              capture_output=True).returncode
        count("answered" if code == 0 else "refused" if code == 2 else "error")
    tried = sum(outcomes.values())
    print(f"egress: {len(texts)} texts, {tried} tries through /sparql GET, form POST, "
          f"direct POST, embedded, remote, bound values and (25) graphsvc query")
    print(f"  vectors tried {tried} / listener hits {listener.hits} / refused "
          f"{outcomes['refused']} / answered {outcomes['answered']} / 5xx or errors "
          f"{outcomes['error']}", flush=True)


AMPLIFY = '"(.)", "' + "$1" * 100 + '"'
AMPLIFY_10 = '"(.)", "' + "$1" * 10 + '"'
ADVERSARIAL = {
    "cartesian count": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "(p|!p)* path": "SELECT (COUNT(*) AS ?n) WHERE { ?a (<urn:p>|!<urn:p>)* ?b }",
    "regex backtracking": 'SELECT ?o WHERE { ?s ?p ?o FILTER REGEX(STR(?o), "(a|aa)+$") }',
    "construct explosion": "CONSTRUCT { ?a ?b ?c . ?d ?e ?f } WHERE { ?a ?b ?c . ?d ?e ?f }",
    "12 nested OPTIONALs": "SELECT * WHERE { ?s0 ?p0 ?o0 " + "".join(
        f"OPTIONAL {{ ?s{i} ?p{i} ?o{i} " for i in range(1, 13)) + "}" * 12 + " }",
    "ORDER BY a cartesian product": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f",
    "REPLACE amplification": f"SELECT (REPLACE(REPLACE(STR(?s), {AMPLIFY}), {AMPLIFY}) "
                             "AS ?x) WHERE { ?s ?p ?o }",
    "GROUP_CONCAT amplification": f"SELECT (GROUP_CONCAT(REPLACE(STR(?s), {AMPLIFY_10})) "
                                  "AS ?x) WHERE { ?s ?p ?o }",
    "FILTER(1+1+...) 9,500 terms": "SELECT * WHERE { ?s ?p ?o FILTER(" + "+".join(
        ["1"] * 9_500) + ") }",
    "800 UNIONs": "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 800) + " } LIMIT 5",
    "1,000 nested brackets": "ASK { FILTER(" + "(" * 1_000 + "1" + ")" * 1_000 + ") }",
    "900 nested EXISTS": "ASK { " + "FILTER EXISTS { " * 900 + "}" * 900 + " }",
    "1 MB text": "ASK { }" + " " * 1_000_000,
    "every triple": "SELECT * WHERE { ?s ?p ?o }",
    "DESCRIBE everything": "DESCRIBE ?s WHERE { ?s ?p ?o }",
}


class Peak:
    """The largest resident size of the server's query processes, sampled from /proc."""

    def __init__(self, port: int) -> None:
        self.server = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                           and _cmdline(p).endswith(f"serve\0--port\0{port}\0"))
        self.kib = 0
        self.stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.stop.wait(0.02):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                except (OSError, ValueError):
                    continue
                if int(fields.get("PPid", "0")) == self.server and "VmRSS" in fields:
                    self.kib = max(self.kib, int(fields["VmRSS"].split()[0]))


def _cmdline(path: Path) -> str:
    try:
        return (path / "cmdline").read_text()
    except OSError:
        return ""


def adversarial(url: str) -> None:
    limit_s = LIMITS.query_timeout_s
    peak = Peak(urllib.parse.urlsplit(url).port or 0)
    print(f"adversarial queries on /sparql (limits: {limit_s:g} s, {LIMITS.query_memory_mb} "
          f"MiB, {LIMITS.max_result_rows} rows, {LIMITS.max_result_bytes} bytes)")
    stopped = 0
    for name, query in ADVERSARIAL.items():
        start = time.perf_counter()
        status, body, headers = http(url, query, "direct", timeout=limit_s + 60)
        seconds = time.perf_counter() - start
        bounded = (status in (200, 400, 413, 503) and seconds <= limit_s + 5
                   and len(body) <= 4 * LIMITS.max_result_bytes)
        stopped += bounded
        said = (json.loads(body).get("error", "") if status != 200 else
                f"cut at {headers.get('X-Graphsvc-Truncated-By')}"
                if "X-Graphsvc-Truncated" in headers else "answered")
        print(f"  {name:<30} {status} {seconds:6.2f} s {len(body):>10} B  {said[:70]}",
              flush=True)
    peak.stop.set()
    print(f"  adversarial queries {len(ADVERSARIAL)} / stopped within limits {stopped} / "
          f"peak memory of a query process {peak.kib // 1024} MiB "
          f"(limit {LIMITS.query_memory_mb} MiB)")


def healthz_under_load(url: str) -> None:
    heavy = ADVERSARIAL["cartesian count"]
    answers: list[tuple[int, dict]] = []
    clients = [threading.Thread(target=lambda: answers.append(http(url, heavy, "direct")[::2]))
               for _ in range(10)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # all ten have arrived
    waits = []
    for _ in range(5):
        start = time.perf_counter()
        urllib.request.urlopen(url + "/healthz").read()
        waits.append((time.perf_counter() - start) * 1000)
    for client in clients:
        client.join()
    busy = sum(1 for status, headers in answers if status == 503 and "Retry-After" in headers)
    print(f"/healthz while 10 heavy queries arrive: slowest of 5 {max(waits):.1f} ms; "
          f"{busy} of 10 turned away at once with 503 + Retry-After")


def main() -> None:
    listener = Listener()
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "store"
        with EmbeddedStore(store_dir) as store:
            init_store(store, max_bytes=10**9)
        with oxigraph_server(Path(tmp) / "ox") as base, \
                served(["--store", str(store_dir)]) as url:
            remote = RemoteStore(base + "/query", base + "/update", base + "/store")
            remote.write({"urn:g": [(URIRef("urn:s"), URIRef("urn:p"), Literal("o"))]})
            egress(url, store_dir, remote, listener)
            adversarial(url)
            healthz_under_load(url)


if __name__ == "__main__":
    main()
