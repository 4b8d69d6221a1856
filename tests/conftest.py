"""Shared fixtures: real stores on both backends, a real Oxigraph server, the CLI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphsvc.store import Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str:
    """The `oxigraph` CLI from the PyPI package, installed beside this Python."""
    beside = Path(sys.executable).with_name("oxigraph")
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        pytest.fail("the `oxigraph` server is not installed: pip install -e '.[test]'")
    return found


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph server on 127.0.0.1, union default graph like the embedded store."""
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    process = subprocess.Popen(
        [oxigraph_binary(), "serve", "--location", str(location),
         "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"oxigraph server did not start: {process.stderr.read().decode()}")
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def remote_store(base_url: str) -> RemoteStore:
    return RemoteStore(base_url + "/query", base_url + "/update", base_url + "/store")


@pytest.fixture(params=["embedded", "remote"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store on each backend: in-memory Oxigraph, and the Oxigraph server."""
    if request.param == "embedded":
        with EmbeddedStore() as s:
            yield s
    else:
        s = remote_store(request.getfixturevalue("oxigraph_server"))
        s._update("DROP ALL")  # the server is shared by the session; start empty
        yield s


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI against a fresh on-disk store in tmp_path."""
    monkeypatch.setenv("GRAPHSVC_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("GRAPHSVC_REMOTE", raising=False)
    return CliRunner()
