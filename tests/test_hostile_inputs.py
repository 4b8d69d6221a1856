"""No input gives a 5xx or a bare exception (issue 12, item 2).

A few hundred hostile files (tests/hostile.py: real documents of ../shared/data with
wrong types at every level, broken bytes, depth, size, bombs; nothing committed) go to
every upload and import path: the HTTP uploads (POST /api/validate, /api/control-sets
and the /validate page) and the CLI (load, import oscal, import crosswalk, validate).
Each must answer below 500 or exit 0-3, with a message that names the file (no
traceback), and a rejection must leave the store as it was (graphs and triple counts).
The multi-megabyte files run once per session; the limits they meet are settings.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from graphsvc.cli import main
from graphsvc.config import Config
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.importers.rdf import read_files
from graphsvc.store import Store
from graphsvc.store.embedded import EmbeddedStore
from tests.conftest import need_shared_data
from tests.helpers import control_set_turtle
from tests.hostile import Hostile, _cut, big_ntriples, corpus, heavy_corpus

TOKEN = "hostile-test-token"
FIELDS = {"file", "baseline", "framework", "as_of", "format"}  # of the upload form
CATALOG = "nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json"
NET = "is not shaped as OSCAL defines it"  # the importer's last resort: never reached
# what validate answers for a control set it could read: a report, exit 1 = violations
REPORT = re.compile(r"^Control set .*^Summary: ", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def files() -> list[Hostile]:
    found = corpus(need_shared_data(), per_base=6)
    assert len(found) >= 500 and len({f.name for f in found}) == len(found)
    return found


@pytest.fixture(scope="module")
def heavy() -> list[Hostile]:
    return heavy_corpus(need_shared_data())


def listing(store: Store) -> list[tuple[str, int]]:
    return [(g.iri, g.triples) for g in store.graphs()]


# ------------------------------------------------------------------ HTTP


@pytest.fixture(scope="module")
def web(served_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The app on a copy of the served store (with init's content: SSPs find their
    FedRAMP baselines), one query process."""
    from graphsvc.web import close_app, create_app

    path = tmp_path_factory.mktemp("hostile-web") / "store"
    shutil.copytree(served_store, path, symlinks=True)  # views/current is a link
    app = create_app(Config(store=path, load_token=TOKEN), pool_size=1)
    yield app
    close_app(app)


def post(client, url: str, f: Hostile, **form: str):
    return client.post(url, data={"file": (io.BytesIO(f.data), f.name), **form},
                       headers={"Authorization": f"Bearer {TOKEN}"})


def csrf(client) -> str:
    page = client.get("/validate").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def check_http(app, f: Hostile, page_too: bool) -> list[str]:
    """What went wrong with ``f`` on the HTTP upload paths (nothing, if all held)."""
    from graphsvc.web import services

    client, problems = app.test_client(), []
    with app.app_context():
        store = services().store
    calls = [("/api/validate", {}), ("/api/control-sets", {})]
    if page_too:
        calls.append(("/validate", {"csrf_token": csrf(client)}))
    for url, form in calls:
        before = listing(store)
        response = post(client, url, f, **form)
        status = response.status_code
        if status >= 500:
            problems.append(f"{url} {f.name} ({f.what}): {status} {response.get_data()[:300]!r}")
        if status >= 400 and listing(store) != before:
            problems.append(f"{url} {f.name}: refused with {status}, yet the store changed")
        if status >= 400 and url.startswith("/api/") and status != 413:
            body = response.get_json() or {}
            where = body.get("where", "")
            if not body.get("error") or (f.name not in where and where.lstrip("-") not in FIELDS):
                problems.append(f"{url} {f.name}: {status} does not say what and where: {body}")
    return problems


def test_uploads_are_answered_below_500_and_rejections_change_nothing(web, files) -> None:
    problems = []
    for index, f in enumerate(files):
        problems += check_http(web, f, page_too=index % 4 == 0)
    assert not problems, f"{len(problems)} not held:\n" + "\n".join(problems[:40])


def test_heavy_uploads_once(web, heavy) -> None:
    problems = []
    for f in heavy:
        problems += check_http(web, f, page_too=True)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ CLI


class CliStore:
    """An on-disk store for the CLI with a cut-down 800-53 rev5 catalog (5.0.1), so that
    profiles find their catalog and SSPs their framework; small, so that accepted imports
    stay cheap. After a command that changed it, it is put back as it was: each file
    meets the same store (and RocksDB does not pile up files to open)."""

    def __init__(self, folder: Path) -> None:
        data = need_shared_data()
        catalog = folder / "NIST_SP-800-53_rev5_catalog.json"
        catalog.write_text(json.dumps(_cut(json.loads((data / CATALOG).read_bytes()), 3)))
        self.pristine, self.path = folder / "pristine", folder / "store"
        with EmbeddedStore(self.pristine) as store:
            import_oscal(store, [catalog], max_bytes=10**8)
            self.listing = listing(store)
        shutil.copytree(self.pristine, self.path, symlinks=True)
        self.runner = CliRunner(env={"GRAPHSVC_STORE": str(self.path), "GRAPHSVC_REMOTE": ""})

    def invoke(self, args: list[str]):
        """The command's result, and whether the store is as it was after it."""
        result = self.runner.invoke(main, args)
        with EmbeddedStore(self.path, read_only=True) as store:
            unchanged = listing(store) == self.listing
        if not unchanged:
            shutil.rmtree(self.path)
            shutil.copytree(self.pristine, self.path, symlinks=True)
        return result, unchanged


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory) -> CliStore:
    return CliStore(tmp_path_factory.mktemp("hostile-cli"))


def commands(f: Hostile, path: Path, validate: bool) -> list[list[str]]:
    first = {"oscal": ["import", "oscal"], "rdf": ["load"],
             "crosswalk": ["import", "crosswalk"]}[f.kind]
    return [[*first, str(path)]] + ([["validate", str(path)]] if validate else [])


def check_cli(store: CliStore, folder: Path, f: Hostile, validate: bool,
              messages: dict[str, str]) -> list[str]:
    """What went wrong with ``f`` on the CLI (nothing, if all held); the message of each
    refusal goes to ``messages``."""
    path = folder / f.name
    path.write_bytes(f.data)
    problems = []
    for args in commands(f, path, validate):
        result, unchanged = store.invoke(args)
        said = result.output
        label = f"graphsvc {args[0]} {f.name} ({f.what})"
        if result.exit_code not in (0, 1, 2, 3):
            problems.append(f"{label}: exit {result.exit_code}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            problems.append(f"{label}: {type(result.exception).__name__}: {result.exception}")
        if "Traceback" in said:
            problems.append(f"{label}: a traceback")
        if result.exit_code == 0 or (args[0] == "validate" and REPORT.search(said)):
            continue
        if not said.startswith("error: ") or (f.name not in said and "error: --" not in said):
            problems.append(f"{label}: exit {result.exit_code} without a message naming the "
                            f"file (or the option at fault): {said[:200]!r}")
        if not unchanged:
            problems.append(f"{label}: refused, yet the store changed")
        messages[f"{args[0]} {f.name}"] = said
    path.unlink()
    return problems


@pytest.fixture(scope="module")
def cli_messages(cli_store: CliStore, files: list[Hostile],
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile-files")
    messages: dict[str, str] = {}
    problems = []
    for index, f in enumerate(cli_files(files)):
        problems += check_cli(cli_store, folder, f, f.kind != "crosswalk" and index % 3 == 0,
                              messages)
    return problems, messages


def cli_files(files: list[Hostile]) -> list[Hostile]:
    """Every file, except that bytes broken the same way (truncated, UTF-16, ...) are
    tried on one document of each kind and format only (a process opens the store for
    each: the HTTP test has them all)."""
    first: dict[str, str] = {}
    kept = []
    for f in files:
        family, _, document = f.broken.partition(" ")
        if not f.broken or first.setdefault(family, document) == document:
            kept.append(f)
    return kept


def test_cli_exits_0_to_3_with_a_message_and_rejections_change_nothing(cli_messages) -> None:
    problems, messages = cli_messages
    assert len(messages) >= 200  # refusals seen, each with its message
    assert not problems, f"{len(problems)} not held:\n" + "\n".join(problems[:40])


def test_refusals_say_where_and_the_importers_last_resort_is_never_reached(
        cli_messages) -> None:
    """A wrong type, a missing field, a cut document: the message points into the file
    (a line, or a JSON pointer), not only at it."""
    _, messages = cli_messages
    assert not [m for m in messages.values() if NET in m]
    placed = re.compile(r", (line \d+|sheet '|/)")
    parsed = re.compile(r"^(import|load) .*-((type|missing|shape)\d+\.|truncated(-end)?\."
                        r"(json|yaml|xml|csv|ttl|nt|jsonld|rdf)$)")
    vague = [f"{name}: {said.strip()}" for name, said in messages.items()
             if parsed.search(name) and not placed.search(said)]
    assert not vague, "\n".join(vague)


def test_a_wrong_type_is_refused_where_it_is(cli_messages, files) -> None:
    """A value of the wrong type, refused with a JSON pointer: the pointer is the place
    that was changed, or within it, or the object holding it."""
    _, messages = cli_messages
    elsewhere = []
    for f in files:
        said = messages.get(f"import {f.name}", "")
        changed = re.match(r"^(/\S*) is ", f.what)
        named = re.search(r", (/[^:]*): ", said)
        if re.search(r"-type\d+\.json$", f.name) and changed and named:
            inner, outer = sorted((changed.group(1), named.group(1)), key=len, reverse=True)
            if not inner.startswith(outer):
                elsewhere.append(f"{f.name}: changed {changed.group(1)}, told {said.strip()}")
    assert not elsewhere, "\n".join(elsewhere)


def test_heavy_files_meet_their_limits_once(cli_store: CliStore, heavy: list[Hostile],
                                            tmp_path: Path) -> None:
    messages: dict[str, str] = {}
    problems = []
    for f in heavy:
        problems += check_cli(cli_store, tmp_path, f, False, messages)
    assert not problems, "\n".join(problems)
    setting = {"rows-1m.csv": "GRAPHSVC_MAX_INPUT_ROWS",
               "xmlns-200k.rdf": "GRAPHSVC_MAX_XML_NAMESPACES",
               "cell-20mb.xlsx": "GRAPHSVC_MAX_CELL_CHARS"}
    for name, variable in setting.items():
        assert variable in messages[f"import {name}" if name.endswith(("csv", "xlsx"))
                                    else f"load {name}"]


# ------------------------------------------------------------------ the limits are settings


CSV_HEADER = "source_framework,source_id,target_framework,target_id,relationship\n"
CONTROL_SET = control_set_turtle(["ac-1", "ac-1"], "https://w3id.org/graphsvc/id/baseline/x",
                                 "2025-06-30")


@pytest.mark.parametrize(("variable", "value", "name", "text", "said"), [
    ("GRAPHSVC_MAX_INPUT_ROWS", "5", "rows.csv",
     CSV_HEADER + "a,x-1,b,y-1,equal\n" * 5, "line 6: more than 5 rows"),
    ("GRAPHSVC_MAX_CELL_CHARS", "16", "cell.csv",  # (the header's longest is 16)
     CSV_HEADER + "a,x-1,b,y-123456789012345,equal\n", "line 2, column 4: a cell of more than 16"),
    ("GRAPHSVC_MAX_INPUT_DEPTH", "3", "deep.json",
     '{"catalog": {"uuid": "u", "metadata": {"title": "Deep", "version": "1"}, '
     '"groups": [{"id": "g", "controls": [{"id": "c-1"}]}]}}',
     "/catalog/groups/0/controls: document is nested more than 3 levels deep"),
    ("GRAPHSVC_MAX_XML_NAMESPACES", "2", "ns.rdf",
     '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:a="urn:a" '
     'xmlns:b="urn:b"/>', "line 1, column 1: more than 2 XML namespace declarations"),
    ("GRAPHSVC_MAX_CONTROL_SET_TRIPLES", "20", "set.ttl", CONTROL_SET,
     f"the control set has {len(Graph().parse(data=CONTROL_SET, format='turtle'))} triples, "
     "more than 20"),
    ("GRAPHSVC_MAX_IMPLEMENTATIONS", "1", "twice.ttl", CONTROL_SET,
     "control https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/ac-1 is implemented 2 "
     "times, more than 1"),
])
def test_each_limit_is_a_setting(tmp_path: Path, variable: str, value: str, name: str,
                                 text: str, said: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    command = {".rdf": ["load"], ".json": ["import", "oscal"], ".ttl": ["validate"]}.get(
        path.suffix, ["import", "crosswalk"])
    env = {"GRAPHSVC_STORE": str(tmp_path / "store"), "GRAPHSVC_REMOTE": ""}
    EmbeddedStore(tmp_path / "store").close()  # (validate only reads a store)
    default = CliRunner(env=env).invoke(main, [*command, str(path)])
    assert default.exit_code == 0 or command == ["validate"]  # (no baseline in this store)
    assert said not in default.output
    result = CliRunner(env={**env, variable: value}).invoke(main, [*command, str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}") and said in result.output


def test_a_workbook_that_unpacks_past_the_limit_is_refused(tmp_path: Path) -> None:
    workbook = need_shared_data() / "oscal-mappings/sp800-53r5-to-iso-27001-mapping.xlsx"
    env = {"GRAPHSVC_STORE": str(tmp_path / "store"), "GRAPHSVC_MAX_UNPACKED_BYTES": "1000"}
    result = CliRunner(env=env).invoke(main, ["import", "crosswalk", str(workbook)])
    assert result.exit_code == 2
    assert "unpacks to" in result.output and "GRAPHSVC_MAX_UNPACKED_BYTES" in result.output


# ------------------------------------------------------------------ memory on the way in


def test_a_load_holds_its_files_as_text_and_reads_the_same_triples_each_time(
        tmp_path: Path) -> None:
    """A load keeps each graph as N-Triples (about the file's size) and parses it again
    for each pass over it, blank nodes included, instead of a kilobyte of Python
    objects a triple."""
    path = tmp_path / "big.nt"
    path.write_bytes(b"".join(big_ntriples(20_000)) + b"_:b <https://e.org/p> _:c .\n")
    graphs = read_files([(path, None)], max_bytes=10**8)
    [(name, spooled)] = graphs.items()
    first, second = list(spooled), list(spooled)
    assert first == second and len(first) == len(spooled) == 20_001 + 5  # + provenance
    assert len(spooled._text) <= path.stat().st_size * 1.05
    with EmbeddedStore() as store:
        from graphsvc.writes import commit

        commit(store, graphs)
        assert listing(store) == [(name, 20_006)]
