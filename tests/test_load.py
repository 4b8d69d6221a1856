"""Safe loading: every RDF format, all-or-nothing, nothing fetched, errors with location."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph, Literal, Namespace, URIRef

from graphsvc.cli import main
from graphsvc.errors import BadInput, TooLarge
from graphsvc.importers.rdf import default_graph_for, load_files
from graphsvc.namespaces import GC
from graphsvc.store import Store

EX = Namespace("http://example.org/")
SERIALIZATIONS = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld", ".rdf": "xml"}


def sample_graph() -> Graph:
    g = Graph()
    for i in range(7):
        g.add((EX[f"c{i}"], EX.label, Literal(f"control {i}", lang="en")))
        g.add((EX[f"c{i}"], EX.rank, Literal(i)))
        g.add((EX[f"c{i}"], EX.next, EX[f"c{i + 1}"]))
    return g


def graph_content(store: Store, graph: str) -> set[tuple]:
    """Triples of a named graph without the provenance record the loader adds."""
    result = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, Graph)
    return {t for t in result if t[0] != URIRef(graph)}


def counts(store: Store) -> dict[str, int]:
    return {g.iri: g.triples for g in store.graphs()}


@pytest.fixture
def http_probe() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request: proof that nothing was fetched."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(b'{"@context": {"p": "http://example.org/evil"}}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()


@pytest.mark.parametrize("suffix", sorted(SERIALIZATIONS))
def test_each_graph_format_loads_the_same_triples(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"sample{suffix}"
    sample_graph().serialize(path, format=SERIALIZATIONS[suffix])
    report = load_files(store, [(path, None)], max_bytes=10**6)
    graph = default_graph_for(path)
    assert set(report.graphs) == {graph}
    assert graph_content(store, graph) == set(sample_graph())


@pytest.mark.parametrize("suffix,fmt", [(".trig", "trig"), (".nq", "nquads")])
def test_quad_formats_keep_their_named_graphs(
    store: Store, tmp_path: Path, suffix: str, fmt: str
) -> None:
    ds = Dataset()
    for i, (s, p, o) in enumerate(sorted(sample_graph())):
        ds.graph(EX[f"g{i % 2}"]).add((s, p, o))
    path = tmp_path / f"sample{suffix}"
    ds.serialize(path, format=fmt)
    load_files(store, [(path, None)], max_bytes=10**6)
    for name in ("g0", "g1"):
        assert graph_content(store, str(EX[name])) == set(ds.graph(EX[name]))


def test_provenance_is_kept_in_the_graph(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.ttl"
    sample_graph().serialize(path, format="turtle")
    load_files(store, [(path, str(EX.g))], max_bytes=10**6)
    rows = store.query(
        f"SELECT ?src ?hash WHERE {{ GRAPH <{EX.g}> {{ <{EX.g}> a <{GC.SourceGraph}> ;"
        f" <http://purl.org/dc/terms/source> ?src ; <{GC.contentSha256}> ?hash }} }}"
    )
    import hashlib

    assert [(str(r[0]), str(r[1])) for r in rows] == [
        (str(path), hashlib.sha256(path.read_bytes()).hexdigest())
    ]


def test_replace_keeps_only_the_new_content(store: Store, tmp_path: Path) -> None:
    first, second = tmp_path / "first.ttl", tmp_path / "second.ttl"
    first.write_text(f"<{EX.a}> <{EX.p}> 1 .")
    second.write_text(f"<{EX.b}> <{EX.p}> 2 .")
    load_files(store, [(first, str(EX.g))], max_bytes=10**6)
    load_files(store, [(second, str(EX.g))], max_bytes=10**6)
    assert {t[0] for t in graph_content(store, str(EX.g))} == {EX.a, EX.b}
    load_files(store, [(second, str(EX.g))], replace=True, max_bytes=10**6)
    assert {t[0] for t in graph_content(store, str(EX.g))} == {EX.b}


BAD_INPUTS = {
    "broken.ttl": (f"<{EX.a}> <{EX.p}> 1 .\n<{EX.b}> <{EX.p}> \"open .\n", "line 2"),
    "broken.nt": (f"<{EX.a}> <{EX.p}> <{EX.b}> .\n<{EX.a}> <{EX.p}> .\n", "line 2"),
    "bomb.rdf": (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="http://e/a"><rdf:value>&lol2;</rdf:value>'
        "</rdf:Description></rdf:RDF>",
        "line 2",
    ),
    "xxe.rdf": (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="http://e/a"><rdf:value>&x;</rdf:value>'
        "</rdf:Description></rdf:RDF>",
        "line 2",
    ),
    "unclosed.rdf": (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about="http://e/a">\n</rdf:RDF>',
        "line 3",
    ),
    "broken.jsonld": ('{"@id": "http://e/a",\n "http://e/p": [1, }', "line 2"),
    "unknown.csv": ("a,b\n", "unknown RDF file type"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_with_location_and_changes_nothing(
    store: Store, tmp_path: Path, name: str
) -> None:
    good = tmp_path / "good.ttl"
    good.write_text(f"<{EX.a}> <{EX.p}> 1 .")
    load_files(store, [(good, str(EX.g))], max_bytes=10**6)
    before = counts(store)
    bad = tmp_path / name
    content, where = BAD_INPUTS[name]
    bad.write_text(content)
    other = tmp_path / "other.ttl"
    other.write_text(f"<{EX.c}> <{EX.p}> 3 .")
    with pytest.raises(BadInput) as raised:
        load_files(store, [(other, str(EX.g2)), (bad, str(EX.g))], replace=True,
                   max_bytes=10**6)
    assert name in str(raised.value) and where in str(raised.value)
    assert counts(store) == before


@pytest.mark.parametrize("context", [
    '"{url}/ctx"',
    '["{url}/ctx", {{"p": "http://e/p"}}]',
    '{{"@import": "{url}/ctx"}}',
    '{{"p": {{"@id": "http://e/p", "@context": "{url}/scoped"}}}}',
])
def test_jsonld_remote_contexts_are_refused_and_never_fetched(
    store: Store, tmp_path: Path, http_probe: tuple[str, list[str]], context: str
) -> None:
    url, requests = http_probe
    path = tmp_path / "remote.jsonld"
    path.write_text('{"@context": ' + context.format(url=url)
                    + ', "@id": "http://e/a", "p": "x"}')
    with pytest.raises(BadInput, match="remote JSON-LD context"):
        load_files(store, [(path, None)], max_bytes=10**6)
    assert requests == []
    assert counts(store) == {}


def test_owl_imports_is_data_not_followed(store: Store, tmp_path: Path) -> None:
    imported = tmp_path / "imported.ttl"
    imported.write_text(f"<{EX.secret}> <{EX.p}> 1 .")
    main_file = tmp_path / "main.ttl"
    main_file.write_text(
        f"<{EX.onto}> a <http://www.w3.org/2002/07/owl#Ontology> ;"
        f" <http://www.w3.org/2002/07/owl#imports> <{imported.as_uri()}> ."
    )
    load_files(store, [(main_file, str(EX.g))], max_bytes=10**6)
    assert store.query(f"ASK {{ <{EX.secret}> ?p ?o }}") is False
    assert len(graph_content(store, str(EX.g))) == 2


def test_size_limit(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "big.ttl"
    sample_graph().serialize(path, format="turtle")
    with pytest.raises(TooLarge, match="limit"):
        load_files(store, [(path, None)], max_bytes=path.stat().st_size - 1)
    assert counts(store) == {}


@pytest.mark.parametrize("name", ["broken.ttl", "bomb.rdf", "xxe.rdf"])
def test_cli_exit_2_names_file_and_line_and_store_is_unchanged(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    assert runner.invoke(main, ["init", "--no-demo"]).exit_code == 0
    before = runner.invoke(main, ["graphs"]).output
    bad = tmp_path / name
    content, where = BAD_INPUTS[name]
    bad.write_text(content)
    result = runner.invoke(main, ["load", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output and where in result.output
    assert runner.invoke(main, ["graphs"]).output == before


def test_cli_size_limit_from_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.ttl"
    sample_graph().serialize(path, format="turtle")
    monkeypatch.setenv("GRAPHSVC_MAX_LOAD_BYTES", "100")
    result = runner.invoke(main, ["load", str(path)])
    assert result.exit_code == 2 and "limit is 100" in result.output
