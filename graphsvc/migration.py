"""Carrying a control set to another framework revision (800-53 rev4 -> rev5) or release.

Each implementation is carried along the revision mappings loaded in the store, read
from the control set's side: kept as it is where the relation is equal or
equivalent-to, carried and flagged for review where it is subset-of, superset-of,
intersects-with or not stated, dropped with the reason where the target revision
withdrew the control or no loaded mapping reaches it (no claim is made from a missing
mapping). Within one framework (a new release of the same revision) controls stay,
withdrawn ones are dropped, and parameter values follow the releases' renamed
parameter ids. The target baseline's controls that nothing reaches are listed as work:
"new" when no control of the old revision maps to them, else "not implemented".

The result is a new control set (its own graph) and an OSCAL SSP that `import oscal`
reads back. Every row says how it was reached: the mapping and its source.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from rdflib import RDF, RDFS, Literal, URIRef

from graphsvc import __version__
from graphsvc.crosswalks import framework_of
from graphsvc.errors import NotFound
from graphsvc.identity import framework_iri, parameter_iri
from graphsvc.namespaces import GC, GRAPH, ID
from graphsvc.questions import baseline_iri, expand
from graphsvc.store import Rows, Store, Term, Triple
from graphsvc.store.bindings import values_block

PREFIXES = """PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
IMPLEMENTATIONS = PREFIXES + """
SELECT ?impl ?control ?p ?o WHERE {
  ?impl gc:inControlSet ?controlSet ; gc:implementsControl ?control ; ?p ?o .
  VALUES ?p { gc:status gc:responsibility gc:owner gc:customerPart gc:origination
              gc:inheritedUnder gc:justification gc:lastReviewed gc:evidence
              gc:effectiveness }
}"""
CONTROL_SET = PREFIXES + """
SELECT ?p ?o WHERE { ?controlSet ?p ?o .
  VALUES ?p { rdfs:label gc:targetBaseline gc:describesSystem gc:ownedBy gc:leverages
              gc:hasAgreement } }"""
SETTINGS = PREFIXES + """
SELECT ?impl ?param ?value WHERE {
  ?setting gc:settingOf ?controlSet ; gc:statedIn ?impl ; gc:setsParameter ?param ;
           gc:parameterValue ?value .
}"""
# mappings between the given requirements and the target framework, from their side
MAPPINGS = PREFIXES + """
SELECT ?control ?other ?r ?m ?sourceLabel WHERE {
  %s
  {
    ?m gc:sourceRequirement ?control ; gc:targetRequirement ?other ; gc:relation ?r .
  } UNION {
    ?m gc:targetRequirement ?control ; gc:sourceRequirement ?other ; gc:relation ?rel .
    BIND (IF(?rel = gc:SubsetOf, gc:SupersetOf, IF(?rel = gc:SupersetOf, gc:SubsetOf, ?rel))
          AS ?r)
  }
  ?other gc:inFramework ?target .
  OPTIONAL { ?m gc:mappingSource/rdfs:label ?sourceLabel }
}"""
# whether the target release (its current one unless given) withdraws a requirement
TARGET_FACTS = PREFIXES + """
SELECT ?requirement ?withdrawn ?into WHERE {
  %s
  OPTIONAL { ?requirement gc:currentVersion/gc:inRelease ?current }
  ?v gc:versionOf ?requirement ; gc:inRelease ?statedIn .
  FILTER (?statedIn = COALESCE(?release, ?current))
  OPTIONAL { ?v gc:withdrawn ?withdrawn }
  OPTIONAL { ?v gc:incorporatedInto ?into }
}"""
BASELINE_MEMBERS = PREFIXES + "SELECT ?c WHERE { ?baseline gc:includesControl ?c }"
BASELINES = PREFIXES + """
SELECT ?baseline WHERE { ?baseline a gc:Baseline ; gc:selectsFrom ?target }"""
RENAMED = PREFIXES + "SELECT ?new ?old WHERE { ?new gc:renamedFrom ?old }"
PARAMETERS = PREFIXES + """
SELECT ?p WHERE { ?p a gc:Parameter ; gc:parameterOf/gc:inFramework ?target }"""
KEPT = {GC.Equal, GC.EquivalentTo}
REVIEW = {GC.SubsetOf, GC.SupersetOf, GC.IntersectsWith, GC.Unspecified}
RELATION_NAMES = {GC.Equal: "equal", GC.EquivalentTo: "equivalent-to",
                  GC.SubsetOf: "subset-of", GC.SupersetOf: "superset-of",
                  GC.IntersectsWith: "intersects-with", GC.Unspecified: "unspecified"}
FEDRAMP_NS = "https://fedramp.gov/ns/oscal"
# who implements it, as FedRAMP's control-origination says (which import reads back)
ORIGINATION = {GC.ProviderResponsibility: ("inherited",),
               GC.SharedResponsibility: ("inherited", "customer-configured"),
               GC.CustomerResponsibility: ("customer-configured",)}
STATUS_NAMES = {GC.Implemented: "implemented", GC.PartiallyImplemented: "partial",
                GC.Planned: "planned", GC.Alternative: "alternative",
                GC.NotApplicable: "not-applicable"}


@dataclass(frozen=True)
class Step:
    """What happened to one control: the row of a migration report."""

    outcome: str  # kept, review, dropped, new, not implemented
    source: str | None  # the old control's identifier
    target: str | None  # the new control's identifier
    relation: str | None = None
    mapping: str | None = None  # the mapping it was carried along, and its source
    mapping_source: str | None = None
    reason: str = ""


@dataclass
class Migration:
    control_set: URIRef
    framework: str  # the target framework slug
    new_control_set: URIRef
    baseline: URIRef | None
    steps: list[Step] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)
    implementations: list[dict[str, Any]] = field(default_factory=list)  # for the SSP
    title: str = ""

    @property
    def graph(self) -> str:
        return str(GRAPH[f"migration/{self.new_control_set.rsplit('/', 1)[-1]}"])

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for step in self.steps:
            out[step.outcome] += 1
        return dict(out)


def _rows(store: Store, query: str, **bindings: Term) -> list[tuple]:
    result = store.query(query, bindings=bindings or None)
    assert isinstance(result, Rows)
    return result.rows


def migrate(store: Store, control_set: str, framework: str, *,
            release: str | None = None, baseline: str | None = None) -> Migration:
    """The control set (an IRI or id:controlset/...) carried to ``framework`` (its
    current release, or ``release``; the target baseline ``baseline``, a slug or an IRI),
    not yet written: see :func:`graphsvc.writes.commit` for that."""
    return _migrate(
        store, URIRef(expand(control_set, "control set")), framework,
        URIRef(expand(release, "release")) if release else None,
        URIRef(baseline_iri(baseline, "baseline")) if baseline else None)


def _migrate(store: Store, control_set: URIRef, framework: str, release: URIRef | None,
             baseline: URIRef | None) -> Migration:
    target = framework_iri(framework)
    if not _rows(store, PREFIXES + "SELECT ?t WHERE { ?t a gc:Framework }", t=target):
        raise NotFound(f"no framework {framework!r} is loaded", where="--to")
    described = dict(_rows(store, CONTROL_SET, controlSet=control_set))
    implemented: dict[URIRef, dict[URIRef, list[Term]]] = defaultdict(lambda: defaultdict(list))
    controls: dict[URIRef, URIRef] = {}
    for impl, control, p, o in _rows(store, IMPLEMENTATIONS, controlSet=control_set):
        implemented[impl][p].append(o)
        controls[impl] = control
    if not implemented:
        raise NotFound(f"<{control_set}> has no implementations in the store",
                       where="control set")
    new = ID[f"controlset/{uuidlib.uuid5(uuidlib.NAMESPACE_URL, f'{control_set}->{framework}')}"]
    baseline = baseline or _counterpart(store, described.get(GC.targetBaseline), target)
    migration = Migration(control_set, framework, new, baseline,
                          title=f"{described.get(RDFS.label) or control_set} ({framework})")
    settings = _settings(store, control_set, framework)
    same_framework = {c for c in controls.values() if str(c).startswith(f"{target}/")}
    candidates = set(same_framework)
    by_control: dict[URIRef, list[tuple]] = defaultdict(list)
    others = set(controls.values()) - same_framework
    if others:
        for control, other, r, m, label in _rows(
                store, MAPPINGS % values_block("control", others), target=target):
            if r in KEPT | REVIEW:
                by_control[control].append((other, r, m, label))
                candidates.add(other)
    facts = _facts(store, candidates, release)
    reached: set[URIRef] = set()
    for impl in sorted(implemented, key=lambda i: str(controls[i])):
        control = controls[impl]
        if control in same_framework:
            routes = [(control, GC.Equal, None, None)]
        else:
            routes = by_control.get(control, [])
        if not routes:
            migration.steps.append(Step("dropped", _id(control), None, reason=(
                f"no loaded mapping reaches {framework} from it")))
            continue
        for other, relation, mapping, label in sorted(routes, key=lambda r: str(r[0])):
            withdrawn, into = facts.get(other, (False, None))
            if withdrawn:
                migration.steps.append(Step(
                    "dropped", _id(control), _id(other), RELATION_NAMES.get(relation),
                    _str(mapping), _str(label), f"withdrawn in {framework}" + (
                        f"; incorporated into {_id(into)}" if into else "")))
                continue
            outcome = "kept" if relation in KEPT else "review"
            migration.steps.append(Step(
                outcome, _id(control), _id(other), RELATION_NAMES.get(relation),
                _str(mapping), _str(label),
                "" if outcome == "kept" else f"{_id(control)} is {RELATION_NAMES[relation]} "
                f"{_id(other)}: check that the implementation meets {_id(other)}"))
            reached.add(other)
            carried = settings.get(impl, [])
            lost = [pid for param, pid, _ in carried if param is None]
            if lost:
                migration.steps[-1] = replace(migration.steps[-1], reason=(
                    migration.steps[-1].reason + ("; " if migration.steps[-1].reason else "")
                    + f"values of {', '.join(lost)} not carried: {framework} has no "
                      "parameter of that id"))
            _carry(migration, impl, implemented[impl], other, outcome,
                   [(param, value) for param, _, value in carried if param is not None])
    _work(store, migration, reached, {framework_iri(framework_of(str(c))) for c in others})
    _describe(migration, described)
    return migration


def _id(iri: object) -> str | None:
    return unquote(str(iri).rsplit("/", 1)[-1]) if iri is not None else None


def _str(term: object) -> str | None:
    return None if term is None else str(term)


def _counterpart(store: Store, baseline: object, target: URIRef) -> URIRef | None:
    """The target framework's baseline of the same level and publisher (NIST rev4 LOW
    -> NIST rev5 LOW, FedRAMP rev4 MODERATE -> FedRAMP rev5 MODERATE)."""
    if baseline is None:
        return None
    name = str(baseline).rsplit("/", 1)[-1]
    publisher, level = name.split("-", 1)[0], name.rsplit("-", 1)[-1]
    found = sorted(str(b) for (b,) in _rows(store, BASELINES, target=target)
                   if str(b).rsplit("-", 1)[-1] == level)
    same = [b for b in found if b.rsplit("/", 1)[-1].startswith(publisher)]
    return URIRef((same or found)[0]) if found else None


def _settings(store: Store, control_set: URIRef, framework: str
              ) -> dict[URIRef, list[tuple[URIRef | None, str, Term]]]:
    """Implementation -> (parameter of the target framework or None, id, value): a value
    goes to the target's parameter of the same id, under the id its newest release
    gives it (5.0.1's ac-2_prm_1 is 5.1.1's ac-02_odp.01); None when it has none."""
    newer = {old: new for new, old in _rows(store, RENAMED)}
    known = {p for (p,) in _rows(store, PARAMETERS, target=framework_iri(framework))}
    out: dict[URIRef, list[tuple[URIRef | None, str, Term]]] = defaultdict(list)
    for impl, param, value in _rows(store, SETTINGS, controlSet=control_set):
        pid = unquote(str(param).rsplit("/", 1)[-1])
        there = parameter_iri(framework, pid)
        there = newer.get(there, there)
        out[impl].append((there if there in known else None, pid, value))
    return out


def _facts(store: Store, requirements: set[URIRef], release: URIRef | None
           ) -> dict[URIRef, tuple[bool, URIRef | None]]:
    if not requirements:
        return {}
    bindings = {"release": release} if release is not None else {}
    rows = _rows(store, TARGET_FACTS % values_block("requirement", requirements), **bindings)
    return {r: (bool(w is not None and w.toPython()), into) for r, w, into in rows}


def _carry(migration: Migration, old: URIRef, facts: dict[URIRef, list[Term]],
           control: URIRef, outcome: str, settings: list[tuple[URIRef, Term]]) -> None:
    """The implementation as the new control set's: the same statements, on the new
    control, with where it came from; flagged when the mapping asks for a review."""
    impl = URIRef(f"{migration.new_control_set}/impl/{control.rsplit('/', 1)[-1]}")
    add = migration.triples.append
    add((impl, RDF.type, GC.ControlImplementation))
    add((impl, GC.inControlSet, migration.new_control_set))
    add((impl, GC.implementsControl, control))
    add((impl, GC.identifier, Literal(_id(control))))
    add((impl, GC.migratedFrom, old))
    if outcome == "review":
        add((impl, GC.needsReview, Literal(True)))
    for p, values in facts.items():
        for value in values:
            add((impl, p, value))
    for param, value in settings:
        node = URIRef(f"{migration.new_control_set}/setting/{param.rsplit('/', 1)[-1]}")
        add((node, RDF.type, GC.ParameterSetting))
        add((node, GC.settingOf, migration.new_control_set))
        add((node, GC.setsParameter, param))
        add((node, GC.statedIn, impl))
        add((node, GC.identifier, Literal(_id(param))))
        add((node, GC.parameterValue, value))
    migration.implementations.append({"control": _id(control), "facts": facts,
                                      "settings": settings, "review": outcome == "review"})


def _work(store: Store, migration: Migration, reached: set[URIRef],
          old_frameworks: set[URIRef]) -> None:
    """The target baseline's controls nothing carried reaches: new, or not implemented."""
    if migration.baseline is None:
        return
    members = {c for (c,) in _rows(store, BASELINE_MEMBERS, baseline=migration.baseline)}
    open_ = members - reached
    predecessors: dict[URIRef, set[URIRef]] = defaultdict(set)
    for framework in old_frameworks if open_ else ():
        for control, other, r, _, _ in _rows(
                store, MAPPINGS % values_block("control", open_), target=framework):
            if r in KEPT | REVIEW:
                predecessors[control].add(other)
    for control in sorted(open_, key=str):
        before = sorted(_id(p) or "" for p in predecessors.get(control, ()))
        if before:
            migration.steps.append(Step("not implemented", None, _id(control), reason=(
                f"maps from {', '.join(before)}, which the control set did not implement")))
        elif old_frameworks:
            migration.steps.append(Step("new", None, _id(control), reason=(
                "no control of the old revision maps to it")))
        else:
            migration.steps.append(Step("not implemented", None, _id(control), reason=(
                "the control set does not implement it")))


def _describe(migration: Migration, described: dict[URIRef, Term]) -> None:
    cs = migration.new_control_set
    add = migration.triples.append
    add((cs, RDF.type, GC.ControlSet))
    add((cs, RDFS.label, Literal(migration.title)))
    add((cs, GC.migratedFrom, migration.control_set))
    if migration.baseline is not None:
        add((cs, GC.targetBaseline, migration.baseline))
    for p in (GC.describesSystem, GC.ownedBy, GC.leverages, GC.hasAgreement):
        if p in described:
            add((cs, p, described[p]))


def oscal_ssp(migration: Migration) -> dict[str, Any]:
    """The migrated control set as an OSCAL 1.1 SSP that `graphsvc import oscal` reads
    back: one implemented requirement per carried control, by the system component."""
    system = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{migration.new_control_set}/system"))
    requirements = []
    for entry in migration.implementations:
        facts = entry["facts"]
        status = STATUS_NAMES.get(next(iter(facts.get(GC.status, [])), None))
        props = [{"name": "implementation-status", "value": status}] if status else []
        responsibility = next(iter(facts.get(GC.responsibility, [])), None)
        props += [{"name": "control-origination", "ns": FEDRAMP_NS, "value": origin}
                  for origin in ORIGINATION.get(responsibility, ())]
        if entry["review"]:
            props.append({"name": "migration-review", "ns": "https://w3id.org/graphsvc/ns",
                          "value": "true"})
        requirements.append({
            "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                      f"{migration.new_control_set}/{entry['control']}")),
            "control-id": entry["control"], "props": props,
            **({"set-parameters": [{"param-id": _id(p), "values": [str(v)]}
                                   for p, v in entry["settings"]]} if entry["settings"] else {}),
            **({"responsible-roles": [{"role-id": str(o)} for o in facts[GC.owner]]}
               if facts.get(GC.owner) else {}),
            "by-components": [{
                "component-uuid": system,
                "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                          f"{migration.new_control_set}/{entry['control']}/by")),
                "description": "\n\n".join(str(t) for t in facts.get(GC.customerPart, []))
                or f"Carried from {migration.control_set} by graphsvc.",
                **({"implementation-status": {"state": status}} if status else {}),
            }],
        })
    now = datetime.now(UTC).isoformat(timespec="seconds")
    baseline = _id(migration.baseline) if migration.baseline is not None else migration.framework
    return {"system-security-plan": {
        "uuid": migration.new_control_set.rsplit("/", 1)[-1],
        "metadata": {"title": migration.title, "last-modified": now, "version": "1",
                     "oscal-version": "1.1.2",
                     "props": [{"name": "generator", "value": f"graphsvc {__version__}"}]},
        "import-profile": {"href": f"{baseline}.json"},
        "system-characteristics": {
            "system-ids": [{"id": migration.new_control_set.rsplit("/", 1)[-1]}],
            "system-name": migration.title,
            "description": f"Migrated by graphsvc from {migration.control_set}.",
            "security-sensitivity-level": "low",
            "system-information": {"information-types": []},
            "security-impact-level": {},
            "status": {"state": "operational"},
            "authorization-boundary": {"description": "As in the source control set."}},
        "system-implementation": {"users": [], "components": [{
            "uuid": system, "type": "this-system", "title": "This system",
            "description": "The system the control set describes.",
            "status": {"state": "operational"}}]},
        "control-implementation": {
            "description": f"Controls of {migration.framework}, carried by graphsvc.",
            "implemented-requirements": requirements},
    }}


def report_rows(migration: Migration) -> Rows:
    """The steps as a table (outcome, from, to, relation, source, reason)."""
    columns = ["outcome", "from", "to", "relation", "mappingSource", "reason"]
    return Rows(columns, [tuple(None if v is None else Literal(v) for v in (
        s.outcome, s.source, s.target, s.relation, s.mapping_source, s.reason or None))
        for s in migration.steps])
