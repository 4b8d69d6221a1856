"""``graphsvc serve``: several serving processes over one listening socket, one writer.

The first process opens the store read-write and is its one writer; it serves requests
too, and starts the others (spawned, never forked). Every process answers reads from
the store's newest published view (:mod:`graphsvc.store.views`) and keeps its own
answers until that view changes, so a write is seen by every process as soon as it
returns. A write (loading a control set, dropping graphs) received by another process is
sent to the writer over a pipe and answered from there: one write at a time, through
:func:`graphsvc.writes.commit`, whichever process the request reached.

The writer replaces a serving process that dies; a serving process whose writer has gone
stops. SIGTERM stops them all, within STOP_GRACE_S whatever a request is doing.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from graphsvc import errors
from graphsvc.config import Config
from graphsvc.errors import GraphsvcError, StoreError
from graphsvc.store import Store, Triple

STOP_GRACE_S = 20.0  # after SIGTERM, the most a clean stop may take
STARTUP_S = 60.0  # the most serve waits for its serving processes before it says so
READY = "ready"  # what a serving process says once it can answer
RESTART_PAUSE_S = 1.0  # between a serving process's death and its replacement
log = logging.getLogger(__name__)


class Writes:
    """Where a serving process writes: here, in the process that holds the store's
    writer, one write at a time."""

    def __init__(self, store: Store, *, owns_store: bool = False) -> None:
        self.store = store
        self._owns = owns_store
        self._lock = threading.Lock()

    def commit(self, graphs: Mapping[str, list[Triple]], *, replace: bool = True,
               drop: Iterable[str] = ()) -> None:
        from graphsvc.writes import commit

        with self._lock:
            commit(self.store, graphs, replace=replace, drop=drop)

    def drop(self, names: Iterable[str]) -> list[str]:
        """Drop named graphs, all or none (an unknown one is a NotFound)."""
        from graphsvc.writes import drop_graphs

        with self._lock:
            return drop_graphs(self.store, names)

    def answer(self, request: tuple[str, tuple[Any, ...], dict[str, Any]]) -> tuple[str, Any]:
        """A write another serving process sent: ("ok", result) or ("error", details)."""
        what, args, kwargs = request
        try:
            return "ok", getattr(self, what)(*args, **kwargs)
        except GraphsvcError as exc:
            return "error", (type(exc).__name__, exc.message, exc.where)
        except Exception as exc:  # reported there as a failed write, logged here
            log.exception("write from a serving process failed")
            return "error", ("StoreError", f"write failed: {type(exc).__name__}", None)

    def close(self, timeout: float = STOP_GRACE_S) -> None:
        """Wait for a write under way, then close the store if it is ours."""
        if self._lock.acquire(timeout=timeout) and self._owns:
            self.store.close()


class ForwardedWrites(Writes):
    """In a serving process that is not the writer: each write goes to the writer."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def commit(self, graphs: Mapping[str, list[Triple]], *, replace: bool = True,
               drop: Iterable[str] = ()) -> None:
        self._ask("commit", dict(graphs), replace=replace, drop=list(drop))

    def drop(self, names: Iterable[str]) -> list[str]:
        return self._ask("drop", list(names))

    def _ask(self, what: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((what, args, kwargs))
                status, payload = self._conn.recv()
            except (EOFError, OSError):
                raise StoreError("the writer process has stopped; the write was not "
                                 "acknowledged") from None
        if status == "ok":
            return payload
        kind, message, where = payload
        error = getattr(errors, kind, None)
        if not (isinstance(error, type) and issubclass(error, GraphsvcError)):
            error = StoreError
        raise error(message, where=where)

    def close(self, timeout: float = STOP_GRACE_S) -> None:
        self._conn.close()


def serve(config: Config, *, host: str, port: int, threads: int, workers: int) -> None:
    """Serve until SIGTERM or Ctrl-C: this process and ``workers - 1`` others."""
    import waitress

    from graphsvc.web import close_app, create_app

    listening = _listen(host, port)
    pool_size = max(1, 2 // workers)  # query processes per serving process
    app = create_app(config, pool_size=pool_size)
    others = _Others(config, listening, threads, pool_size,
                     app.extensions["graphsvc"].writes)
    signal.signal(signal.SIGTERM, _stop)
    try:
        others.start(workers - 1)
        others.wait_ready()
        print(f"graphsvc serving on http://{host}:{listening.getsockname()[1]}/ with "
              f"{workers} process{'es' if workers > 1 else ''} "
              f"(store: {config.remote or config.store_dir})", file=sys.stderr, flush=True)
        waitress.serve(app, sockets=[listening], threads=threads, ident="graphsvc",
                       clear_untrusted_proxy_headers=True)
    finally:
        others.stop()
        close_app(app)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=1024)


def _stop(*_: object) -> None:
    """SIGTERM: stop cleanly, or at the latest after STOP_GRACE_S."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    timer = threading.Timer(STOP_GRACE_S, os._exit, (1,))
    timer.daemon = True
    timer.start()
    raise SystemExit(0)


class _Others:
    """The serving processes besides this one, and the threads that do their writes."""

    def __init__(self, config: Config, listening: socket.socket, threads: int,
                 pool_size: int, writes: Writes) -> None:
        self._args = (config, listening, threads, pool_size)
        self._writes = writes
        self._processes: dict[int, mp.Process] = {}
        self._lock = threading.Lock()
        self._ready = threading.Semaphore(0)
        self._stopping = False

    def start(self, count: int) -> None:
        for slot in range(count):
            self._spawn(slot)

    def wait_ready(self) -> None:
        """Until each process has opened the store and listens (or STARTUP_S passed)."""
        deadline = time.monotonic() + STARTUP_S
        for _ in range(len(self._processes)):
            if not self._ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                log.warning("not every serving process started within %s s", STARTUP_S)
                return

    def _spawn(self, slot: int) -> None:
        context = mp.get_context("spawn")
        conn, child_conn = context.Pipe()
        process = context.Process(target=_serving_process, args=(*self._args, child_conn),
                                  name=f"graphsvc-serve-{slot + 2}")
        with self._lock:
            if self._stopping:
                return
            process.start()
            self._processes[slot] = process
        child_conn.close()
        threading.Thread(target=self._answer, args=(slot, process, conn), daemon=True,
                         name=f"graphsvc-writes-{slot + 2}").start()

    def _answer(self, slot: int, process: mp.Process, conn: Connection) -> None:
        """Do the writes one serving process sends, until it ends; then replace it."""
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                break
            if request == READY:
                self._ready.release()
                continue
            try:
                conn.send(self._writes.answer(request))
            except (OSError, ValueError):
                break
        conn.close()
        process.join()
        if not self._stopping:
            log.warning("serving process %s ended (exit code %s); starting another",
                        process.pid, process.exitcode)
            time.sleep(RESTART_PAUSE_S)
            self._spawn(slot)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            processes = list(self._processes.values())
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S / 2
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def _serving_process(config: Config, listening: socket.socket, threads: int,
                     pool_size: int, conn: Connection) -> None:
    """A serving process that is not the writer: reads here, writes through ``conn``."""
    import waitress

    from graphsvc.store import open_store
    from graphsvc.web import close_app, create_app

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the writer, which stops us
    _watch_parent(os.getppid())
    store = open_store(config, read_only=True)
    app = create_app(config, store=store, writes=ForwardedWrites(conn), pool_size=pool_size)
    conn.send(READY)
    try:
        waitress.serve(app, sockets=[listening], threads=threads, ident="graphsvc",
                       clear_untrusted_proxy_headers=True, _quiet=True)
    finally:
        close_app(app)
        store.close()


def _watch_parent(parent: int) -> None:
    """Stop when the writer process has gone (killed with -9, say)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="graphsvc-parent-watch").start()
