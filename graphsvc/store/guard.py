"""Checks on query text before any engine sees it.

Oxigraph's engine would run SERVICE (an HTTP request chosen by the query text), so
every query is parsed once by rdflib and refused if it is an update or federates.
Results are cached by text: named questions pay the parse once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from pyparsing import ParseException
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from graphsvc.errors import BadInput

MAX_QUERY_CHARS = 100_000
_PARSER = threading.Lock()  # rdflib's pyparsing grammar is not thread-safe


@dataclass(frozen=True)
class QueryInfo:
    form: str  # SelectQuery, ConstructQuery, DescribeQuery or AskQuery
    projection: frozenset[str]  # variables a SELECT returns
    datasets: frozenset[str] = frozenset()  # IRIs named by FROM / FROM NAMED


@lru_cache(maxsize=1024)
def check_query(sparql: str) -> QueryInfo:
    """What the query is, or BadInput if it is not an allowed read-only query."""
    if len(sparql) > MAX_QUERY_CHARS:
        raise BadInput(f"query is {len(sparql)} characters; the limit is {MAX_QUERY_CHARS}")
    try:
        with _PARSER:
            parsed = parseQuery(sparql)
            algebra = translateQuery(parsed).algebra
    except ParseException as exc:
        raise BadInput(
            f"not a SPARQL 1.1 query (updates are not accepted here): {exc.msg}",
            where=f"query line {exc.lineno}, column {exc.col}",
        ) from exc
    except Exception as exc:  # rdflib raises assorted errors on bad queries
        raise BadInput(f"invalid SPARQL query: {exc}") from exc
    if _has_service(algebra):
        raise BadInput("SERVICE is not allowed: the store never fetches remote data")
    projected = algebra.get("PV") if algebra.name == "SelectQuery" else None
    # (not .get(): rdflib's CompValue.get returns the key's name when it is missing)
    clauses = parsed[1]["datasetClause"] if "datasetClause" in parsed[1] else []  # noqa: SIM401
    datasets = frozenset(str(d["default"] if "default" in d else d["named"]) for d in clauses)
    return QueryInfo(algebra.name, frozenset(str(v) for v in projected or ()), datasets)


def _has_service(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(_has_service(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_service(v) for v in node)
    return False
