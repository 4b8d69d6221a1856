"""Validating a control set against the SHACL shapes of shapes/.

One entry, :func:`validate`: the control set (a file, or a graph of the store) plus
the part of the store the shapes read (the baseline's controls, the attestations,
agreements, laws and risk plans the control set names) become a small data graph, with
one ``gc:ValidationRequest`` saying which baseline, which day and which review
cadence. Shapes come only from shapes/; the data graph is never read as shapes.

Two engines give the same results (tests/test_validation.py): ``pyshacl`` (the
reference: one rdflib query per focus node and constraint) and ``fast`` (the default:
each SHACL-SPARQL constraint run once for all its focus nodes on an in-memory Oxigraph
store).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from graphsvc.content import data_dir
from graphsvc.errors import BadInput, TooLarge
from graphsvc.importers.oscal.document import many, one, read_oscal
from graphsvc.importers.oscal.importer import build_document
from graphsvc.importers.rdf import EXTENSIONS, read_rdf
from graphsvc.importers.safety import LIMITS, InputLimits
from graphsvc.namespaces import GC, ID
from graphsvc.questions import baseline_iri
from graphsvc.store import Rows, Store, Term, Triple, check_iri
from graphsvc.store.bindings import values_block
from graphsvc.store.embedded import EmbeddedStore

SH = Namespace("http://www.w3.org/ns/shacl#")
SEVERITIES = ("Violation", "Warning", "Info")
REQUEST = ID["validation/request"]
RISK_REVIEW_MONTHS = 6  # "re-evaluated at least twice a year"
OSCAL_SUFFIXES = (".json", ".yaml", ".yml", ".xml")
# what a control set names, whose description the shapes read from the store
NAMED_BY_CONTROL_SETS = frozenset({GC.inheritedUnder, GC.leverages, GC.hasAgreement,
                                   GC.describesSystem, GC.ownedBy})
IMPLEMENTS, IDENTIFIER = GC.implementsControl, GC.identifier


@dataclass(frozen=True)
class Constraint:
    shape: URIRef
    label: str
    target: URIRef
    severity: str
    message: str
    select: str  # with its PREFIX lines


@dataclass(frozen=True)
class Result:
    severity: str
    shape: URIRef
    focus: Node
    value: Node | None
    message: str
    control: str = ""  # the control the result is about, for grouping
    family: str = ""

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.severity, str(self.shape), str(self.focus), str(self.value), self.message)


@dataclass
class Report:
    control_set: URIRef
    baseline: URIRef
    as_of: date
    source: str
    results: list[Result] = field(default_factory=list)
    controls: dict[str, str] = field(default_factory=dict)  # every control seen -> family
    data_triples: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.severity for r in self.results)

    @property
    def conforms(self) -> bool:
        """SHACL's meaning: no result of any severity."""
        return not self.results

    @property
    def passed(self) -> bool:
        """No Violations (warnings and info do not fail a pipeline)."""
        return self.counts["Violation"] == 0


# ------------------------------------------------------------------ shapes


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted(data_dir("shapes").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@lru_cache(maxsize=1)
def constraints() -> tuple[Constraint, ...]:
    """Every SHACL-SPARQL constraint of the shapes, ready to run for all focus nodes."""
    g = shapes_graph()
    out = []
    for shape in sorted(g.subjects(RDF.type, SH.NodeShape)):
        target = g.value(shape, SH.targetClass)
        severity = str(g.value(shape, SH.severity, default=SH.Violation)).rsplit("#", 1)[1]
        for node in g.objects(shape, SH.sparql):
            prefixes = "".join(
                f"PREFIX {g.value(d, SH.prefix)}: <{g.value(d, SH.namespace)}>\n"
                for source in g.objects(node, SH.prefixes) for d in g.objects(source, SH.declare))
            select = str(g.value(node, SH.select))
            if not re.match(r"\s*SELECT DISTINCT \$this\b", select):
                raise ValueError(f"{shape}: a select must start 'SELECT DISTINCT $this'")
            out.append(Constraint(shape, str(g.value(shape, RDFS.label)), target, severity,
                                  str(g.value(node, SH.message)), prefixes + select))
    return tuple(out)


# ------------------------------------------------------------------ input


def read_control_set(path: Path, data: bytes, store: Store, framework: str | None = None,
                     limits: InputLimits = LIMITS) -> set[Triple]:
    """An OSCAL SSP (JSON, YAML, XML), Turtle, JSON-LD, N-Triples... as triples; an
    SSP's control ids are read as ``framework``'s when given. Nothing is written."""
    suffix = path.suffix.lower()
    if suffix in OSCAL_SUFFIXES and not _looks_like_json_ld(data, suffix):
        doc = read_oscal(data, source=str(path), limits=limits)
        if doc.model != "system-security-plan":
            raise BadInput(f"an OSCAL {doc.model} is not a control set; give a system "
                           "security plan", where=str(path))
        requirements = many(one(doc.root, "control-implementation"), "implemented-requirements")
        _implemented_at_most(Counter(str(r.get("control-id")) for r in requirements),
                             str(path), limits)  # (before a triple is made of them)
        return _bounded(set(build_document([store], doc, framework=framework).triples),
                        str(path), limits)
    fmt = "jsonld" if suffix == ".json" else EXTENSIONS.get(suffix)
    if fmt is None:
        raise BadInput(f"unknown file type {suffix!r}: give an OSCAL SSP (.json, .yaml, .xml) "
                       "or RDF (.ttl, .jsonld, .nt, .nq, .trig, .rdf)", where=str(path))
    return _bounded({(s, p, o) for s, p, o, _ in read_rdf(data, fmt, source=str(path),
                                                          limits=limits)}, str(path), limits)


def _bounded(triples: set[Triple], source: str, limits: InputLimits) -> set[Triple]:
    """A control set no larger than validation can take: the work of a validation grows
    with the square of a control's implementations (each pair is a result: 2,400 of one
    control took 340 s and 2.7 GB), and a real one implements each control once."""
    if len(triples) > limits.control_set_triples:
        raise TooLarge(f"the control set has {len(triples)} triples, more than "
                       f"{limits.control_set_triples} (GRAPHSVC_MAX_CONTROL_SET_TRIPLES)",
                       where=source)
    _implemented_at_most(Counter(o for _, p, o in triples if p == IMPLEMENTS), source, limits)
    return triples


def _implemented_at_most(counts: Counter[Any], source: str, limits: InputLimits) -> None:
    for control, count in counts.most_common(1):
        if count > limits.implementations:
            raise BadInput(f"control {control} is implemented {count} times, more than "
                           f"{limits.implementations} (GRAPHSVC_MAX_IMPLEMENTATIONS); a "
                           "control set implements each control once", where=source)


def _looks_like_json_ld(data: bytes, suffix: str) -> bool:
    return suffix == ".json" and b'"@context"' in data[:4096]


def objects(triples: set[Triple], subject: Term | None, predicate: URIRef) -> set[Term]:
    return {o for s, p, o in triples if p == predicate and subject in (None, s)}


def control_set_of(triples: set[Triple], where: str) -> URIRef:
    found = sorted(s for s, p, o in triples
                   if p == RDF.type and o == GC.ControlSet and isinstance(s, URIRef))
    if len(found) != 1:
        raise BadInput(f"expected one control set (a gc:ControlSet or an OSCAL SSP), "
                       f"found {len(found)}", where=where)
    return found[0]


def graph_from_store(store: Store, graph_iri: str) -> set[Triple]:
    iri = check_iri(graph_iri, "--graph")
    if iri not in {URIRef(g.iri) for g in store.graphs()}:
        raise BadInput(f"no graph <{iri}> in the store", where="--graph")
    result = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
    assert isinstance(result, Graph)
    return set(result)


def resolve_baseline(store: Store, given: str | None, own: set[Triple], control_set: URIRef
                     ) -> URIRef:
    """A baseline IRI, id:baseline/..., or a slug (fedramp-rev5-high); default: the one
    the control set targets. It must be a gc:Baseline in the store."""
    if not given:
        targets = objects(own, control_set, GC.targetBaseline)
        if len(targets) != 1:
            raise BadInput("the control set names no baseline (or several); give --baseline",
                           where="--baseline")
        given = str(targets.pop())
    iri = URIRef(baseline_iri(given, "--baseline"))
    found = store.query("PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
                        "ASK { ?b a gc:Baseline }", {"b": iri})
    if found is not True:
        known = store.query("PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
                            "SELECT DISTINCT ?b WHERE { ?b a gc:Baseline } ORDER BY ?b")
        assert isinstance(known, Rows)
        names = ", ".join(str(b).rsplit("/", 1)[-1] for (b,) in known) or "none loaded"
        raise BadInput(f"unknown baseline <{iri}>; known: {names}", where="--baseline")
    return iri


def check_framework(store: Store, framework: str) -> None:
    """A framework slug the store knows, or BadInput listing the ones it does."""
    known = store.query(PREFIX + "SELECT ?id WHERE { ?fw a gc:Framework ; gc:identifier ?id }"
                        " ORDER BY ?id")
    assert isinstance(known, Rows)
    names = [str(i) for (i,) in known]
    if framework not in names:
        raise BadInput(f"unknown framework {framework!r}; loaded: {', '.join(names) or 'none'}",
                       where="--framework")


def baseline_framework(store: Store, baseline: URIRef) -> str | None:
    """The slug of the framework a baseline selects from."""
    rows = store.query(PREFIX + "SELECT ?fw WHERE { ?b gc:selectsFrom ?fw }", {"b": baseline})
    assert isinstance(rows, Rows)
    return str(rows.rows[0][0]).rsplit("/", 1)[-1] if rows.rows else None


# ------------------------------------------------------------------ data graph

PREFIX = "PREFIX gc: <https://w3id.org/graphsvc/compliance#>\n"
DESCRIBE_NODES = PREFIX + "SELECT ?s ?p ?o WHERE { %s ?s ?p ?o }"
# (the family through a sub-select: a path or two patterns in OPTIONAL cost 3x)
BASELINE = PREFIX + """
SELECT DISTINCT ?c ?id ?family WHERE {
  %s
  ?b gc:includesControl ?c .
  OPTIONAL { ?c gc:identifier ?id }
  OPTIONAL { SELECT DISTINCT ?c ?family WHERE { ?c gc:inFamily/gc:identifier ?family } }
}"""
CONTROLS = PREFIX + """
SELECT DISTINCT ?c ?id ?family WHERE {
  %s
  ?c gc:identifier ?id .
  OPTIONAL { SELECT DISTINCT ?c ?family WHERE { ?c gc:inFamily/gc:identifier ?family } }
}"""
COVERED = PREFIX + "SELECT DISTINCT ?b ?c WHERE { %s ?b gc:includesControl ?c }"
PLANS = PREFIX + """
SELECT ?s ?p ?o WHERE {
  %s
  ?s gc:operatedBy ?org ; ?p ?o .
  ?s a ?kind . FILTER (?kind IN (gc:BusinessPlan, gc:RiskAssessment))
}"""
LABELS = PREFIX + """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?p ?o WHERE { %s ?s ?p ?o FILTER (?p = rdfs:label) }"""
LABEL = PREFIX + """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT (SAMPLE(?l) AS ?label) WHERE { ?b rdfs:label ?l }"""


def data_graph(store: Store, own: set[Triple], control_set: URIRef, baseline: URIRef,
               as_of: date, review_months: int) -> tuple[set[Triple], dict[str, str]]:
    """The control set's own triples, what the shapes read from the store about the
    things it names, and the validation request; and control id -> family. (A set of
    triples, not an rdflib Graph: building one took half the run.)"""
    data = set(own)
    families: dict[str, str] = {}

    def add_rows(query: str) -> None:
        rows = store.query(query)
        assert isinstance(rows, Rows)
        for s, p, o in rows:
            data.add((s, p, o))

    def add_controls(rows: Rows) -> None:
        for c, cid, family in rows:
            if cid is not None:
                data.add((c, GC.identifier, cid))
                families[str(cid)] = str(family or "")

    rows = store.query(BASELINE % values_block("b", [baseline]))
    assert isinstance(rows, Rows)
    for c, *_ in rows:
        data.add((baseline, GC.includesControl, c))
    add_controls(rows)
    label = store.query(LABEL, {"b": baseline})
    assert isinstance(label, Rows)
    if label.rows and label.rows[0][0] is not None:
        data.add((baseline, RDFS.label, label.rows[0][0]))

    nodes = {o for s, p, o in own if p in NAMED_BY_CONTROL_SETS}
    if nodes:
        add_rows(DESCRIBE_NODES % values_block("s", nodes))
    laws = objects(data, None, GC.inScopeOf)
    if laws:
        add_rows(DESCRIBE_NODES % values_block("s", laws))
        kinds = objects(data, None, GC.requiresAgreementType)
        if kinds:
            add_rows(LABELS % values_block("s", kinds))
    services = objects(data, None, GC.usesService)  # and the programmes they are in scope of
    if services:
        add_rows(DESCRIBE_NODES % values_block("s", services))
    orgs = objects(data, control_set, GC.ownedBy)
    if orgs:
        add_rows(PLANS % values_block("org", orgs))
    implemented = {c for c in objects(own, None, GC.implementsControl) if isinstance(c, URIRef)}
    outside = implemented - objects(data, baseline, GC.includesControl)
    if outside:
        rows = store.query(CONTROLS % values_block("c", outside))
        assert isinstance(rows, Rows)
        add_controls(rows)
    covered = objects(data, None, GC.coversBaseline) - {baseline}
    if implemented and covered:
        rows = store.query(COVERED % (values_block("b", covered)
                                      + values_block("c", implemented)))
        assert isinstance(rows, Rows)
        for b, c in rows:
            data.add((b, GC.includesControl, c))
    data |= {
        (REQUEST, RDF.type, GC.ValidationRequest), (REQUEST, GC.validates, control_set),
        (REQUEST, GC.againstBaseline, baseline), (REQUEST, GC.asOf, _day(as_of)),
        (REQUEST, GC.reviewMonths, Literal(review_months)),
        (REQUEST, GC.reviewedSince, _day(_months_before(as_of, review_months))),
        (REQUEST, GC.riskReviewedSince, _day(_months_before(as_of, RISK_REVIEW_MONTHS))),
    }
    return data, families


def _day(day: date) -> Literal:
    return Literal(day.isoformat(), datatype=XSD.date)


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    for last in (day.day, 30, 29, 28):  # 31 March minus one month is 28/29 February
        try:
            return date(year, month + 1, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# ------------------------------------------------------------------ engines


def run_fast(data: set[Triple]) -> list[Result]:
    """Each constraint once for all focus nodes: ``$this`` becomes a variable bound by
    the shape's target (instances of the class, SHACL's rdfs:subClassOf* included)."""
    store = EmbeddedStore(keep_answers=False)  # used once
    store.write({str(ID["validation/data"]): list(data)})
    results = []
    for c in constraints():
        body = re.sub(r"\$this\b", "?this", c.select)
        opening = body.index("{", body.index("WHERE")) + 1
        target = (f" ?this <{RDF.type}>/<{RDFS.subClassOf}>* <{c.target}> . ")
        rows = store.query(body[:opening] + target + body[opening:])
        assert isinstance(rows, Rows)
        for row in rows.dicts():
            focus = row.pop("this")
            value = row.pop("value", None)
            row.pop("path", None)
            bound = {k: v for k, v in row.items() if v is not None}
            bound["this"] = focus
            bound["value"] = value if value is not None else focus
            results.append(Result(c.severity, c.shape, focus, bound["value"],
                                  _message(c.message, bound)))
    store.close()
    return results


def _message(template: str, bound: dict[str, Term]) -> str:
    """pyshacl's substitution: {?name} or {$name} -> str(value)."""
    for name, value in bound.items():
        pattern = "{[?$]" + re.escape(name) + "}"
        template = re.sub(pattern, lambda _m, v=value: str(v), template)
    return template


def run_pyshacl(data: set[Triple]) -> list[Result]:
    """The reference engine, with our shapes graph and no inference or imports."""
    import pyshacl

    graph = Graph()
    for t in data:
        graph.add(t)
    _, report, _ = pyshacl.validate(graph, shacl_graph=shapes_graph(), inference="none",
                                    advanced=False, do_owl_imports=False,
                                    allow_warnings=True)
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(node, SH.resultSeverity)).rsplit("#", 1)[1]
        results.append(Result(severity, report.value(node, SH.sourceShape),
                              report.value(node, SH.focusNode), report.value(node, SH.value),
                              str(report.value(node, SH.resultMessage))))
    return results


ENGINES = {"fast": run_fast, "pyshacl": run_pyshacl}


# ------------------------------------------------------------------ entry


def validate(store: Store, *, path: Path | None = None, data: bytes | None = None,
             graph: str | None = None, baseline: str | None = None,
             framework: str | None = None, as_of: date | None = None,
             review_months: int = 12, engine: str = "fast",
             limits: InputLimits = LIMITS) -> Report:
    """Validate a control set given as a file (``path`` and its bytes) or as a named
    graph of the store. An SSP file's control ids are read as ``framework``'s, else as
    those of the baseline given, else as the SSP's profile says. Raises BadInput for
    input that is not a control set, an unknown baseline or a bad cadence; the store is
    only read."""
    if (path is None) == (graph is None):
        raise BadInput("give either a file or --graph", where="validate")
    if not 1 <= review_months <= 120:
        raise BadInput("must be between 1 and 120 months", where="--review-months")
    if engine not in ENGINES:
        raise BadInput(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}",
                       where="--engine")
    if path is not None:
        source = str(path)
        if framework is not None:
            check_framework(store, framework)
        elif baseline:
            framework = baseline_framework(store, resolve_baseline(store, baseline, set(),
                                                                   ID["none"]))
        own = read_control_set(path, data if data is not None else path.read_bytes(), store,
                               framework, limits)
    else:
        source = str(graph)
        own = graph_from_store(store, str(graph))
    control_set = control_set_of(own, source)
    target = resolve_baseline(store, baseline, own, control_set)
    day = as_of or date.today()
    graph_data, families = data_graph(store, own, control_set, target, day, review_months)
    report = Report(control_set, target, day, source, data_triples=len(graph_data))
    report.controls = {cid: families.get(cid, "") for cid in families}
    control_of = {s: o for s, p, o in graph_data if p == IMPLEMENTS}
    identifier = {s: str(o) for s, p, o in graph_data if p == IDENTIFIER}
    for result in ENGINES[engine](graph_data):
        report.results.append(_placed(result, control_of, identifier, families))
    report.results.sort(key=lambda r: (r.family, r.control, SEVERITIES.index(r.severity),
                                       str(r.shape), r.message))
    return report


def _placed(result: Result, control_of: dict[Term, Term], identifier: dict[Term, str],
            families: dict[str, str]) -> Result:
    """The result with the control it is about (the focus's control, or the value when
    it is a control) and that control's family."""
    cid = ""
    for node in (control_of.get(result.focus), result.value):
        if identifier.get(node) in families:
            cid = identifier[node]
            break
    return Result(result.severity, result.shape, result.focus, result.value, result.message,
                  cid, families.get(cid, ""))
