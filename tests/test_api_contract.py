"""The HTTP API keeps its OpenAPI contract both ways: schemathesis fuzzes every operation
of /api/openapi.json in process (bounded, deterministic) against the app over the init
content; real writes, validations and answers are checked against the same document."""

from __future__ import annotations

import hashlib
import io

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance

from graphsvc.config import Config
from graphsvc.content import init_store
from graphsvc.questions import load_questions
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.web import close_app, create_app
from graphsvc.web.openapi import document
from tests.helpers import control_set_turtle

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE")
LOW = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-low"


def test_the_document_names_every_route(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec == document(load_questions())  # what the fuzzer below is given
    routes = {r.rule for r in client.application.url_map.iter_rules()
              if r.rule.startswith("/api/") or r.rule == "/healthz"}
    questions = {f"/api/questions/{n}" for n in load_questions()}
    assert routes == {"/api/questions", "/api/questions/<name>", "/api/openapi.json",
                      "/api/validate", "/api/control-sets", "/api/graphs", "/api/migrations",
                      "/api/what-if", "/api/crm.<fmt>", "/healthz"}
    assert set(spec["paths"]) == (routes - {"/api/questions/<name>", "/api/crm.<fmt>"}) | {
        "/api/crm.{format}"} | questions | {q + ".csv" for q in questions}


def test_undeclared_methods_answer_405_with_allow(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        declared = {m.upper() for m in operations}
        implicit = {"OPTIONS", "HEAD"} if "GET" in declared else {"OPTIONS"}
        for method in set(METHODS) - declared:
            answer = client.open(path, method=method)
            assert answer.status_code == 405, (method, path)
            allow = {m.strip() for m in answer.headers.get("Allow", "").split(",")}
            assert allow == declared | implicit, (method, path, allow)
            assert answer.get_json()["status"] == 405 and answer.get_json()["error"]


def test_a_parameter_naming_nothing_in_the_store_is_not_found(client) -> None:
    absent = client.get("/api/questions/coverage",
                        query_string={"controlSet": "https://example.org/no-such-set"})
    assert absent.status_code == 404, absent.data
    assert absent.get_json()["where"] == "parameter controlSet"
    # the question's default target (ISO 27001) is not part of what init loads
    default = client.get("/api/questions/crosswalk-matrix")
    assert default.status_code == 404 and "iso27001-2022" in default.get_json()["error"]
    assert client.get("/api/questions/coverage",
                      query_string={"controlSet": "not an IRI"}).status_code == 400


def test_parameters_take_exactly_the_documented_forms(client) -> None:
    for params in ({"as_of": "20261231"}, {"as_of": "2026-W01-1"}, {"days": "٣٠"},
                   {"days": "+30"}, {"days": "3651"}):
        answer = client.get("/api/questions/attestations", query_string=params)
        assert answer.status_code == 400, (params, answer.data)
    for params in ({"as_of": "2026-12-31", "days": "30"}, {"as_of": "today"},
                   {"as_of": "", "days": ""}):  # empty: the default, as forms send it
        answer = client.get("/api/questions/attestations", query_string=params)
        assert answer.status_code == 200, (params, answer.data)


# --- fuzzing the whole contract (schemathesis, in process, bounded) ---------------------

TOKEN = "contract-fuzzer-token"
# Bounded and repeatable: a fixed seed, derandomized, up to 25 generated cases (valid and
# invalid) per operation on top of the coverage phase's (boundaries, each parameter left
# out or broken, undeclared methods): about 2,000 requests, all of schemathesis's checks.
FUZZ = schemathesis.Config.from_dict({
    "seed": 12,
    "generation": {"max-examples": 25, "mode": "all", "deterministic": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
})


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory: pytest.TempPathFactory):
    """The app over its own store with what init loads (like served_store, but the fuzzer
    holds a token that may load and drop, so no other test's store is touched)."""
    folder = tmp_path_factory.mktemp("contract")
    with EmbeddedStore(folder / "store") as store:
        init_store(store, max_bytes=10**8)
    tokens = folder / "tokens"
    tokens.write_text(f"fuzzer load,drop {hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    app = create_app(Config(store=folder / "store", tokens_file=tokens), pool_size=1)
    yield app
    close_app(app)


# The document does not depend on the store's content, so the schema is known when the
# tests are collected: one test per operation, run against the app of the fixture.
contract = schemathesis.openapi.from_dict(document(load_questions()), config=FUZZ)


UPLOADS = {"/api/validate", "/api/control-sets"}


@contract.parametrize()
def test_the_api_keeps_its_contract(case, contract_app) -> None:
    # No schema says which bytes are a control set, so a generated upload is refused (400,
    # documented); every other schema-valid request must be answered 2xx or 404.
    skip = [positive_data_acceptance] if case.path in UPLOADS else []
    case.call_and_validate(app=contract_app, headers={"Authorization": f"Bearer {TOKEN}"},
                           excluded_checks=skip)


def test_successful_answers_match_the_document(contract_app) -> None:
    """The fuzzer's uploads and graph names never succeed, so the 2xx bodies of writes and
    validation are checked here, with real ones."""
    client = contract_app.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    text = control_set_turtle(["ac-1", "ac-2"], LOW, "2026-11-29").encode()

    def check(path: str, method: str, answer, status: int) -> None:
        assert answer.status_code == status, (path, answer.data)
        contract[path][method].validate_response(answer)

    check("/api/control-sets", "POST", client.post(
        "/api/control-sets", headers=bearer,
        data={"file": (io.BytesIO(text), "set.ttl")}), 201)
    for fmt in ("json", "sarif", ""):
        check("/api/validate", "POST", client.post("/api/validate", data={
            "file": (io.BytesIO(text), "set.ttl"), "as_of": "2026-11-29", "format": fmt}), 200)
    assert client.post("/api/validate", data={
        "file": (io.BytesIO(text), "set.ttl"), "format": "xml"}).status_code == 400
    for path in ("/api/questions/coverage", "/api/questions/coverage.csv"):
        check(path, "GET", client.get(path, query_string={"as_of": "2026-11-29"}), 200)
    check("/api/questions", "GET", client.get("/api/questions"), 200)
    check("/healthz", "GET", client.get("/healthz"), 200)
    graph = "https://w3id.org/graphsvc/graph/upload/set"
    check("/api/graphs", "DELETE", client.delete(
        "/api/graphs", query_string={"graph": graph}, headers=bearer), 200)
    check("/api/graphs", "DELETE", client.delete(
        "/api/graphs", query_string={"graph": graph}, headers=bearer), 404)
    refused = client.delete("/api/graphs", query_string={"graph": graph})
    check("/api/graphs", "DELETE", refused, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
