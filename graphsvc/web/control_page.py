"""A control as an auditor reads it: the statement as a labelled tree in catalog order
with its parameters filled in (a control set's value, else its baseline's constraint,
else "[Assignment: ...]"), guidance, assessment objectives and methods in sections of
their own, crosswalks grouped by framework with the relation in words, and a status
card that answers "is it covered for this control set on this day, and who is
responsible?"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import Graph, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import notation
from graphsvc.namespaces import GC, ID
from graphsvc.search import PLACEHOLDER
from graphsvc.web.tables import local_link, short_label

SECTION_HEADINGS = {"statement": "Statement", "description": "Description",
                    "guidance": "Guidance", "assessment-objective": "Assessment objectives",
                    "assessment-method": "Assessment methods"}
OPEN_SECTIONS = ("statement", "description", "guidance")
# a relation read from this requirement's side: (short name, what it means)
RELATIONS = {
    "equal": ("equal", "they say the same: meeting either meets the other"),
    "equivalent-to": ("equivalent", "same meaning in other words: meeting either meets "
                      "the other"),
    "subset-of": ("subset", "this one asks for less: meeting the other meets it; meeting "
                  "it covers part of the other"),
    "superset-of": ("superset", "this one asks for more: meeting it meets the other"),
    "intersects-with": ("intersects", "they overlap in part: meeting one covers only part "
                        "of the other"),
    "no-relationship": ("no relationship", "the source says they are unrelated"),
    "unspecified": ("unspecified", "the source names no relation: it says nothing of "
                    "coverage"),
}
VERDICTS = {  # category of control-coverage -> headline
    "covered": "Covered", "inherited": "Covered through the provider",
    "partial": "Partly covered", "planned": "Not covered yet: planned",
    "not applicable": "Not applicable", "attestation not valid": "Not covered on this day",
    "attestation out of scope": "Not covered: the attestation's scope leaves out a service "
                                "the system uses",
    "stated, not covered": "Not covered", "not stated": "Not covered: not stated",
}


# ------------------------------------------------------------------ the text


@dataclass
class Parameter:
    id: str
    label: str
    guideline: str
    choices: str
    how_many: str
    settings: list[dict[str, str]] = field(default_factory=list)
    shown: str = ""  # the text in the statement
    kind: str = "assignment"  # value (a control set's), constraint (a baseline's), assignment
    source: str = ""  # whose value or constraint it is

    @property
    def assignment(self) -> str:
        if self.choices:
            many = " (one or more)" if self.how_many == "one-or-more" else ""
            return f"[Selection{many}: {self.choices}]"
        return f"[Assignment: organization-defined {self.label or self.id}]"


@dataclass
class Node:
    label: str
    name: str
    title: str
    segments: list[tuple[str, str]]  # ("text", words) or ("param", parameter id)
    lines: list[str] = field(default_factory=list)  # an objects list, one a line
    children: list[Node] = field(default_factory=list)


@dataclass
class Section:
    name: str
    heading: str
    nodes: list[Node]
    open: bool


def segments(prose: str) -> list[tuple[str, str]]:
    """Prose cut at its parameter insertions (filled in by the template, escaped)."""
    out, at = [], 0
    for match in PLACEHOLDER.finditer(prose):
        out += [("text", prose[at:match.start()]), ("param", match.group(1))]
        at = match.end()
    return [s for s in [*out, ("text", prose[at:])] if s[1]]


def sections(rows: list[dict[str, str]], params: dict[str, Parameter]) -> list[Section]:
    """The parts in reading order, cut into sections at each top-level part and nested
    by depth; consecutive top-level parts of one name share a section."""
    out: list[Section] = []
    stack: list[tuple[int, Node]] = []
    for row in rows:
        depth, name = int(row["depth"] or 0), row["name"] or "statement"
        prose = row["text"] or ""
        node = Node(row["label"], name, row["title"], [], [])
        if name == "assessment-objects" or (name != "guidance" and "\n\n" in prose):
            node.lines = [line.strip() for line in re.split(r"\n\s*\n", prose) if line.strip()]
        else:
            node.segments = segments(" ".join(prose.split()))
        if depth == 0:
            if not out or out[-1].name != name:
                out.append(Section(name, SECTION_HEADINGS.get(name, name.replace("-", " ")
                                                              .capitalize()), [],
                                   name in OPEN_SECTIONS))
            stack = [(0, node)]
            out[-1].nodes.append(node)
            continue
        while stack and stack[-1][0] >= depth:
            stack.pop()
        (stack[-1][1].children if stack else out[-1].nodes).append(node)
        stack.append((depth, node))
    for section in out:  # an empty statement part only holds its items
        if len(section.nodes) == 1 and not section.nodes[0].segments and \
                not section.nodes[0].lines and not section.nodes[0].label:
            section.nodes = section.nodes[0].children
    return out


def parameters(rows: list[dict[str, str]], control_set: str, status: Status | None
               ) -> dict[str, Parameter]:
    """Each parameter with every setting, and what the statement shows for it: the
    control set's value, else its baseline's constraint, else the assignment."""
    params: dict[str, Parameter] = {}
    for row in rows:
        p = params.setdefault(row["paramId"], Parameter(
            row["paramId"], row["label"], row["guideline"], row["choices"], row["howMany"]))
        if row["setBy"]:
            p.settings.append(row)
    baseline = status.baseline if status else ""
    for p in params.values():
        own = [s for s in p.settings if s["setBy"] == control_set and s["kind"] == "value"]
        limit = [s for s in p.settings if s["setBy"] == baseline and s["kind"] == "constraint"]
        if own:
            p.shown, p.kind, p.source = own[0]["value"], "value", own[0]["setByLabel"]
        elif limit:
            p.shown, p.kind, p.source = limit[0]["value"], "constraint", limit[0]["setByLabel"]
        else:
            p.shown = p.assignment
    return params


# ------------------------------------------------------------------ the status card


@dataclass
class Status:
    control_set: str
    set_label: str
    baseline: str
    baseline_label: str
    as_of: str
    row: dict[str, str] | None  # the control-coverage row; None: not in the baseline

    @property
    def headline(self) -> str:
        if self.row is None:
            return "Not in the control set's baseline"
        return VERDICTS.get(self.row["category"], self.row["category"])

    @property
    def tone(self) -> str:
        if self.row is None:
            return "none"
        return {"full": "good", "partial": "partial"}.get(self.row["level"], "bad")


def status(iri: URIRef, control_set: str, as_of: str, sets: list[dict[str, str]],
           rows_of: Callable[..., list[dict[str, str]]]) -> tuple[Status | None, str]:
    """The status card of the control for a control set on a day, against the baseline
    the set targets (or the coverage question's default)."""
    chosen = next((s for s in sets if s["controlSet"] == control_set), None)
    if chosen is None:
        return None, ""
    given = {"controlSet": control_set, "as_of": as_of, "control": str(iri)}
    if chosen["baseline"]:
        given["baseline"] = chosen["baseline"]
    try:
        rows = rows_of("control-coverage", given)
    except BadInput as exc:
        return None, str(exc)
    baseline = chosen["baseline"] or (rows[0]["baseline"] if rows else "")
    return Status(control_set, chosen["controlSetLabel"] or short_label(control_set),
                  baseline, chosen["baselineLabel"] or short_label(baseline), as_of,
                  rows[0] if rows else None), ""


# ------------------------------------------------------------------ around it


def crosswalk_groups(rows: list[dict[str, str]], known: dict[str, str]
                     ) -> list[tuple[str, list[dict[str, str]]]]:
    """The crosswalk's rows by the framework of the other requirement (its label)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        slug = row["other"].split("/id/fw/", 1)[-1].split("/", 1)[0]
        framework = known.get(str(ID[f"fw/{slug}"]), slug)
        relation = row["relation"]
        names = [RELATIONS.get(r, (r, ""))[0] for r in relation.split("|")]
        row = {**row, "notation": notation(row["otherId"] or short_label(row["other"])),
               "relationName": " or ".join(names),
               "meaning": RELATIONS.get(relation, ("", "one of these, depending on the "
                                                   "path"))[1]}
        groups.setdefault(framework, []).append(row)
    return list(groups.items())


def breadcrumb(iri: URIRef, described: Graph, known: dict[str, str]) -> list[tuple[str, str]]:
    """Framework, family and (for an enhancement) the control it enhances."""
    out = []
    framework = described.value(iri, GC.inFramework)
    if framework is not None:
        out.append((known.get(str(framework)) or short_label(str(framework)),
                    local_link(str(framework))))
        family = described.value(iri, GC.inFamily)
        if family is not None:
            out.append((short_label(str(family)).upper(),
                        local_link(str(framework)) + "#fam-" + short_label(str(family))))
    parent = described.value(iri, GC.parentRequirement)
    if parent is not None:
        out.append((short_label(str(parent)), local_link(str(parent))))
    return out
