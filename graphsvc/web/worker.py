"""Running users' SPARQL where it can be stopped.

Neither Oxigraph nor rdflib can interrupt a running query, so /sparql queries run in
child processes (spawned, never forked: the store's threads do not survive a fork),
each with its own read-only view of the store. A query that passes the time limit has
its process killed and replaced; the web process itself never blocks past the limit.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
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


@dataclass(frozen=True)
class Answer:
    kind: str  # rows, graph or boolean
    variables: list[str]
    rows: list[tuple[Any, ...]]  # rows, or triples for a graph
    boolean: bool = False
    truncated: bool = False


def _serve(conn: Connection, config: Config, max_rows: int) -> None:
    """The child: open the store read-only, answer queries until told to stop."""
    from rdflib import Graph

    from graphsvc.store import Rows, open_store

    store = open_store(config, read_only=True)
    conn.send("ready")  # the time limit counts from here, not from the spawn
    while True:
        sparql = conn.recv()
        if sparql is None:
            return
        try:
            result = store.query(sparql, limit=max_rows + 1)  # one more tells "cut"
            if isinstance(result, Rows):
                answer = Answer("rows", result.variables, result.rows[:max_rows],
                                truncated=len(result.rows) > max_rows)
            elif isinstance(result, Graph):
                triples = list(result)
                answer = Answer("graph", [], triples[:max_rows],
                                truncated=len(triples) > max_rows)
            else:
                answer = Answer("boolean", [], [], boolean=bool(result))
            conn.send(("ok", answer))
        except GraphsvcError as exc:
            conn.send(("error", (type(exc).__name__, exc.message, exc.where)))
        except Exception as exc:  # the engine's own errors: report, keep serving
            conn.send(("error", ("StoreError", f"query failed: {exc}", None)))


class _Worker:
    def __init__(self, config: Config, max_rows: int) -> None:
        context = mp.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, config, max_rows),
                                       daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready:
            if not self.conn.poll(STARTUP_S) or self.conn.recv() != "ready":
                raise StoreError("a query process did not start")
            self.ready = True

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QueryPool:
    """A few query processes; a caller borrows one for one query."""

    def __init__(self, config: Config, *, size: int = 2) -> None:
        self.config = config
        self.size = size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        worker = _Worker(self.config, self.config.max_result_rows)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def run(self, sparql: str) -> Answer:
        timeout = self.config.query_timeout_s
        try:
            worker = self._idle.get(timeout=timeout + STARTUP_S)
            worker.wait_ready()
        except queue.Empty:
            raise QueryTimeout(f"all query workers are busy; try again (limit {timeout:g} s)"
                               ) from None
        worker.conn.send(sparql)
        if not worker.conn.poll(timeout):
            self._retire(worker)
            self._add()
            raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
        try:
            status, payload = worker.conn.recv()
        except EOFError:  # the process died (out of memory?)
            self._retire(worker)
            self._add()
            raise StoreError("the query process stopped unexpectedly") from None
        self._idle.put(worker)
        if status == "error":
            kind, message, where = payload
            raise (BadInput if kind in ("BadInput", "TooLarge") else StoreError)(
                message, where=where)
        return payload

    def refresh(self) -> None:
        """After a write: replace every process so each opens the store anew."""
        for _ in range(self.size):
            worker = self._idle.get()
            self._retire(worker)
            self._add()

    def close(self) -> None:
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            if worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            worker.stop()
