"""Published views of the embedded store: how readers see every write without ever
opening the writer's files.

After each write the one writer publishes a view: a RocksDB checkpoint of its store in
``STORE/views/NAME`` (its files hard-linked, its memory flushed first, so a view has no
log to replay), then points the symbolic link ``STORE/views/current`` at it (replaced in
one rename). A reader opens the view ``current`` names, read-only, and moves to a newer
one at its next query: it sees a write as soon as the writer has returned from it.

While a reader has a view open it holds a shared lock (flock) on the view's directory;
the writer removes an old view only when it gets the exclusive lock, so no view goes
away under a reader, and a reader killed with -9 gives its lock up with its process.
Readers never replay the writer's log (after a crash only the writer recovers, once)
and never race its recovery.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

import pyoxigraph as ox

VIEWS = "views"
CURRENT = "current"
_TMP = ".tmp"


class View:
    """One published view, open read-only, and the lock that keeps it on disk while
    this object lives (the last query holding it may outlive a move to a newer view)."""

    def __init__(self, name: str, store: ox.Store, lock: int) -> None:
        self.name = name
        self.store: ox.Store | None = store
        self._lock = lock

    def __del__(self) -> None:
        self.store = None  # Oxigraph closes its files first, then the lock goes
        with contextlib.suppress(OSError):
            os.close(self._lock)


def newest(path: Path) -> str | None:
    """The name of the newest published view (one system call), or None."""
    try:
        return os.readlink(path / VIEWS / CURRENT)
    except (FileNotFoundError, NotADirectoryError):
        return None


def open_newest(path: Path) -> View | None:
    """The newest view, open and locked; None when nothing is published yet."""
    for _ in range(100):  # the writer may publish and remove views meanwhile
        name = newest(path)
        if name is None:
            return None
        directory = path / VIEWS / name
        try:
            lock = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            continue
        fcntl.flock(lock, fcntl.LOCK_SH)  # waits while the writer removes it
        if not (directory / "CURRENT").is_file():  # removed before we had the lock
            os.close(lock)
            continue
        try:
            return View(name, ox.Store.read_only(str(directory)), lock)
        except BaseException:
            os.close(lock)
            raise
    raise OSError(f"no published view of {path} stayed long enough to be opened")


def publish(store: ox.Store, path: Path) -> str:
    """Publish the writer's current state as the newest view; remove views no reader
    holds. Returns the new view's name."""
    views = path / VIEWS
    views.mkdir(exist_ok=True)
    numbers = [int(n.removesuffix(_TMP)) for n in os.listdir(views)
               if n.removesuffix(_TMP).isdigit()]
    name = f"{max(numbers, default=0) + 1:012d}"
    store.backup(str(views / name))  # flushes, hard-links, then renames NAME.tmp to NAME
    link = views / f".{CURRENT}-{name}"
    os.symlink(name, link)
    os.replace(link, views / CURRENT)
    _sync(views)
    remove_unused(path)
    return name


def remove_unused(path: Path) -> None:
    """Remove the views no reader holds, all but the newest (only the writer calls this)."""
    views, keep = path / VIEWS, newest(path)
    if keep is None:
        return
    for entry in os.listdir(views):
        if entry in (keep, CURRENT):
            continue
        directory = views / entry
        if entry.startswith("."):  # a link a crash left behind
            directory.unlink(missing_ok=True)
            continue
        if entry.endswith(_TMP):  # a checkpoint a crash left half made (only we make them)
            shutil.rmtree(directory, ignore_errors=True)
            continue
        try:
            lock = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a reader still has it open
            os.close(lock)
            continue
        try:
            shutil.rmtree(directory, ignore_errors=True)
        finally:
            os.close(lock)


def _sync(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
