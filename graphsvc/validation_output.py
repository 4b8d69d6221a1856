"""A validation report for people (text grouped by family), programs (JSON, the W3C
SHACL report in Turtle) and CI systems (SARIF 2.1.0, JUnit XML)."""

from __future__ import annotations

import json
from collections import defaultdict
from xml.etree import ElementTree as ET

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef

from graphsvc import __version__
from graphsvc.validation import SEVERITIES, SH, Report, Result, constraints

REPORT_FORMATS = ("text", "json", "turtle", "sarif", "junit")
SET_LEVEL = "(control set)"
SARIF_LEVEL = {"Violation": "error", "Warning": "warning", "Info": "note"}


def render_report(report: Report, fmt: str) -> str:
    return {"text": text, "json": as_json, "turtle": turtle, "sarif": sarif,
            "junit": junit}[fmt](report)


def _name(shape: URIRef) -> str:
    return str(shape).rsplit("#", 1)[-1]


def _summary(report: Report) -> str:
    counts = report.counts
    parts = ", ".join(f"{counts[s]} {s.lower()}{'s' if counts[s] != 1 and s != 'Info' else ''}"
                      for s in SEVERITIES)
    verdict = "passes (no violations)" if report.passed else "FAILS"
    return f"{parts}: {verdict}"


def _by_family(results: list[Result]) -> dict[str, list[Result]]:
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        groups[r.family.upper() or SET_LEVEL].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == SET_LEVEL, kv[0])))


def text(report: Report) -> str:
    lines = [f"Control set {report.control_set}",
             f"  against {report.baseline} as of {report.as_of.isoformat()}"
             f" ({report.source})", ""]
    for family, results in _by_family(report.results).items():
        counts = " ".join(f"{sum(r.severity == s for r in results)} {s.lower()}"
                          for s in SEVERITIES if any(r.severity == s for r in results))
        lines.append(f"{family} ({counts})")
        for r in results:
            lines.append(f"  {r.severity.upper():<9} {r.control or '-':<10} {r.message}")
        lines.append("")
    lines.append(f"Summary: {_summary(report)}")
    return "\n".join(lines) + "\n"


def _result_dict(r: Result) -> dict[str, object]:
    return {"severity": r.severity, "shape": str(r.shape), "rule": _name(r.shape),
            "focusNode": str(r.focus), "value": None if r.value is None else str(r.value),
            "control": r.control or None, "family": r.family or None, "message": r.message}


def as_json(report: Report) -> str:
    return json.dumps({
        "controlSet": str(report.control_set), "baseline": str(report.baseline),
        "asOf": report.as_of.isoformat(), "source": report.source,
        "conforms": report.conforms, "passed": report.passed,
        "counts": {s: report.counts[s] for s in SEVERITIES},
        "results": [_result_dict(r) for r in report.results],
    }, indent=2) + "\n"


def report_graph(report: Report) -> Graph:
    """The W3C SHACL validation report."""
    g = Graph()
    g.bind("sh", SH)
    root = BNode()
    g.add((root, RDF.type, SH.ValidationReport))
    g.add((root, SH.conforms, Literal(report.conforms, datatype=XSD.boolean)))
    for r in report.results:
        node = BNode()
        g.add((root, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.focusNode, r.focus))
        g.add((node, SH.resultSeverity, SH[r.severity]))
        g.add((node, SH.sourceShape, r.shape))
        g.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        if r.value is not None:
            g.add((node, SH.value, r.value))
        g.add((node, SH.resultMessage, Literal(r.message)))
    return g


def turtle(report: Report) -> str:
    return report_graph(report).serialize(format="turtle")


def sarif(report: Report) -> str:
    rules = {}
    for c in constraints():
        rules.setdefault(_name(c.shape), {
            "id": _name(c.shape), "name": _name(c.shape),
            "shortDescription": {"text": c.label},
            "helpUri": str(c.shape),
            "defaultConfiguration": {"level": SARIF_LEVEL[c.severity]},
        })
    index = {name: i for i, name in enumerate(rules)}
    results = [{
        "ruleId": _name(r.shape), "ruleIndex": index[_name(r.shape)],
        "level": SARIF_LEVEL[r.severity], "message": {"text": r.message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": report.source}},
            "logicalLocations": [{"name": r.control or str(r.focus),
                                  "fullyQualifiedName": f"{r.family or 'control-set'}/"
                                                        f"{r.control or r.focus}",
                                  "kind": "object"}],
        }],
        "properties": {"focusNode": str(r.focus),
                       "value": None if r.value is None else str(r.value)},
    } for r in report.results]
    return json.dumps({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "graphsvc validate", "version": __version__,
                                      "informationUri": "https://w3id.org/graphsvc",
                                      "rules": list(rules.values())}},
                  "results": results}],
    }, indent=2) + "\n"


def junit(report: Report) -> str:
    """One test case per control (a family is a class); a Violation fails it, warnings
    are its output; results about the control set as a whole go to one more case."""
    by_control: dict[str, list[Result]] = defaultdict(list)
    for r in report.results:
        by_control[r.control].append(r)
    cases = sorted(report.controls.items(), key=lambda kv: (kv[1], kv[0]))
    suite = ET.Element("testsuite", name="graphsvc validate", tests=str(len(cases) + 1),
                       failures=str(sum(any(r.severity == "Violation" for r in rs)
                                        for rs in by_control.values())), errors="0")
    for control, family in [*cases, ("", SET_LEVEL)]:
        case = ET.SubElement(suite, "testcase", classname=(family or "other").upper(),
                             name=control or SET_LEVEL)
        results = by_control.get(control, [])
        violations = [r for r in results if r.severity == "Violation"]
        if violations:
            failure = ET.SubElement(case, "failure", message=violations[0].message,
                                    type=_name(violations[0].shape))
            failure.text = "\n".join(r.message for r in violations)
        others = [r for r in results if r.severity != "Violation"]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{r.severity}: {r.message}" for r in others)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
