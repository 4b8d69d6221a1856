"""Writes over HTTP need ``Authorization: Bearer <token>`` with the right scope; each write
is logged with the token's name; tokens are kept and shown only as names and hashes."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from rdflib import RDFS, Literal, URIRef

from graphsvc.config import Config, api_tokens, load_config
from graphsvc.errors import BadInput
from graphsvc.web import close_app, create_app

SECRETS = {"loader": "load-secret-1", "dropper": "drop-secret-2", "admin": "admin-secret-3",
           "default": "env-secret-4"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def control_set(name: str) -> bytes:
    return (f"<https://example.org/{name}> a <https://w3id.org/graphsvc/compliance#ControlSet> ;"
            f' <http://www.w3.org/2000/01/rdf-schema#label> "{name}" .').encode()


def graph_of(name: str) -> str:
    return f"https://w3id.org/graphsvc/graph/upload/{name}"


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(f"# name scopes sha256\n"
                    f"loader load {sha256(SECRETS['loader'])}\n\n"
                    f"dropper drop {sha256(SECRETS['dropper'])}  # CI clean-up\n"
                    f"admin load,drop {sha256(SECRETS['admin']).upper()}\n")
    return path


@pytest.fixture
def app(tmp_path: Path, tokens_file: Path) -> Iterator[Flask]:
    """The app over an empty on-disk store, with the tokens file and GRAPHSVC_LOAD_TOKEN."""
    config = Config(store=tmp_path / "store", tokens_file=tokens_file,
                    load_token=SECRETS["default"])
    application = create_app(config, pool_size=1)
    yield application
    close_app(application)


def graphs(app: Flask) -> set[str]:
    return {g.iri for g in app.extensions["graphsvc"].store.graphs()}


def load(client, name: str, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.post("/api/control-sets", headers=headers,
                       data={"file": (io.BytesIO(control_set(name)), f"{name}.ttl")})


def test_only_a_bearer_token_with_scope_load_loads(app: Flask) -> None:
    client = app.test_client()
    refused = {
        None: 401, "": 401, SECRETS["loader"]: 401, f"Token {SECRETS['loader']}": 401,
        f"Basic {SECRETS['loader']}": 401, f"Bearer{SECRETS['loader']}": 401,
        f"Bearer {SECRETS['loader']}x": 401, "Bearer ": 401,
        f"Bearer {sha256(SECRETS['loader'])}": 401,  # the hash is not the token
        f"Bearer {SECRETS['dropper']}": 403,
    }
    for header, status in refused.items():
        answer = load(client, "refused", header)
        assert answer.status_code == status, (header, answer.data)
        assert answer.get_json()["where"] == "Authorization"
        challenge = answer.headers.get("WWW-Authenticate", "")
        assert challenge.startswith('Bearer realm="graphsvc"'), header
        if status == 403:
            assert 'error="insufficient_scope"' in challenge and 'scope="load"' in challenge
    assert graphs(app) == set()
    for name in ("default", "loader", "admin"):
        answer = load(client, name, f"Bearer {SECRETS[name]}")
        assert answer.status_code == 201, (name, answer.data)
    answer = load(client, "lowercase", f"bearer   {SECRETS['loader']}")  # RFC 7235: any case
    assert answer.status_code == 201, answer.data
    assert graphs(app) == {graph_of(n) for n in ("default", "loader", "admin", "lowercase")}


def test_drop_graphs_all_or_nothing(app: Flask) -> None:
    client = app.test_client()
    for name in ("one", "two", "three"):
        assert load(client, name, f"Bearer {SECRETS['loader']}").status_code == 201
    one, two, three = graph_of("one"), graph_of("two"), graph_of("three")
    unknown = "https://example.org/graph/never-loaded"

    def drop(*names: str, token: str = SECRETS["dropper"]):
        return client.delete("/api/graphs", query_string=[("graph", n) for n in names],
                             headers={"Authorization": f"Bearer {token}"})

    assert drop(one, token=SECRETS["loader"]).status_code == 403
    assert client.delete("/api/graphs", query_string={"graph": one}).status_code == 401
    missing = drop(one, unknown)
    assert missing.status_code == 404 and unknown in missing.get_json()["error"]
    assert one not in missing.get_json()["error"]
    assert drop().status_code == 400
    assert drop("not an IRI").status_code == 400
    store = app.extensions["graphsvc"].writes.store  # the writer, not the view it reads
    staging = "urn:graphsvc:staging:0123"  # a load in progress: not the caller's to drop
    store.write({staging: [(URIRef(one), RDFS.label, Literal("moving"))]})
    assert drop(staging).status_code == 404
    assert store.query("ASK { GRAPH ?g { ?s ?p ?o } }", {"g": URIRef(staging)}) is True
    store.drop([staging])
    assert graphs(app) == {one, two, three}  # nothing was dropped
    dropped = drop(one, two, one)
    assert dropped.status_code == 200, dropped.data
    assert dropped.get_json() == {"dropped": [one, two]}
    assert graphs(app) == {three}
    assert drop(three, token=SECRETS["admin"]).status_code == 200
    assert graphs(app) == set()
    # the query processes see the drop too
    seen = client.get("/sparql", query_string={"query": "ASK { GRAPH ?g { ?s ?p ?o } }"})
    assert seen.get_json()["boolean"] is False


def test_every_write_is_logged_with_the_token_name(app: Flask, caplog) -> None:
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="graphsvc.writes"):
        load(client, "logged", f"Bearer {SECRETS['loader']}")
        load(client, "refused", "Bearer wrong")
        load(client, "scope", f"Bearer {SECRETS['dropper']}")
        client.delete("/api/graphs", query_string={"graph": graph_of("logged")},
                      headers={"Authorization": f"Bearer {SECRETS['admin']}"})
        client.post("/api/control-sets", data={"file": (io.BytesIO(b"{"), "bad.ttl")},
                    headers={"Authorization": f"Bearer {SECRETS['loader']}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "graphsvc.writes"]
    assert len(lines) == 5, lines
    assert lines[0] == f"write who=loader what=load graphs={graph_of('logged')} outcome=ok"
    assert lines[1].startswith("write who=- what=load graphs=- outcome=refused 401")
    assert lines[2].startswith("write who=- what=load graphs=- outcome=refused 403")
    assert lines[3] == f"write who=admin what=drop graphs={graph_of('logged')} outcome=ok"
    assert lines[4].startswith("write who=loader what=load graphs=- outcome=refused 400")
    for line in lines:
        assert not any(s in line or sha256(s) in line for s in SECRETS.values())


def test_nothing_is_writable_without_tokens(tmp_path: Path) -> None:
    app = create_app(Config(store=tmp_path / "store"), pool_size=1)
    try:
        client = app.test_client()
        refused = load(client, "x", "Bearer anything")
        assert refused.status_code == 403 and "GRAPHSVC_TOKENS_FILE" in refused.get_json()["error"]
        assert client.delete("/api/graphs", query_string={"graph": "urn:x:y"}).status_code == 403
    finally:
        close_app(app)


def test_tokens_from_file_and_environment(tokens_file: Path, tmp_path: Path) -> None:
    config = load_config({"GRAPHSVC_TOKENS_FILE": str(tokens_file),
                          "GRAPHSVC_LOAD_TOKEN": SECRETS["default"]})
    assert {(t.name, tuple(sorted(t.scopes))) for t in api_tokens(config)} == {
        ("default", ("load",)), ("loader", ("load",)), ("dropper", ("drop",)),
        ("admin", ("drop", "load"))}
    shown = str(config.describe())
    assert "admin (drop,load)" in shown and "default (load)" in shown
    assert not any(s in shown or sha256(s) in shown for s in SECRETS.values())
    bad = tmp_path / "bad"
    for text, words in [
        ("ci load\n", "want 'name scope"),
        (f"ci write {sha256('x')}\n", "scopes are load, drop"),
        ("ci load my-plain-token\n", "never the token itself"),
        (f"c i load {sha256('x')}\n", "want 'name scope"),
        (f"ci! load {sha256('x')}\n", "token name"),
        (f"ci load {sha256('x')}\nci drop {sha256('y')}\n", "same name"),
        (f"ci load {sha256('x')}\ncd drop {sha256('x')}\n", "same token"),
        (f"default drop {sha256('y')}\n", "same name"),  # the env token is "default"
    ]:
        bad.write_text(text)
        with pytest.raises(BadInput, match=words) as raised:
            api_tokens(Config(tokens_file=bad, load_token="env"))
        assert str(bad) in str(raised.value)
    with pytest.raises(BadInput, match="cannot read"):
        create_app(Config(store=tmp_path / "store", tokens_file=tmp_path / "absent"))
