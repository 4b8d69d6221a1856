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
