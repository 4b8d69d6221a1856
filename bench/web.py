"""``python -m bench.web [--workers 1,2]``: the web service as it runs in production
(``graphsvc serve``, waitress, its own processes) on the embedded store and on a real
Oxigraph server, both with what ``graphsvc init`` loads, once per number of serving
processes. For each: one client asking a named question in a loop (p50, p99), then wrk
with 8 connections for 10 s (requests/s, p50, p99): the same question (each serving
process keeps the answer until the store changes) and the question with a new ``as_of``
each time (evaluated every time); a bare ``/healthz`` under the same load is the
baseline of the same run. Each line also gives the service's CPU time per request
(all its processes), which the machine's other work changes far less than requests/s.
Then the fresh question's requests/s against one process, and the memory of the
service's processes (before any /sparql query, and after the run). Last, ``/sparql``
with a new query text each request (the guard's scan and the engine's parse every
time), against the Oxigraph server's own ``/query`` given the same texts.
Needs ``wrk`` (Debian package)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import arguments, median_ms
from graphsvc.content import init_store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore
from graphsvc.store.server import free_port, oxigraph_server

QUESTION = "/api/questions/inheritance"


@contextmanager
def served(args: list[str], workers: int) -> Iterator[tuple[str, int]]:
    """The service's URL and process id, ready (every serving process answered)."""
    port = free_port()
    graphsvc = str(Path(sys.executable).parent / "graphsvc")
    process = subprocess.Popen([graphsvc, *args, "serve", "--port", str(port),
                                "--workers", str(workers)], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for line in process.stderr:  # its banner comes once every process is ready
            if "serving on" in line:
                break
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep it flowing
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def tree(pid: int) -> list[int]:
    """A process and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            todo += [int(c) for c in children]
    return found


def rss_mb(pid: int) -> tuple[float, int]:
    """Resident memory of a process and its descendants (MB), and how many they are."""
    total, pids = 0, tree(pid)
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total / 1024, len(pids)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


# every request another as_of day (33,600 of them): no answer is reused (LuaJIT: no //)
FRESH_DAYS = """
local n = math.random(0, 33599)  -- each thread its own start
request = function()
  n = n + 1
  local day = string.format("%04d-%02d-%02d", 2000 + math.floor(n / 336) % 100,
                            1 + math.floor(n / 28) % 12, 1 + n % 28)
  return wrk.format("GET", wrk.path .. "?as_of=" .. day)
end
"""


# every request a new query text (an analyst's listing, paged): no parse or answer reused
NEW_TEXTS = """
local n = math.random(0, 99999)
local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  n = n + 1
  local q = "PREFIX gc: <https://w3id.org/graphsvc/compliance#> SELECT ?control ?title "
         .. "WHERE { ?control a gc:Control ; gc:title ?title } ORDER BY ?control LIMIT "
         .. (1 + n % 50) .. " OFFSET " .. (n % 300)
  return wrk.format("GET", wrk.path .. "?query=" .. encode(q),
                    {["Accept"] = "application/sparql-results+json"})
end
"""


def cpu_s(pid: int) -> float:
    """CPU seconds a process and its descendants have used (user + system)."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(") ", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(url: str, script: str | None = None, seconds: int = 10
        ) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, requests) with 8 connections on 2 threads."""
    extra = []
    if script:
        path = Path(tempfile.mkdtemp()) / "script.lua"
        path.write_text(script)
        extra = ["-s", str(path)]
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", *extra, url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out:
        raise AssertionError(f"errors under load:\n{out}")
    return rate, ms("50"), ms("99"), int(re.search(r"(\d+) requests in", out).group(1))


def warm_up(url: str, script: str | None = None) -> None:
    """Load for a few seconds before measuring: meanwhile every process makes its
    in-memory copy of the store (in the background), so the figures are of the steady
    state, not of the first seconds after a start or a write."""
    wrk(url, script, seconds=3)


def measure(label: str, url: str, pid: int, repeats: int) -> float:
    """Prints the figures, with the service's CPU time per request (what the machine's
    other work does not change much); returns the fresh question's requests/s."""
    warm_up(url + QUESTION)
    times = [median_ms(lambda: fetch(url + QUESTION), 1)[0] for _ in range(repeats)]
    times.sort()
    p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:<13} one client, {QUESTION}: p50 {p50:6.2f} ms, p99 {p99:6.2f} ms",
          flush=True)
    for path, script, note in (("/healthz", None, ""), (QUESTION, None, "same answer"),
                               (QUESTION, FRESH_DAYS, "new as_of each time")):
        before = cpu_s(pid)
        rate, w50, w99, count = wrk(url + path, script)
        cpu_ms = (cpu_s(pid) - before) * 1000 / count
        print(f"{label:<13} 8 clients, {path:<27} {note:<20} {rate:8.0f} req/s, "
              f"p50 {w50:6.2f} ms, p99 {w99:6.2f} ms, CPU {cpu_ms:5.2f} ms/request",
              flush=True)
    return rate


def sweep(label: str, args: list[str], workers: list[int], repeats: int) -> None:
    fresh: dict[int, float] = {}
    for count in workers:
        with served(args, count) as (url, pid):
            idle, processes = rss_mb(pid)
            fresh[count] = measure(f"{label} w={count}", url, pid, repeats)
            fetch(url + "/sparql?query=ASK%7B%7D")  # the query processes start now
            used, after = rss_mb(pid)
        print(f"{label} w={count}: memory {idle:.0f} MB in {processes} processes ready, "
              f"{used:.0f} MB in {after} after the run and one /sparql query", flush=True)
    first = fresh[workers[0]]
    print(f"{label}: fresh question, requests/s against {workers[0]} process(es): " + ", ".join(
        f"w={count} {rate / first:.2f}x" for count, rate in fresh.items()), flush=True)


def main() -> None:
    args = arguments(__doc__, repeats=500, workers="1,2", flags={
        "--sparql-only": "only /sparql with new texts against the Oxigraph server"})
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        with EmbeddedStore(Path(tmp) / "store") as store:
            init_store(store, max_bytes=10**9)
        if not args.sparql_only:
            sweep("embedded", ["--store", str(Path(tmp) / "store")], args.workers,
                  args.repeats)
        with oxigraph_server(Path(tmp) / "ox") as base:
            init_store(RemoteStore(base + "/query", base + "/update", base + "/store"),
                       max_bytes=10**9)
            if not args.sparql_only:
                sweep("remote", ["--remote", base + "/query"], args.workers, args.repeats)
            new_texts(["--store", str(Path(tmp) / "store")], base, args.workers)


def new_texts(args: list[str], server: str, workers: list[int]) -> None:
    """``/sparql`` with a new text each request against the Oxigraph server's endpoint.
    The queue before the query processes holds the 8 clients (its default, 4, answers
    the rest 503 at once: the service's protection, not what this measures)."""
    os.environ["GRAPHSVC_QUERY_QUEUE"] = "8"
    rate, w50, w99, _ = wrk(server + "/query", NEW_TEXTS)
    print(f"Oxigraph server /query, a new text each request: {rate:8.0f} req/s, "
          f"p50 {w50:6.2f} ms, p99 {w99:6.2f} ms", flush=True)
    for count in workers:
        with served(args, count) as (url, _pid):
            fetch(url + "/sparql?query=ASK%7B%7D")  # the query processes start now
            warm_up(url + "/sparql", NEW_TEXTS)
            ours, w50, w99, _ = wrk(url + "/sparql", NEW_TEXTS)
        print(f"embedded w={count} /sparql, a new text each request: {ours:8.0f} req/s, "
              f"p50 {w50:6.2f} ms, p99 {w99:6.2f} ms ({rate / ours:.2f}x the server's time)",
              flush=True)


if __name__ == "__main__":
    main()
