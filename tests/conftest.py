"""Shared fixtures: real stores on every backend (embedded, a real Oxigraph server, a real
Virtuoso, each started once per session on 127.0.0.1), the CLI."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphsvc.store import Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore
from graphsvc.store.server import oxigraph_server as start_oxigraph
from graphsvc.store.server import virtuoso_server as start_virtuoso

ROOT = Path(__file__).resolve().parent.parent
# The real catalogs, SSPs and crosswalks the tests read (never copied into the project):
# GRAPHSVC_TEST_DATA, by default ../shared/data beside the project: the one setting. Tests
# reach it through the shared_data fixture, or need_shared_data() and then SHARED_DATA;
# both skip, saying what to set, when it is not there.
SHARED_DATA = Path(os.environ.get("GRAPHSVC_TEST_DATA") or ROOT.parent / "shared" / "data")
NO_SHARED_DATA = (f"needs the test data, not found at {SHARED_DATA}: set GRAPHSVC_TEST_DATA "
                  "to the folder holding the shared data (see the README, 'Tests')")


def need_shared_data() -> Path:
    """The test data folder, or skip the test saying how to provide it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(NO_SHARED_DATA)
    return SHARED_DATA


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph server on 127.0.0.1, shared by the session."""
    with start_oxigraph(tmp_path_factory.mktemp("oxigraph-server")) as url:
        yield url


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Virtuoso open source on 127.0.0.1, shared by the session."""
    need_virtuoso()
    with start_virtuoso(tmp_path_factory.mktemp("virtuoso")) as url:
        yield url


def need_virtuoso() -> None:
    """Skip, saying what to install, where Virtuoso is not installed."""
    if shutil.which("virtuoso-t") is None:
        pytest.skip("needs Virtuoso open source: apt-get install virtuoso-opensource "
                    "(.ci/run installs it)")


def remote_store(base_url: str) -> RemoteStore:
    return RemoteStore(base_url + "/query", base_url + "/update", base_url + "/store")


def virtuoso_store(base_url: str) -> RemoteStore:
    """(Moving a large staging graph into place takes Virtuoso a minute on a busy
    machine: a longer limit than the default's.)"""
    return RemoteStore(base_url + "/sparql", base_url + "/sparql",
                       base_url + "/sparql-graph-crud", timeout_s=300)


def emptied(store: RemoteStore) -> RemoteStore:
    """A server shared by the session, without the graphs earlier tests left (ours
    only: Virtuoso's own graphs are private to the SPARQL user)."""
    store.drop(store.graph_names())
    return store


BACKENDS = ["embedded", "remote", "virtuoso"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store on each backend: in-memory Oxigraph, the Oxigraph server and
    Virtuoso."""
    if request.param == "embedded":
        with EmbeddedStore() as s:
            yield s
    elif request.param == "remote":
        yield emptied(remote_store(request.getfixturevalue("oxigraph_server")))
    else:
        yield emptied(virtuoso_store(request.getfixturevalue("virtuoso")))


@pytest.fixture
def shared_data() -> Path:
    return need_shared_data()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Say last how many tests were skipped and why, each reason once: a newcomer sees
    what to install or set (the short summary above lists them test by test)."""
    yield
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reasons[longrepr[2].removeprefix("Skipped: ") if isinstance(longrepr, tuple)
                else str(longrepr)] += 1
    if reasons:
        terminalreporter.section(f"{sum(reasons.values())} tests skipped")
        for reason, count in reasons.most_common():
            terminalreporter.write_line(f"{count:>4}  {reason}")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI against a fresh on-disk store in tmp_path."""
    monkeypatch.setenv("GRAPHSVC_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("GRAPHSVC_REMOTE", raising=False)
    return CliRunner()


@pytest.fixture(scope="session")
def loaded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """A second Oxigraph server holding what `graphsvc init` loads, written once: loading
    it over the Graph Store Protocol per test would cost seconds each."""
    from graphsvc.content import init_store

    with start_oxigraph(tmp_path_factory.mktemp("oxigraph-loaded")) as url:
        store = remote_store(url)
        init_store(store, max_bytes=10**8)
        yield store


@pytest.fixture(scope="session")
def loaded_virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """A second Virtuoso holding what `graphsvc init` loads, written once."""
    from graphsvc.content import init_store

    need_virtuoso()

    with start_virtuoso(tmp_path_factory.mktemp("virtuoso-loaded")) as url:
        store = virtuoso_store(url)
        init_store(store, max_bytes=10**8)
        yield store


@pytest.fixture(scope="session")
def loaded_embedded() -> Iterator[EmbeddedStore]:
    """An in-memory embedded store holding what `graphsvc init` loads, written once
    (7 s each time: it was most of the suite's setup)."""
    from graphsvc.content import init_store

    with EmbeddedStore() as store:
        init_store(store, max_bytes=10**8)
        yield store


@pytest.fixture(params=BACKENDS)
def loaded(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store with the shipped content (init) on each backend, shared by the session:
    tests that add graphs must drop them again (tests/helpers.py: drop_added)."""
    store = request.getfixturevalue({"embedded": "loaded_embedded", "remote": "loaded_server",
                                     "virtuoso": "loaded_virtuoso"}[request.param])
    before = {g.iri: g.triples for g in store.graphs()}
    yield store
    after = {g.iri: g.triples for g in store.graphs()}
    changed = set(after.items()) ^ set(before.items())
    assert not changed, f"the test left the shared store changed: {changed}"


@pytest.fixture(scope="session")
def served_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An on-disk embedded store with what `graphsvc init` loads, for the web tests
    (the web's query processes open it read-only, so it cannot live in memory)."""
    from graphsvc.content import init_store

    path = tmp_path_factory.mktemp("served") / "store"
    with EmbeddedStore(path) as s:
        init_store(s, max_bytes=10**8)
    return path


@pytest.fixture(scope="module", params=["embedded", "remote"])
def web_config(request: pytest.FixtureRequest):
    """The web app's configuration on each backend (both already loaded)."""
    from graphsvc.config import Config

    if request.param == "embedded":
        return Config(store=request.getfixturevalue("served_store"), load_token="s3cret")
    server = request.getfixturevalue("loaded_server")
    return Config(remote=server.query_url, remote_update=server.update_url,
                  remote_gsp=server.gsp_url, load_token="s3cret")


@pytest.fixture(scope="module")
def app(web_config):
    from graphsvc.web import close_app, create_app

    application = create_app(web_config)
    yield application
    close_app(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def live_url(app) -> Iterator[str]:
    """The app under waitress on a free port of 127.0.0.1, in a thread."""
    import threading

    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
