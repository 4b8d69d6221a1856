"""Formatting query results for people (table) and programs (JSON, CSV, TSV, Turtle)."""

from __future__ import annotations

import csv
import io
import json

from rdflib import Graph
from rdflib.term import BNode, Literal, URIRef

from graphsvc.store import QueryResult, Rows, Term

ROW_FORMATS = ("table", "json", "csv", "tsv")


def render(result: QueryResult, fmt: str = "table") -> str:
    """One text for any query result: rows, a graph (Turtle) or a boolean."""
    if isinstance(result, bool):
        return json.dumps({"head": {}, "boolean": result}) if fmt == "json" else str(result).lower()
    if isinstance(result, Graph):
        return result.serialize(format="json-ld" if fmt == "json" else "turtle")
    return {"table": table, "json": sparql_json, "csv": delimited, "tsv": tsv}[fmt](result)


def plain(term: Term | None) -> str:
    return "" if term is None else str(term)


def table(rows: Rows) -> str:
    cells = [rows.variables] + [[plain(t) for t in row] for row in rows]
    widths = [min(60, max(len(c[i]) for c in cells)) for i in range(len(rows.variables))]
    lines = [
        "  ".join(_clip(c, w).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def sparql_json(rows: Rows) -> str:
    """SPARQL 1.1 Query Results JSON."""
    bindings = [
        {v: _json_term(t) for v, t in zip(rows.variables, row, strict=True) if t is not None}
        for row in rows
    ]
    return json.dumps({"head": {"vars": rows.variables}, "results": {"bindings": bindings}})


def _json_term(term: Term) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    assert isinstance(term, Literal)
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype:
        out["datatype"] = str(term.datatype)
    return out


def delimited(rows: Rows) -> str:
    """SPARQL 1.1 CSV results: plain values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows.variables)
    writer.writerows([plain(t) for t in row] for row in rows)
    return buffer.getvalue()


def tsv(rows: Rows) -> str:
    """SPARQL 1.1 TSV results: terms in Turtle syntax."""
    lines = ["\t".join("?" + v for v in rows.variables)]
    lines += ["\t".join("" if t is None else t.n3() for t in row) for row in rows]
    return "\n".join(lines) + "\n"
