"""The query guard: one reading decides what runs. Hostile texts go through every query
entry point (/sparql GET, form POST and direct POST, `graphsvc query`, values bound
into a named question's text, the embedded store, the remote Oxigraph server) while a
real listener on 127.0.0.1 counts the connections that reach it; and the engine that
runs users' queries cannot call out at all."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from graphsvc.cli import main
from graphsvc.config import Config
from graphsvc.errors import BadInput
from graphsvc.store import Rows
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.guard import MAX_DEPTH, check_query
from graphsvc.store.sandbox import without_network
from tests.conftest import remote_store

# The texts of issue 12 that reached the listener: rdflib expanded the escapes and saw
# the SERVICE inside a string; Oxigraph saw two comments and a SERVICE.
ISSUE_PAYLOAD = ('SELECT * WHERE {{\n# \\u000a BIND("""\n'
                 'SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }}\n'
                 '# \\u000a """ AS ?x)\n}}')


class Listener:
    """A socket on 127.0.0.1 that nobody should reach; counts what did. A connection is
    counted before it is closed, so a caller that reached it sees the count."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        self._count = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            with self._lock:
                self._count += 1
            connection.close()

    def connections(self) -> int:
        """Connections made since the last call."""
        with self._lock:
            count, self._count = self._count, 0
        return count


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.socket.close()


@pytest.fixture(scope="module")
def served_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store on disk, written once and then only read (by the web app's query
    processes and by the CLI): no reader here races a writer's start."""
    path = tmp_path_factory.mktemp("guarded") / "store"
    with EmbeddedStore(path) as store:
        store.write({"urn:g": [(URIRef(f"urn:s{i}"), URIRef("urn:p"), Literal(i))
                               for i in range(20)]})
    return path


@pytest.fixture(scope="module")
def web(served_store: Path) -> Iterator:
    from graphsvc.web import close_app, create_app

    with EmbeddedStore(served_store, read_only=True) as store:
        app = create_app(Config(store=served_store), store=store, pool_size=1)
        yield app.test_client()
        close_app(app)


@pytest.fixture(scope="module")
def memory_store() -> Iterator[EmbeddedStore]:
    with EmbeddedStore() as store:
        store.write({"urn:g": [(URIRef("urn:s"), URIRef("urn:p"), Literal("o"))]})
        yield store


@pytest.fixture(scope="module")
def remote(oxigraph_server: str):
    store = remote_store(oxigraph_server)
    store.write({"urn:g": [(URIRef("urn:s"), URIRef("urn:p"), Literal("o"))]})
    return store


def test_the_listener_counts_and_the_differential_was_real(listener: Listener) -> None:
    """Without the guard, Oxigraph runs the issue's text and calls the listener; in the
    thread where users' queries run it cannot, whatever the text."""
    raw = ISSUE_PAYLOAD.format(port=listener.port)
    with pytest.raises(OSError):
        list(ox.Store().query(raw))
    assert listener.connections() == 1
    plain = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{listener.port}/> {{ ?s ?p ?o }} }}"
    for text in (raw, plain):
        with pytest.raises(PermissionError):
            without_network(lambda t=text: list(ox.Store().query(t)))
    assert listener.connections() == 0
    with socket.create_connection(("127.0.0.1", listener.port)) as reached:
        reached.recv(1)  # returns once the listener has counted and closed it
    assert listener.connections() == 1


def test_the_issue_payload_through_the_four_entry_points_it_passed(
        web, served_store: Path, listener: Listener) -> None:
    text = ISSUE_PAYLOAD.format(port=listener.port)
    answers = [web.get("/sparql", query_string={"query": text}),
               web.post("/sparql", data={"query": text}),
               web.post("/sparql", data=text, content_type="application/sparql-query")]
    for answer in answers:  # the guard reads the SERVICE as a string, and so does the engine
        assert answer.status_code == 200, answer.get_json()
    cli = CliRunner().invoke(main, ["--store", str(served_store), "query", text])
    assert cli.exit_code == 0, cli.output
    assert listener.connections() == 0


# -- generated texts ---------------------------------------------------------------------

NEWLINES = ["\n", "\r", "\r\n", "\\u000a", "\\u000A", "\\u000d", "\\U0000000a"]
QUOTES = ['"""', "'''", '"', "'"]
POSITIONS = [("", ""), ("OPTIONAL { ", " }"), ("{ ?s ?p ?o } UNION { ", " }"),
             ("MINUS { ", " }"), ("FILTER EXISTS { ", " }"), ("FILTER NOT EXISTS { ", " }"),
             ("GRAPH ?g { ", " }"), ("{ SELECT * WHERE { ", " } }"),
             ("BIND(EXISTS { ", " } AS ?e)"), ("{ { ", " } }")]


@st.composite
def keyword(draw: st.DrawFn, word: str) -> str:
    """The word in any case, some letters written as codepoint escapes."""
    letters = []
    for letter in word:
        letter = letter.upper() if draw(st.booleans()) else letter.lower()
        form = draw(st.sampled_from(["plain"] * 4 + ["u", "U"]))
        letters.append(letter if form == "plain" else
                       f"\\u{ord(letter):04X}" if form == "u" else f"\\U{ord(letter):08x}")
    return "".join(letters)


@st.composite
def endpoint(draw: st.DrawFn, port: int) -> tuple[str, str]:
    """(prologue, the service IRI as written): plain, with escapes, a prefixed name."""
    iri = f"http://127.0.0.1:{port}/sparql"
    kind = draw(st.sampled_from(["plain", "escaped", "prefixed", "variable"]))
    if kind == "escaped":
        at = draw(st.integers(0, len(iri) - 1))
        return "", f"<{iri[:at]}\\u{ord(iri[at]):04x}{iri[at + 1:]}>"
    if kind == "prefixed":
        return f"PREFIX e: <http://127.0.0.1:{port}/>\n", "e:sparql"
    if kind == "variable":
        return "", "?svc"
    return "", f"<{iri}>"


@st.composite
def hostile(draw: st.DrawFn, port: int) -> str:
    prologue, target = draw(endpoint(port))
    service = draw(keyword("SERVICE")) + (" SILENT" if draw(st.booleans()) else "")
    opening, closing = draw(st.sampled_from(POSITIONS))
    clause = f"{opening}{service} {target} {{ ?s ?p ?o }}{closing}"
    if target == "?svc":
        clause = f"VALUES ?svc {{ <http://127.0.0.1:{port}/> }} {clause}"
    if draw(st.booleans()):  # hidden from one reader or the other, the issue's way
        newline, quote = draw(st.sampled_from(NEWLINES)), draw(st.sampled_from(QUOTES))
        clause = (f"# {newline} BIND({quote}\n{clause}\n# {draw(st.sampled_from(NEWLINES))}"
                  f" {quote} AS ?x)")
    noise = draw(st.sampled_from([
        "", "# SERVICE <http://x/> { }\n", f'BIND("SERVICE <http://127.0.0.1:{port}/>" AS ?d)\n',
        "?s ?p ?o .\n", "FILTER(?o != <http://x/a#b>)\n"]))
    select = draw(keyword("SELECT"))
    return f"{prologue}{select} * WHERE {{\n{noise}{clause}\n}}"


def _every_entry_point(text: str, web, served_store: Path, memory_store: EmbeddedStore,
                       remote) -> list[str]:
    """What each entry point did with the text: 'answered' or 'refused'."""
    outcomes = []
    for answer in (web.get("/sparql", query_string={"query": text}),
                   web.post("/sparql", data={"query": text}),
                   web.post("/sparql", data=text, content_type="application/sparql-query")):
        assert answer.status_code in (200, 400), (text, answer.get_json())
        outcomes.append("answered" if answer.status_code == 200 else "refused")
    cli = CliRunner().invoke(main, ["--store", str(served_store), "query", text])
    assert cli.exit_code in (0, 2), (text, cli.output)
    outcomes.append("answered" if cli.exit_code == 0 else "refused")
    for store in (memory_store, remote):
        try:
            store.query(text)
            outcomes.append("answered")
        except BadInput:
            outcomes.append("refused")
    # a named question's values are data: bound into the text, they come back unchanged
    bound = memory_store.query("SELECT ?v WHERE { BIND(?x AS ?v) }", {"x": Literal(text)})
    assert isinstance(bound, Rows) and bound.rows == [(Literal(text),)]
    return outcomes


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
@example(data=None)
def test_no_text_reaches_the_listener_through_any_entry_point(
        data, listener: Listener, web, served_store: Path, memory_store: EmbeddedStore,
        remote) -> None:
    text = (ISSUE_PAYLOAD.format(port=listener.port) if data is None
            else data.draw(hostile(listener.port)))
    outcomes = _every_entry_point(text, web, served_store, memory_store, remote)
    assert listener.connections() == 0, text
    assert len(set(outcomes)) == 1, (text, outcomes)  # one reading everywhere


# -- what the guard says -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "words", "where"), [
    ("DROP ALL", "DROP is a SPARQL update", "line 1, column 1"),
    ("PREFIX e: <http://e/>\ninsert DATA { e:a e:b e:c }", "INSERT is a SPARQL update",
     "line 2, column 1"),
    ("WITH <http://g/> DeLeTe { ?s ?p ?o } WHERE { ?s ?p ?o }", "WITH is a SPARQL update",
     "line 1, column 1"),
    ("SELECT * WHERE {\n  sErViCe <http://x/> { } }", "SERVICE is not allowed",
     "line 2, column 3"),
    ("SELECT * WHERE { \\u0053ERVICE <http://x/> { } }", "SERVICE is not allowed",
     "line 1, column 18"),
    ("LOAD <http://x/>", "LOAD is not allowed", "line 1, column 1"),
    ('SELECT * WHERE { ?s ?p "abc }', "is not closed on its line", "line 1, column 24"),
    ("SELECT * WHERE { ?s ?p ?o } }", "'}' closes nothing", "line 1, column 29"),
    ("SELECT * WHERE {\n ?s ?p ?o ", "'{' is never closed", "line 1, column 16"),
    ("SELECT * WHERE { ?s ?p e:a\\.b }", "backslash", "line 1, column 27"),
    ("SELECT * WHERE { ?s ?p '\\ud800' }", "is not a character", "line 1, column 25"),
    ("ASK { <http://x/a'b> ?p ?o }", "write it as %27", "line 1, column 7"),
    ("SELECT * WHERE { ?s ?p ?o } \x00", "unexpected character", "line 1, column 29"),
    ("SELECT * FROM e:g WHERE { ?s ?p ?o }", "prefix 'e' is not declared", "column 15"),
    ("SELECT * WHERE {\n FILTER(?a <?b#> '''\n) SERVICE <http://x/> { }\n#''')\n}",
     "start the string on a new line", "line 2, column 18"),
])
def test_refusals_say_what_and_where(text: str, words: str, where: str) -> None:
    with pytest.raises(BadInput) as refused:
        check_query(text)
    assert words in refused.value.message
    assert where in (refused.value.where or "")


def test_syntax_errors_come_from_the_engine_with_line_and_column(web, remote) -> None:
    text = "SELECT * WHERE {\n ?s ?p ?o .\n FILTER(?o = ) }"
    answer = web.get("/sparql", query_string={"query": text})
    assert answer.status_code == 400
    body = answer.get_json()
    assert "not a valid SPARQL 1.1 query" in body["error"]
    assert body["where"].startswith("query line 3, column ")  # where the engine stopped
    with pytest.raises(BadInput):  # the remote engine's own 400, as bad input
        remote.query(text)


def test_form_projection_and_datasets() -> None:
    info = check_query("BASE <http://b/>\nPREFIX e: <http://e/>\n"
                       "SELECT ?a (COUNT(*) AS ?n) FROM <g1> FROM NAMED e:g2\n"
                       "WHERE { ?a ?p ?o BIND(1 AS ?z) } GROUP BY ?a")
    assert info.form == "SelectQuery"
    assert info.projection == {"a", "n"}
    assert info.datasets == {"http://b/g1", "http://e/g2"}
    star = check_query("select * where { ?s ?p ?o OPTIONAL { ?o ?q ?r } }")
    assert star.projection == {"s", "p", "o", "q", "r"}
    assert check_query("ConStruct { ?s ?p ?o } WHERE { ?s ?p ?o }").form == "ConstructQuery"
    assert check_query("# a comment\nASK { }").form == "AskQuery"
    with pytest.raises(BadInput, match="SELECT, CONSTRUCT, DESCRIBE or ASK"):
        check_query("PREFIX e: <http://e/>")


def test_comments_are_blanked_and_escapes_read_once() -> None:
    text = "SELECT ?x WHERE { # SERVICE\n BIND(\"\\u005C\\u005Cu0041\" AS ?x) }"
    info = check_query(text)
    assert "SERVICE" not in info.text and len(info.text.splitlines()[0]) == 27
    assert check_query(info.text).text == info.text  # reads the same when read again
    with EmbeddedStore() as store:  # an escaped backslash, then u0041: not an A
        assert store.query(text).rows == [(Literal("\\u0041"),)]
        assert store.query(info.text).rows == [(Literal("\\u0041"),)]


def test_texts_the_engine_would_not_survive_are_refused(web, served_store: Path) -> None:
    sum_ = "SELECT ?x WHERE { BIND(" + "+".join(["1"] * 9_500) + " AS ?x) }"
    refused = web.post("/sparql", data=sum_, content_type="application/sparql-query")
    assert refused.status_code == 400
    assert "more than 1000 operators" in refused.get_json()["error"]
    cli = CliRunner().invoke(main, ["--store", str(served_store), "query", sum_])
    assert cli.exit_code == 2 and "operators" in cli.output  # not 139: a segfault
    deep = "SELECT ?x WHERE { BIND(" + "STR(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH + " AS ?x) }"
    with pytest.raises(BadInput, match="nested more than"):
        check_query(deep)
    unions = "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 800) + " } LIMIT 3"
    answer = web.post("/sparql", data=unions, content_type="application/sparql-query")
    assert answer.status_code == 200 and len(answer.get_json()["results"]["bindings"]) == 3
    near = "SELECT ?x WHERE { BIND(" + "STR(" * 60 + "+".join(["1"] * 900) + ")" * 60 + " AS ?x) }"
    assert web.post("/sparql", data=near, content_type="application/sparql-query"
                    ).status_code == 200


@pytest.mark.parametrize("value", [
    "a\\u0041b", "\\\\u0041", "\\U0001F600", 'q"uote', "multi\nline\r", "x\\",
    "# SERVICE <http://127.0.0.1:1/> { }", '\\u0022 } SERVICE <http://127.0.0.1:1/> { \\u0022'])
def test_bound_values_come_back_unchanged(store, value: str) -> None:
    """Values are written so that decoding the escapes of the whole text keeps them."""
    store.write({"urn:g": [(URIRef("urn:s"), URIRef("urn:p"), Literal(value))]})
    found = store.query("SELECT ?s WHERE { ?s ?p ?v }", {"v": Literal(value)})
    assert isinstance(found, Rows) and found.rows == [(URIRef("urn:s"),)]
