"""What the framework, coverage, crosswalk, validation and editor pages show, computed
from the named questions' rows (the pages only lay it out)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from graphsvc.errors import BadInput
from graphsvc.identity import notation, requirement_iri
from graphsvc.namespaces import GC, ID
from graphsvc.output import spreadsheet_cell
from graphsvc.questions import bind, load_questions
from graphsvc.search import natural_key
from graphsvc.store import Rows, Store
from graphsvc.store.bindings import bind_values
from graphsvc.validation import Report, constraints
from graphsvc.web.tables import local_link, short_label

RowsOf = Callable[..., list[dict[str, str]]]

# ------------------------------------------------------------------ framework trees

BIG_FRAMEWORK = 300  # sections start closed above this many requirements


@dataclass
class TreeRow:
    depth: int
    notation: str
    title: str
    href: str = ""  # empty for a group (a family under a section)
    withdrawn: bool = False
    baselines: frozenset[str] = frozenset()
    group: bool = False


@dataclass
class TreeSection:
    id: str
    notation: str
    title: str
    rows: list[TreeRow]
    count: int


@dataclass
class _Item:
    key: str
    notation: str
    title: str
    order: tuple
    href: str = ""
    withdrawn: bool = False
    baselines: frozenset[str] = frozenset()
    children: list[_Item] = field(default_factory=list)
    group: bool = False


def framework_tree(rows: list[dict[str, str]], q: str = "",
                   titles: Mapping[str, str] | None = None) -> tuple[list[TreeSection], bool]:
    """The framework's sections (top-level families or groups, else its top-level
    requirements) with their rows in tree order; only what matches ``q`` (and what it
    sits under) when a filter is given. Also whether sections start open."""
    items: dict[str, _Item] = {}
    titles = titles or {}
    for r in rows:
        order = (int(r["order"]) if r["order"].isdigit() else 10**9,
                 natural_key(r["control"] or ""))
        items[r["requirement"]] = _Item(
            r["requirement"], notation(r["control"] or short_label(r["requirement"])),
            titles.get(r["requirement"]) or r["title"], order, local_link(r["requirement"]),
            r["withdrawn"] == "true",
            frozenset(r["baselines"].split()))
    roots: list[_Item] = []
    for r in rows:
        item = items[r["requirement"]]
        parent = items.get(r["parent"]) or _family(r, items, roots)
        (parent.children if parent else roots).append(item)
    for item in [*items.values(), *roots]:
        item.children.sort(key=lambda i: i.order)
    for root in roots:
        _order_groups(root)
    roots.sort(key=lambda i: i.order)
    text = q.strip().lower()
    sections = []
    for root in roots:
        flat = _flatten(root.children, 0, text) if root.children else []
        if root.children and (flat or not text):
            sections.append(TreeSection(root.key, root.notation, root.title, flat,
                                        sum(1 for r in flat if not r.group)))
    loose = [r for r in roots if not r.children]
    if loose:
        flat = _flatten(loose, 0, text)
        if flat:
            sections.append(TreeSection("other", "", "Requirements", flat, len(flat)))
    return sections, len(rows) <= BIG_FRAMEWORK or bool(text)


def _family(row: dict[str, str], items: dict[str, _Item], roots: list[_Item]) -> _Item | None:
    """The family group a requirement without a parent sits in (made once; a family
    with a parent family sits in that one)."""
    if not row["family"]:
        return None
    key = "family:" + row["family"]
    if key not in items:
        items[key] = _Item(key, notation(row["familyId"]), row["familyTitle"],
                           (0, natural_key(row["familyId"])), group=True)
        parent = None
        if row["parentFamily"]:
            parent = _family({"family": row["parentFamily"], "familyId": row["parentFamilyId"],
                              "familyTitle": row["parentFamilyTitle"], "parentFamily": ""},
                             items, roots)
        (parent.children if parent else roots).append(items[key])
    return items[key]


def _order_groups(item: _Item) -> tuple:
    """A group sits where its first requirement sits in the catalog (CSF: GV before ID)."""
    for child in item.children:
        _order_groups(child)
    if item.group and item.children:
        item.children.sort(key=lambda i: i.order)
        item.order = item.children[0].order
    return item.order


def _matches(item: _Item, text: str) -> bool:
    return not text or text in item.notation.lower() or text in item.title.lower()


def _flatten(items: list[_Item], depth: int, text: str) -> list[TreeRow]:
    out = []
    for item in items:
        below = _flatten(item.children, depth + 1, text)
        if _matches(item, text) or below:
            out.append(TreeRow(depth, item.notation, item.title, item.href, item.withdrawn,
                               item.baselines, item.group))
            out += below
    return out


# ------------------------------------------------------------------ coverage

CATEGORIES = ("covered", "inherited", "partial", "planned", "not applicable",
              "attestation out of scope", "attestation not valid", "stated, not covered",
              "not stated")
RESPONSIBILITY = ("provider", "shared", "customer", "provider, attestation out of scope",
                  "provider, attestation not valid", "not stated", "not applicable")
STILL_CUSTOMERS = ("shared", "customer", "provider, attestation out of scope",
                   "provider, attestation not valid", "not stated")


@dataclass
class FamilyLine:
    family: str
    controls: int
    categories: Counter
    full: int
    partial: int
    inherited: int
    responsibility: Counter

    @property
    def none(self) -> int:
        return self.controls - self.full - self.partial

    @property
    def still_customers(self) -> int:
        return sum(self.responsibility[k] for k in STILL_CUSTOMERS)

    def share(self, count: int) -> float:
        return 100.0 * count / self.controls if self.controls else 0.0


def responsibility_of(row: Mapping[str, str]) -> str:
    """Whose the control is on the day: an inherited control whose attestation is not
    valid then, or does not cover every service the system uses, falls back to the
    customer; one nobody stated is the customer's too."""
    if row["category"] == "not applicable":
        return "not applicable"
    if not row["statements"]:
        return "not stated"
    kind = row["responsibility"]
    if kind.startswith("provider"):
        if row["category"] == "inherited":
            return "provider"
        return ("provider, attestation out of scope"
                if row["category"] == "attestation out of scope"
                else "provider, attestation not valid")
    return kind if kind in ("shared", "customer") else "customer"


def _line(family: str, rows: list[dict[str, str]]) -> FamilyLine:
    return FamilyLine(family, len(rows), Counter(r["category"] for r in rows),
                      sum(r["level"] == "full" for r in rows),
                      sum(r["level"] == "partial" for r in rows),
                      sum(int(r["inherited"] or 0) for r in rows),
                      Counter(responsibility_of(r) for r in rows))


def coverage_view(rows: list[dict[str, str]], family: str) -> dict[str, object]:
    """Per family and in total: controls by category, the coverage question's levels,
    whose they are on the day; and the drill-down of one family."""
    by_family: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_family[row["family"]].append(row)
    lines = [_line(f, by_family[f]) for f in sorted(by_family, key=natural_key)]
    drill = sorted(by_family.get(family, []), key=lambda r: natural_key(r["identifier"]))
    return {"lines": lines, "total": _line("total", rows), "drill": drill,
            "categories": CATEGORIES, "responsibility": RESPONSIBILITY}


# ------------------------------------------------------------------ crosswalks


def crosswalk_view(source: str, target: str, args: Mapping[str, str], rows_of: RowsOf
                   ) -> dict[str, object]:
    """The family matrix of two frameworks with relations counted, and the pairs behind
    one cell when asked."""
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    relations: Counter = Counter()
    for r in rows_of("crosswalk-matrix", {"source": source, "target": target}):
        cells[(r["sourceFamily"], r["targetFamily"])][r["relation"]] += int(r["mappings"])
        relations[r["relation"]] += int(r["mappings"])
    rows_f = sorted({k[0] for k in cells}, key=natural_key)
    cols_f = sorted({k[1] for k in cells}, key=natural_key)
    peak = max((sum(c.values()) for c in cells.values()), default=1)
    pairs = None
    chosen = args.get("sourceFamily", ""), args.get("targetFamily", "")
    if all(chosen):
        pairs = rows_of("crosswalk-pairs", {"source": source, "target": target,
                                            "sourceFamily": chosen[0],
                                            "targetFamily": chosen[1]})
        pairs.sort(key=lambda p: (natural_key(p["aId"]), natural_key(p["bId"])))
    return {"cells": cells, "rows": rows_f, "cols": cols_f, "peak": peak,
            "relations": relations, "pairs": pairs, "chosen": chosen,
            "total": sum(relations.values())}


# ------------------------------------------------------------------ validation

MISSING_RULE = "BaselineControlAccountedFor"
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


def validation_view(report: Report, framework: str) -> dict[str, object]:
    """A report as a summary by rule and by family, the controls without a statement as
    one linked list, and the other results by family."""
    names = {c.shape: c.label for c in constraints()}
    by_rule = Counter((r.severity, names.get(r.shape, short_label(str(r.shape))))
                      for r in report.results)
    families: dict[str, Counter] = defaultdict(Counter)
    missing, others = [], defaultdict(list)
    for r in report.results:
        family = r.family.upper() or "(control set)"
        families[family][r.severity] += 1
        link = local_link(str(requirement_iri(framework, r.control))) \
            if framework and r.control else ""
        if str(r.shape).endswith("#" + MISSING_RULE):
            missing.append((notation(r.control), link))
        else:
            others[family].append((r, notation(r.control) if r.control else "", link))
    missing.sort(key=lambda m: natural_key(m[0]))
    return {"by_rule": sorted(by_rule.items(), key=lambda kv: (SEVERITY_ORDER[kv[0][0]],
                                                                -kv[1], kv[0][1])),
            "families": dict(sorted(families.items(), key=lambda kv: (
                kv[0] == "(control set)", natural_key(kv[0])))),
            "missing": missing,
            "others": dict(sorted(others.items(), key=lambda kv: (
                kv[0] == "(control set)", natural_key(kv[0])))),
            "rule_names": names}


def validation_csv(report: Report) -> str:
    names = {c.shape: c.label for c in constraints()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["severity", "rule", "control", "family", "message"])
    for r in report.results:
        writer.writerow([spreadsheet_cell(v) for v in (
            r.severity, names.get(r.shape, str(r.shape)), r.control, r.family, r.message)])
    return buffer.getvalue()


# ------------------------------------------------------------------ the SPARQL editor

PREFIXES = {"gc": str(GC), "id": str(ID), "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "owl": "http://www.w3.org/2002/07/owl#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "dcterms": "http://purl.org/dc/terms/", "prov": "http://www.w3.org/ns/prov#"}
VOCABULARY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?term ?type ?label WHERE {
  GRAPH <https://w3id.org/graphsvc/graph/ontology> {
    ?term a ?type . OPTIONAL { ?term rdfs:label ?label }
    FILTER (?type IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty))
  }
}
"""


def editor_config(store: Store, rows_of: RowsOf) -> dict[str, object]:
    rows = store.query(VOCABULARY)
    assert isinstance(rows, Rows)
    terms = defaultdict(set)
    for term, kind, _ in rows:
        name = str(term)
        if name.startswith(str(GC)):
            terms["classes" if str(kind).endswith("Class") else "properties"].add(
                "gc:" + name[len(str(GC)):])
    examples = []
    for name, q in load_questions().items():
        try:
            text = bind_values(q.sparql, bind(q, {}, store))
        except BadInput:  # a default the store does not hold: the text as it is
            text = q.sparql
        examples.append({"name": name, "summary": q.summary, "query": text})
    return {"prefixes": PREFIXES, "classes": sorted(terms["classes"]),
            "properties": sorted(terms["properties"]), "examples": examples,
            "ours": str(ID)}



# ------------------------------------------------------------------ FedRAMP 20x

AUTOMATION_GOAL = 70.0  # % of indicators FedRAMP 20x wants validated automatically
KSI_STATES = ("implemented", "inherited", "partly", "missing")


def ksi_view(coverage: list[dict[str, str]], automation: list[dict[str, str]]
             ) -> dict[str, object]:
    """Indicators grouped by theme with their related controls' states and automation;
    the share of indicators every related control of which is met (implemented or
    inherited), and of those the provider's checks could validate automatically."""
    automated = {r["indicator"]: r for r in automation}
    themes: dict[str, list[dict[str, object]]] = {}
    for row in coverage:
        counts = {k: int(row[k] or 0) for k in ("controls", *KSI_STATES)}
        auto = automated.get(row["indicator"], {})
        themes.setdefault(row["theme"] or "", []).append({
            **row, **counts, "met": counts["controls"] > 0 and
            counts["implemented"] + counts["inherited"] == counts["controls"],
            "automation": auto.get("automation") or "no related controls",
            "checked": int(auto.get("checked") or 0)})
    indicators = [i for rows in themes.values() for i in rows]
    with_controls = [i for i in indicators if i["controls"]]
    fully = sum(1 for r in automation if r["automation"] == "automated")
    return {"themes": themes, "indicators": len(indicators),
            "with_controls": len(with_controls),
            "met": sum(1 for i in with_controls if i["met"]),
            "automated": fully, "automation_rows": len(automation),
            "automated_share": 100.0 * fully / len(automation) if automation else 0.0,
            "goal": AUTOMATION_GOAL, "states": KSI_STATES}


# ------------------------------------------------------------------ crosswalk agreement

VERDICTS = ("conflict", "compatible", "agree", "single")


def agreement_view(rows: list[dict[str, str]]) -> dict[str, object]:
    """The crosswalk-agreement rows counted per source family and verdict, and in all."""
    families: dict[str, Counter] = {}
    for row in rows:
        families.setdefault(row["sourceFamily"] or "", Counter())[row["verdict"]] += 1
    total = Counter(row["verdict"] for row in rows)
    return {"rows": rows, "families": dict(sorted(families.items())), "total": total,
            "verdicts": VERDICTS}
