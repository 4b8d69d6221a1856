"""Running users' SPARQL where it can be stopped.

Neither Oxigraph nor rdflib can interrupt a running query, so /sparql queries run in
child processes (spawned, never forked: the store's threads do not survive a fork),
started at the first query, each reading the store's newest published view (it moves to
a newer one by itself: a write restarts nothing), with an address-space limit and, on
the embedded store, no network (:mod:`graphsvc.store.sandbox`). A query that passes the
time limit has its process killed and replaced; a process that dies (out of memory) or
does not start is replaced too, and the request gets a 503 that says so. Answers stop
at the row and byte limits.

In front of the processes a bounded queue: when it is full, a request is answered 503
with Retry-After at once, so waiting queries never hold all of the web server's
threads (/healthz and the pages answer meanwhile).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import queue
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from graphsvc.config import Config
from graphsvc.errors import BadInput, GraphsvcError, StoreError

STARTUP_S = 60.0  # spawning a query process and opening the store


class QueryTimeout(GraphsvcError):
    """The query ran past the time limit and was stopped."""

    http_status = 503


class QueryBusy(GraphsvcError):
    """Every query process is busy and the queue in front of them is full."""

    http_status = 503

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, where="query queue")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Answer:
    kind: str  # rows, graph or boolean
    variables: list[str]
    rows: list[tuple[Any, ...]]  # rows, or triples for a graph
    boolean: bool = False
    truncated: str = ""  # "rows" or "bytes" when the answer was cut at that limit


def _serve(conn: Connection, config: Config) -> None:
    """The child: open the store read-only, answer queries until told to stop. Its
    address space is the query's limit and room for two in-memory copies of the store
    (the current view's and the next one's, while it is made): a Rust allocation that
    fails under the limit stops the process, and that must be the query's doing."""
    from graphsvc.store.embedded import copy_room_mb

    copies_mb = 0 if config.remote else copy_room_mb(config.memory_copy_quads)
    _limit_memory(config.query_memory_mb + copies_mb if config.query_memory_mb else 0)
    try:
        from graphsvc.store import open_store
        from graphsvc.store.sandbox import without_network

        store = open_store(config, read_only=True, keep_answers=False, serving=True)
    except Exception as exc:  # reported to the parent, which replaces this process
        conn.send(("failed", str(exc)))
        return
    conn.send(("ready", None))  # the time limit counts from here, not from the spawn
    while True:
        sparql = conn.recv()
        if sparql is None:
            return
        try:
            if config.remote:  # the endpoint is reached over the network
                conn.send(("ok", _answer(store, sparql, config)))
            else:
                conn.send(("ok", without_network(_answer, store, sparql, config)))
        except GraphsvcError as exc:
            conn.send(("error", (type(exc).__name__, exc.message, exc.where)))
        except MemoryError:  # the process is not trusted with another query
            conn.send(("error", ("MemoryError", _memory_message(config), None)))
            return
        except Exception as exc:  # the engine's own errors: report, keep serving
            conn.send(("error", ("StoreError", f"query failed: {exc}", None)))


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a process that dies leaves no core


def _memory_message(config: Config) -> str:
    return (f"the query needed more memory than the limit of {config.query_memory_mb} MiB "
            "and was stopped")


def _answer(store: Any, sparql: str, config: Config) -> Answer:
    """Run the query; cut the answer at the row limit, then at the byte limit."""
    from graphsvc.store import Rows, term_bytes

    max_rows, max_bytes = config.max_result_rows, config.max_result_bytes
    result = store.query(sparql, limit=max_rows + 1, max_bytes=max_bytes)  # one more: cut
    if isinstance(result, bool):
        return Answer("boolean", [], [], boolean=result)
    kind, variables, items = (("rows", result.variables, result.rows)
                              if isinstance(result, Rows) else ("graph", [], list(result)))
    kept: list[tuple[Any, ...]] = []
    size = 0
    for item in items[:max_rows]:
        size += term_bytes(item)
        if size > max_bytes:
            return Answer(kind, variables, kept, truncated="bytes")
        kept.append(item)
    return Answer(kind, variables, kept, truncated="rows" if len(items) > max_rows else "")


class _Worker:
    def __init__(self, config: Config) -> None:
        context = mp.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, config), daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> None:
        """StoreError if the process could not open the store, EOFError if it died."""
        if self.ready:
            return
        if not self.conn.poll(STARTUP_S):
            raise StoreError(f"a query process did not start within {STARTUP_S:g} s")
        status, detail = self.conn.recv()
        if status != "ready":
            raise StoreError(f"a query process could not open the store: {detail}")
        self.ready = True

    def death(self, config: Config) -> str:
        """Why the process ended, in words."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and -code in (signal.SIGABRT, signal.SIGKILL, signal.SIGBUS):
            return (f"the query process stopped ({signal.Signals(-code).name}): the "
                    f"query probably needed more than the memory limit of "
                    f"{config.query_memory_mb} MiB")
        return f"the query process stopped unexpectedly (exit code {code})"

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QueryPool:
    """A few query processes, started at the first query; a caller borrows one for one
    query."""

    def __init__(self, config: Config, *, size: int = 2) -> None:
        self.config = config
        self.size = size
        self._idle: queue.Queue[_Worker | None] = queue.Queue()  # None: closing
        self._slots = threading.BoundedSemaphore(size + config.query_queue)
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._started = False
        self._closed = False

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        for _ in range(self.size):
            self._add()

    def _add(self) -> None:
        if self._closed:
            return
        worker = _Worker(self.config)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        self._add()

    def run(self, sparql: str) -> Answer:
        """The answer of one query, or a 503 error (busy, stopped, process lost)."""
        retry = math.ceil(self.config.query_timeout_s)
        if not self._slots.acquire(blocking=False):
            raise QueryBusy(f"{self.size} queries are running and {self.config.query_queue} "
                            f"waiting, the most allowed; try again in {retry} s",
                            retry_after_s=retry)
        try:
            self._start()
            return self._ask(self._ready_worker(retry), sparql)
        finally:
            self._slots.release()

    def _ready_worker(self, retry: int) -> _Worker:
        """An idle process that has opened the store. One that could not (its open raced
        a writer's recovery, or it died) is replaced, and the next one tried once."""
        problem = ""
        for _ in range(2):
            try:
                worker = self._idle.get(timeout=self.config.query_timeout_s)
            except queue.Empty:
                raise QueryBusy(f"no query process became free within {retry} s; try "
                                "again", retry_after_s=retry) from None
            if worker is None:
                raise StoreError("the service is stopping")
            try:
                if not worker.process.is_alive():  # killed while idle
                    raise EOFError
                worker.wait_ready()
                return worker
            except StoreError as exc:
                problem = exc.message
            except (EOFError, OSError):
                problem = worker.death(self.config)
            self._replace(worker)
        raise StoreError(problem)

    def _ask(self, worker: _Worker, sparql: str) -> Answer:
        timeout = self.config.query_timeout_s
        try:
            worker.conn.send(sparql)
            if not worker.conn.poll(timeout):
                self._replace(worker)
                raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
            status, payload = worker.conn.recv()
        except (EOFError, OSError):  # it died: out of memory?
            message = "the service is stopping" if self._closed else worker.death(self.config)
            self._replace(worker)
            raise StoreError(message) from None
        kind, message, where = payload if status == "error" else ("", "", None)
        if kind == "MemoryError":
            self._replace(worker)
        else:
            self._idle.put(worker)
        if status == "ok":
            return payload
        if kind in ("BadInput", "TooLarge"):
            raise BadInput(message, where=where)
        raise StoreError(message, where=where)

    def _take_idle(self) -> list[_Worker]:
        taken: list[_Worker] = []
        with contextlib.suppress(queue.Empty):
            while True:
                worker = self._idle.get_nowait()
                if worker is not None:
                    taken.append(worker)
        return taken

    def pids(self) -> list[int]:
        """The query processes' ids (to watch their memory, or to test their loss)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def close(self) -> None:
        """Stop every process. Requests waiting for one get a 503 at once; a request
        whose query runs sees its process end (and closes its pipe itself)."""
        self._closed = True
        idle = self._take_idle()
        with self._lock:
            busy = [w for w in self._all if w not in idle]
        for worker in idle:
            if worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            worker.stop()
        for worker in busy:
            if worker.process.is_alive():
                worker.process.kill()
        for _ in range(self.size + self.config.query_queue):
            self._idle.put(None)
