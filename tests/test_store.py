"""The store interface, run against every backend (embedded Oxigraph, Oxigraph server,
Virtuoso)."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from graphsvc.errors import BadInput, StoreError
from graphsvc.store import Rows, Store
from graphsvc.store.embedded import EmbeddedStore
from tests.helpers import BAD_TERMS

EX = "http://example.org/"
G1, G2 = EX + "g1", EX + "g2"


def triples(n: int, graph_tag: str) -> list[tuple]:
    """n distinct triples, with literals of several kinds."""
    out = []
    for i in range(n):
        s = URIRef(f"{EX}{graph_tag}/s{i}")
        out += [
            (s, RDF.type, URIRef(EX + "Thing")),
            (s, RDFS.label, Literal(f"thing {i} \"quoted\"\nline", lang="en")),
            (s, URIRef(EX + "n"), Literal(i)),
            (s, URIRef(EX + "d"), Literal("2026-01-0" + str(1 + i % 9), datatype=XSD.date)),
        ]
    return out


def counts(store: Store) -> dict[str, int]:
    return {g.iri: g.triples for g in store.graphs()}


def test_write_lists_graphs_with_counts(store: Store) -> None:
    one, two = triples(5, "a"), triples(3, "b")
    store.write({G1: one, G2: two})
    assert counts(store) == {G1: len(set(one)), G2: len(set(two))}


def test_replace_replaces_and_add_adds(store: Store) -> None:
    store.write({G1: triples(5, "a")})
    store.write({G1: triples(2, "b")})
    assert counts(store) == {G1: 4 * 5 + 4 * 2}
    store.write({G1: triples(2, "b")}, replace=True)
    assert counts(store) == {G1: 4 * 2}


def test_drop_removes_only_named_graphs(store: Store) -> None:
    store.write({G1: triples(2, "a"), G2: triples(2, "b")})
    store.drop([G1, EX + "never-written"])
    assert counts(store) == {G2: 8}


def test_terms_round_trip(store: Store) -> None:
    written = triples(4, "a")
    store.write({G1: written})
    result = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, Graph)
    assert set(result) == set(written)


def test_default_graph_is_the_union_of_named_graphs(store: Store) -> None:
    store.write({G1: triples(2, "a"), G2: triples(3, "b")})
    result = store.query(f"SELECT (COUNT(?s) AS ?n) WHERE {{ ?s a <{EX}Thing> }}")
    assert isinstance(result, Rows)
    assert int(result.rows[0][0]) == 5
    assert store.query(f"ASK {{ <{EX}b/s2> a <{EX}Thing> }}") is True
    assert store.query(f"ASK {{ <{EX}b/s9> a <{EX}Thing> }}") is False


def test_select_keeps_order_and_unbound(store: Store) -> None:
    store.write({G1: triples(3, "a")})
    result = store.query(
        f"SELECT ?s ?missing WHERE {{ ?s a <{EX}Thing> OPTIONAL {{ ?s <{EX}none> ?missing }} }}"
        " ORDER BY DESC(?s)"
    )
    assert isinstance(result, Rows)
    assert result.variables == ["s", "missing"]
    assert [str(r[0]) for r in result] == [f"{EX}a/s{i}" for i in (2, 1, 0)]
    assert all(r[1] is None for r in result)


@pytest.mark.parametrize("value", [
    Literal("thing 1 \"quoted\"\nline", lang="en"),
    Literal('x" } ; DROP ALL ; SELECT * { "'),
    Literal("1 } UNION { ?s ?p ?o"),
])
def test_bindings_are_terms_not_text(store: Store, value: Literal) -> None:
    store.write({G1: triples(3, "a")})
    result = store.query(
        f"SELECT ?s WHERE {{ ?s <{RDFS.label}> ?label }}", bindings={"label": value}
    )
    assert isinstance(result, Rows)
    expected = [URIRef(EX + "a/s1")] if value == triples(3, "a")[5][2] else []
    assert [r[0] for r in result] == expected
    assert counts(store) == {G1: 12}  # nothing was dropped or changed


def test_binding_an_iri(store: Store) -> None:
    store.write({G1: triples(3, "a")})
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", bindings={"s": URIRef(EX + "a/s0")}
    )
    assert isinstance(result, Graph) and len(result) == 4
    with pytest.raises(BadInput):
        store.query("SELECT * WHERE { ?s ?p ?o }", bindings={"s": URIRef("http://x> } <y")})


def test_failed_write_changes_nothing(store: Store) -> None:
    store.write({G1: triples(2, "a")})
    before = counts(store)

    def broken():
        yield from triples(3, "b")
        raise RuntimeError("source failed half way")

    with pytest.raises(RuntimeError):
        store.write({G2: triples(2, "c"), G1: broken()}, replace=True)
    assert counts(store) == before


@pytest.mark.parametrize("term", BAD_TERMS.values(), ids=BAD_TERMS.keys())
def test_a_bad_term_is_refused_before_anything_changes(store: Store, term: object) -> None:
    """Every backend writes through the same checked text: a term one engine would
    refuse (or Virtuoso keep as it is) is an error before anything is written or sent,
    in a new graph and in one that is replaced."""
    store.write({G1: triples(2, "a")})
    before = counts(store)
    bad = [*triples(3, "b"), (URIRef(EX + "s"), URIRef(EX + "p"), term)]
    for graphs in ({G2: triples(2, "c"), EX + "g3": bad}, {G1: bad}):
        with pytest.raises(StoreError, match="nothing was changed"):
            store.write(graphs, replace=True)
        assert counts(store) == before


def test_a_typed_string_is_the_plain_string(store: Store) -> None:
    """"x"^^xsd:string and "x" are one literal in RDF 1.1; Virtuoso 7 keeps them apart
    (and does not find the one by the other), so every backend is given the plain form:
    the questions' plain strings find it everywhere."""
    s, p = URIRef(EX + "s"), URIRef(EX + "p")
    store.write({G1: [(s, p, Literal("x", datatype=XSD.string))]})
    assert store.query(f'ASK {{ <{s}> <{p}> "x" }}') is True
    assert store.query(f"SELECT ?o WHERE {{ <{s}> <{p}> ?o }}").rows == [(Literal("x"),)]


def test_a_typed_string_in_an_answer_is_the_plain_string(store: Store) -> None:
    """Answers give xsd:string literals as plain ones on every backend, as rdflib parses
    them, also where the engine keeps the typed form (Virtuoso 7: written here by an
    update, as other tools write it) and names its datatype in the answer."""
    store._update(f'INSERT DATA {{ GRAPH <{G1}> {{ <{EX}s> <{EX}p> "x"^^<{XSD.string}> }} }}')
    assert store.query(f"SELECT ?o WHERE {{ <{EX}s> <{EX}p> ?o }}").rows == [(Literal("x"),)]


@pytest.mark.parametrize("text", [
    "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }",
    "DROP ALL",
    "SELECT * WHERE { ?s ?p ?o ",
])
def test_query_refuses_updates_and_bad_syntax(store: Store, text: str) -> None:
    store.write({G1: triples(1, "a")})
    with pytest.raises(BadInput):
        store.query(text)
    assert counts(store) == {G1: 4}


def test_service_is_refused_without_any_connection(store: Store) -> None:
    """A listening socket proves the engine never tried to reach the SERVICE IRI."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    thread = threading.Thread(target=accept)
    thread.start()
    with pytest.raises(BadInput, match="SERVICE"):
        store.query(f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}")
    thread.join()
    listener.close()
    assert accepted == []


def test_bad_graph_iri_is_refused(store: Store) -> None:
    with pytest.raises(BadInput, match="graph"):
        store.write({"http://e/g> } ; DROP ALL ; <x": triples(1, "a")})


def test_embedded_store_persists_and_opens_read_only(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with EmbeddedStore(path) as store:
        store.write({G1: triples(3, "a")})
    with EmbeddedStore(path, read_only=True) as reader:
        assert counts(reader) == {G1: 12}
    with EmbeddedStore(path) as store:
        assert counts(store) == {G1: 12}


def test_remote_store_reports_unreachable_endpoint() -> None:
    from graphsvc.store.server import free_port
    from tests.conftest import remote_store

    store = remote_store(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError):
        store.graphs()


def test_bound_variable_projected_or_not_gives_the_same_rows(store: Store) -> None:
    """Embedded substitutes projected variables and uses VALUES otherwise: same answers."""
    store.write({G1: triples(4, "a")})
    value = {"n": Literal(2)}
    projected = store.query(f"SELECT ?s ?n WHERE {{ ?s <{EX}n> ?n }}", bindings=value)
    hidden = store.query(f"SELECT ?s WHERE {{ ?s <{EX}n> ?n }}", bindings=value)
    assert isinstance(projected, Rows) and isinstance(hidden, Rows)
    assert [r[0] for r in projected] == [r[0] for r in hidden] == [URIRef(EX + "a/s2")]
    assert [r[1] for r in projected] == [Literal(2)]


def test_kept_answers_are_forgotten_when_the_store_writes(tmp_path: Path) -> None:
    """The embedded store keeps recent answers; any write makes it answer afresh."""
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with EmbeddedStore(tmp_path / "s") as store:
        ex = "https://example.org/"
        store.write({ex + "g1": [(URIRef(ex + "a"), URIRef(ex + "p"), Literal(1))]})
        assert store.query(count).rows[0][0].toPython() == 1
        assert store.query(count).rows[0][0].toPython() == 1  # answered from memory
        store.write({ex + "g2": [(URIRef(ex + "b"), URIRef(ex + "p"), Literal(2))]})
        assert store.query(count).rows[0][0].toPython() == 2
        store.drop([ex + "g1"])
        assert store.query(count).rows[0][0].toPython() == 1
        store.write({ex + "g2": [(URIRef(ex + "c"), URIRef(ex + "p"), Literal(3))]},
                    replace=True)
        rows = store.query("SELECT ?s WHERE { ?s ?p ?o }")
        assert [str(r[0]) for r in rows] == [ex + "c"]


def test_a_second_writer_is_told_who_holds_the_store(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "s"):
        with pytest.raises(StoreError, match="another process writes to it"):
            EmbeddedStore(tmp_path / "s")
        with EmbeddedStore(tmp_path / "s", read_only=True) as reader:  # readers may open
            assert reader.query("ASK {}") is True
