"""Formatting query results for people (table, spreadsheet CSV) and programs (JSON, SPARQL
CSV and TSV, Turtle)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from xml.etree import ElementTree as ET

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
    return {"table": table, "json": sparql_json, "csv": spreadsheet_csv, "tsv": tsv}[fmt](result)


def plain(term: Term | None) -> str:
    return "" if term is None else str(term)


def plain_rows(rows: Rows) -> list[dict[str, str]]:
    """Each row as column -> plain text ('' when unbound), for JSON and templates."""
    return [{k: plain(v) for k, v in row.items()} for row in rows.dicts()]


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
    """SPARQL 1.1 CSV results: plain values, exactly (for programs: /sparql)."""
    return _csv(rows, plain)


def spreadsheet_csv(rows: Rows) -> str:
    """CSV for spreadsheets (downloads, the CLI): as :func:`delimited`, but no cell runs as
    a formula when opened, whatever an uploaded control set put in its literals."""
    return _csv(rows, lambda term: spreadsheet_cell(plain(term)))


# OWASP "CSV Injection": cells starting with these run as formulas (=cmd|' /C calc'!A0).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(text: str) -> str:
    """The cell with a leading single quote if a spreadsheet would evaluate it; signed
    numbers stay numbers (nothing runs in them)."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv(rows: Rows, cell: Callable[[Term | None], str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows.variables)
    writer.writerows([cell(t) for t in row] for row in rows)
    return buffer.getvalue()


def tsv(rows: Rows) -> str:
    """SPARQL 1.1 TSV results: terms in Turtle syntax."""
    lines = ["\t".join("?" + v for v in rows.variables)]
    lines += ["\t".join("" if t is None else t.n3() for t in row) for row in rows]
    return "\n".join(lines) + "\n"


def sparql_xml(rows: Rows | bool) -> str:
    """SPARQL Query Results XML (rows, or the boolean of an ASK)."""
    ns = "http://www.w3.org/2005/sparql-results#"
    root = ET.Element("sparql", xmlns=ns)
    head = ET.SubElement(root, "head")
    if isinstance(rows, bool):
        ET.SubElement(root, "boolean").text = str(rows).lower()
        return ET.tostring(root, encoding="unicode", xml_declaration=True)
    for v in rows.variables:
        ET.SubElement(head, "variable", name=v)
    results = ET.SubElement(root, "results")
    for row in rows:
        result = ET.SubElement(results, "result")
        for name, term in zip(rows.variables, row, strict=True):
            if term is None:
                continue
            binding = ET.SubElement(result, "binding", name=name)
            if isinstance(term, URIRef):
                ET.SubElement(binding, "uri").text = str(term)
            elif isinstance(term, BNode):
                ET.SubElement(binding, "bnode").text = str(term)
            else:
                attrs = ({"xml:lang": term.language} if term.language else
                         {"datatype": str(term.datatype)} if term.datatype else {})
                ET.SubElement(binding, "literal", attrs).text = str(term)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
