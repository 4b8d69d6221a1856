"""The HTTP API keeps its OpenAPI contract: undeclared methods answer 405 with ``Allow``."""

from __future__ import annotations

ROUTES = {"/api/questions": {"GET"}, "/api/questions/coverage": {"GET"},
          "/api/openapi.json": {"GET"}, "/api/validate": {"POST"},
          "/api/control-sets": {"POST"}, "/healthz": {"GET"}}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE")


def test_undeclared_methods_answer_405_with_allow(client) -> None:
    for path, declared in ROUTES.items():
        for method in set(METHODS) - declared:
            answer = client.open(path, method=method)
            assert answer.status_code == 405, (method, path)
            allow = {m.strip() for m in answer.headers.get("Allow", "").split(",")}
            implicit = {"OPTIONS", "HEAD"} if "GET" in declared else {"OPTIONS"}
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
