"""OSCAL assessment plans and results: which controls were assessed, and each finding
(satisfied or not) on a control objective -- the evidence of effectiveness."""

from __future__ import annotations

import re
from typing import Any

from rdflib import XSD, Literal, URIRef

from graphsvc.identity import match_framework, requirement_iri
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.document import OscalDocument, many, one, required, text
from graphsvc.namespaces import GC, GRAPH

DEFAULT_FRAMEWORK = "nist-sp-800-53-rev5"
STATES = {"satisfied", "not-satisfied"}


def assessment_graph(doc: OscalDocument, framework: str | None = None) -> Built:
    root = doc.root
    metadata = required(doc, root, "metadata", f"/{doc.model}")
    uuid = root["uuid"]
    built = Built(str(GRAPH[f"oscal/{doc.model}/{uuid}"]))
    title = text(metadata, "title") or ""
    fw = framework or match_framework(title)
    if fw is None:
        fw = DEFAULT_FRAMEWORK
        built.warnings.append(f"the document does not say which catalog its control ids "
                              f"are from; read as {fw} (use --framework to choose)")
    if doc.model == "assessment-plan":
        plan = built.node(built.uuid_node(uuid, "assessment-plan"), GC.AssessmentPlan,
                          title=title)
        built.counts["assessment plans"] += 1
        _reviewed(built, plan, fw, one(root, "reviewed-controls"))
        return built
    for index, result in enumerate(many(root, "results")):
        node = built.node(built.uuid_node(result.get("uuid") or f"{uuid}-{index}", "result"),
                          GC.AssessmentResult, title=text(result, "title") or title)
        built.add(node, GC.startDate, _datetime(text(result, "start")))
        built.add(node, GC.endDate, _datetime(text(result, "end")))
        built.counts["assessment results"] += 1
        _reviewed(built, node, fw, one(result, "reviewed-controls"))
        for finding in many(result, "findings"):
            _finding(built, node, fw, finding)
    return built


def _reviewed(built: Built, node: URIRef, fw: str, reviewed: dict[str, Any]) -> None:
    for selection in many(reviewed, "control-selections"):
        for include in many(selection, "include-controls"):
            built.add(node, GC.reviewsControl, requirement_iri(fw, include.get("control-id", "")))


def _finding(built: Built, result: URIRef, fw: str, finding: dict[str, Any]) -> None:
    node = built.node(built.uuid_node(finding["uuid"], "finding"), GC.Finding,
                      title=text(finding, "title"))
    built.add(node, GC.partOfAssessment, result)
    target = one(finding, "target")
    objective = str(target.get("target-id", ""))
    built.add(node, GC.objectiveId, objective)
    control = control_of_objective(objective)
    if control:
        built.add(node, GC.findingFor, requirement_iri(fw, control))
    state = str(one(target, "status").get("state", ""))
    built.add(node, GC.findingState, state)
    if state not in STATES:
        built.warnings.append(f"finding {finding['uuid']}: status {state!r} is not one of "
                              f"{', '.join(sorted(STATES))}; kept as written")
    built.counts["findings"] += 1


def control_of_objective(objective: str) -> str | None:
    """ac-1.a.1_obj.1 -> ac-1; ac-6.1_obj -> ac-6.1 (lettered items are statements)."""
    head = objective.split("_", 1)[0]
    match = re.match(r"^([a-z]{2,3}-\d+)(?:\.(\d+))?(?=\.|$)", head.lower())
    if not match:
        return None
    base, enhancement = match.groups()
    return f"{base}.{enhancement}" if enhancement else base


def _datetime(value: object) -> Literal | None:
    return Literal(str(value), datatype=XSD.dateTime) if value else None
