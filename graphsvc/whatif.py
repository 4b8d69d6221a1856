"""What if an attestation lapses, a programme goes, a service leaves a programme's scope,
or the control set moves to another baseline?

The same questions answer a scenario as answer today: the facts coverage reads about
one control set (its statements, the baselines, the attestations it inherits under,
their programmes and services, the mappings of its controls, the families) are copied
into a store in memory, the scenario changes that copy, and `coverage` and
`control-coverage` answer on it; "before" is their answer on the store itself. So a
what-if never disagrees with the dashboard, whatever rules coverage follows (a test
checks that the copy with no change answers as the store does).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from rdflib import XSD, Literal, URIRef

from graphsvc.control_states import derive, states_graph
from graphsvc.errors import BadInput, NotFound
from graphsvc.namespaces import GC
from graphsvc.output import plain_rows
from graphsvc.questions import ask, baseline_iri, expand, parse_day
from graphsvc.store import Rows, Store, Term, Triple
from graphsvc.store.bindings import values_block
from graphsvc.store.embedded import EmbeddedStore

COPY_GRAPH = "urn:graphsvc:what-if"
PREFIX = """PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
# everything coverage reads about one control set, as (s, p, o) rows
FACTS = PREFIX + """
SELECT DISTINCT ?s ?p ?o WHERE {
  {
    ?s gc:inControlSet ?controlSet ; ?p ?o .
  } UNION {
    BIND (?controlSet AS ?s) ?s ?p ?o .
  } UNION {
    ?controlSet gc:describesSystem ?s . ?s ?p ?o .
  } UNION {
    ?i gc:inControlSet ?controlSet ; gc:inheritedUnder ?s . ?s ?p ?o .
  } UNION {
    # the names of the statuses and responsibilities the statements use
    ?i gc:inControlSet ?controlSet ; ?named ?s . FILTER (?named IN (gc:status, gc:responsibility))
    ?s ?p ?o . FILTER (?p IN (gc:identifier, rdfs:label))
  } UNION {
    ?controlSet gc:leverages ?s . ?s ?p ?o .
  } UNION {
    %s
    ?s ?p ?o . FILTER (?p IN (gc:includesControl, gc:selectsFrom, rdf:type))
  } UNION {
    ?i gc:inControlSet ?controlSet ; gc:inheritedUnder/gc:coversBaseline ?s . ?s ?p ?o .
    FILTER (?p = gc:includesControl)
  } UNION {
    # the mappings of its controls that coverage can count (a stated set relation:
    # unspecified and no-relationship never count)
    ?i gc:inControlSet ?controlSet ; gc:implementsControl ?c .
    { ?s gc:sourceRequirement ?c } UNION { ?s gc:targetRequirement ?c }
    ?s gc:relation ?relation
    FILTER (?relation IN (gc:Equal, gc:EquivalentTo, gc:SupersetOf, gc:SubsetOf,
                          gc:IntersectsWith))
    ?s ?p ?o .
  } UNION {
    ?i gc:inControlSet ?controlSet ; gc:inheritedUnder/gc:ofProgram ?program .
    ?s gc:inScopeOf ?program ; ?p ?o . FILTER (?p = gc:inScopeOf)
  }
}"""
# the families of the baselines' controls (the requirements' own identifiers come with
# the framework index the copy computes)
FAMILIES = PREFIX + """
SELECT DISTINCT ?s ?p ?o WHERE {
  %s
  ?b gc:includesControl ?c .
  { ?c ?p ?o . FILTER (?p IN (gc:inFamily, gc:identifier, gc:title)) BIND (?c AS ?s) }
  UNION { ?c gc:inFamily ?s . ?s ?p ?o . FILTER (?p IN (gc:identifier, gc:title, rdf:type)) }
}"""
ARTIFACTS_OF = PREFIX + "SELECT ?a WHERE { ?a gc:ofProgram ?program }"


@dataclass(frozen=True)
class Change:
    """One change of the scenario."""

    kind: str  # lapse, renew, drop-program, service-out, baseline
    subject: URIRef  # an artifact, a programme, a service or a baseline
    day: date | None = None  # lapse: from this day; renew: valid until this day
    program: URIRef | None = None  # service-out: the programme it leaves

    def describe(self) -> str:
        name = self.subject.rsplit("/", 1)[-1]
        return {"lapse": f"{name} lapses on {self.day}",
                "renew": f"{name} is renewed until {self.day}",
                "drop-program": f"programme {name} is removed",
                "service-out": f"service {name} leaves the scope of "
                               f"{(self.program or '').rsplit('/', 1)[-1]}",
                "baseline": f"the control set moves to baseline {name}"}[self.kind]


@dataclass
class WhatIf:
    control_set: URIRef
    baseline: URIRef
    as_of: date
    changes: list[Change]
    families: list[dict[str, Any]] = field(default_factory=list)  # before and after
    controls: list[dict[str, Any]] = field(default_factory=list)  # whose state changes


def parse_change(text: str) -> Change:
    """``lapse:ARTIFACT[@YYYY-MM-DD]``, ``renew:ARTIFACT@YYYY-MM-DD``,
    ``drop-program:PROGRAMME``, ``service-out:SERVICE@PROGRAMME``, ``baseline:BASELINE``
    (IRIs or id:... names)."""
    kind, _, rest = text.partition(":")
    where = f"change {text!r}"
    if kind not in ("lapse", "renew", "drop-program", "service-out", "baseline") or not rest:
        raise BadInput("a change is lapse:ARTIFACT[@DAY], renew:ARTIFACT@DAY, "
                       "drop-program:PROGRAMME, service-out:SERVICE@PROGRAMME or "
                       "baseline:BASELINE", where=where)
    name, _, extra = rest.rpartition("@") if "@" in rest and kind != "drop-program" else (
        rest, "", "")
    subject = URIRef(expand(name if ":" in name else f"id:{name}", where))
    if kind == "service-out":
        if not extra:
            raise BadInput("say which programme it leaves: service-out:SERVICE@PROGRAMME",
                           where=where)
        return Change(kind, subject, program=URIRef(expand(
            extra if ":" in extra else f"id:{extra}", where)))
    if kind == "renew" and not extra:
        raise BadInput("say until when: renew:ARTIFACT@YYYY-MM-DD", where=where)
    day = parse_day(extra, where) if extra else None
    return Change(kind, subject, day=day)


TARGET = PREFIX + "SELECT ?b WHERE { ?controlSet gc:targetBaseline ?b }"
STATES_SOMETHING = PREFIX + "SELECT ?s WHERE { ?s gc:inControlSet ?controlSet } LIMIT 1"


def what_if(store: Store, control_set: str, baseline: str | None, as_of: date,
            changes: list[Change]) -> WhatIf:
    """Coverage per family and the controls whose state changes, before and after
    (``baseline``: a slug or an IRI; default: the control set's target baseline)."""
    cs = URIRef(expand(control_set, "controlSet"))
    if not _rows(store, STATES_SOMETHING, controlSet=cs):
        raise NotFound(f"<{cs}> states no control in the store", where="controlSet")
    if not baseline:
        target = _rows(store, TARGET, controlSet=cs)
        if not target:
            raise BadInput("the control set names no target baseline: give one",
                           where="baseline")
        baseline = str(target[0][0])
    base = URIRef(baseline_iri(baseline, "baseline"))
    after_base = next((c.subject for c in changes if c.kind == "baseline"), base)
    facts = set(_rows(store, FACTS % values_block("s", {base, after_base}), controlSet=cs))
    facts |= set(_rows(store, FAMILIES % values_block("b", {base, after_base})))
    changes = [replace(c, day=as_of) if c.kind == "lapse" and c.day is None else c
               for c in changes]  # lapses on the day asked, unless told
    for change in changes:
        _check(store, facts, change)
    changed = set(facts)
    for change in changes:
        changed = _apply(store, changed, change, as_of)
    result = WhatIf(cs, base, as_of, changes)
    before = _answers(store, cs, base, as_of)  # today's answers, from the store itself
    with EmbeddedStore(keep_answers=False) as copy:
        copy.write({COPY_GRAPH: list(changed)})
        copy.write({states_graph(s): triples for s, triples in derive(copy).items()},
                   replace=False)
        after = _answers(copy, cs, after_base, as_of)
    _compare(result, before, after, changes)
    return result


KIND = PREFIX + """
SELECT ?kind WHERE {
  ?s a/rdfs:subClassOf* ?kind
  FILTER (?kind IN (gc:AssuranceProgram, gc:CloudService, gc:Baseline))
}"""
IN_SCOPE = PREFIX + """
SELECT ?s WHERE {
  { ?s gc:inScopeOf ?program } UNION { ?a gc:ofProgram ?program ; gc:coversService ?s }
} LIMIT 1"""
KINDS = {"drop-program": GC.AssuranceProgram, "service-out": GC.CloudService,
         "baseline": GC.Baseline}


def _check(store: Store, facts: set[Triple], change: Change) -> None:
    """A change names something there is: an attestation the control set inherits
    under, a programme, a service (and a programme it is in the scope of), a baseline."""
    where = f"change {change.kind}"
    if change.kind in ("lapse", "renew"):
        if not any(p == GC.inheritedUnder and o == change.subject for _, p, o in facts):
            raise NotFound(f"the control set inherits nothing under <{change.subject}>",
                           where=where)
        return
    kinds = {k for (k,) in _rows(store, KIND, s=change.subject)}
    if KINDS[change.kind] not in kinds:
        raise NotFound(f"<{change.subject}> is not a {KINDS[change.kind].rsplit('#', 1)[-1]}"
                       " in the store", where=where)
    if change.kind == "service-out" and not _rows(store, IN_SCOPE, s=change.subject,
                                                  program=change.program):
        raise NotFound(f"<{change.subject}> is not in the scope of <{change.program}>",
                       where=where)


def _rows(store: Store, query: str, **bindings: Term) -> list[Triple]:
    rows = store.query(query, bindings=bindings or None)
    assert isinstance(rows, Rows)
    return [tuple(r) for r in rows.rows]  # type: ignore[misc]


def _apply(store: Store, facts: set[Triple], change: Change, as_of: date) -> set[Triple]:
    if change.kind in ("lapse", "renew"):
        ends = (change.day or as_of) - timedelta(days=1) if change.kind == "lapse" else change.day
        assert ends is not None
        kept = {t for t in facts if not (t[0] == change.subject and t[1] == GC.validUntil)}
        return kept | {(change.subject, GC.validUntil, Literal(ends.isoformat(),
                                                                 datatype=XSD.date))}
    if change.kind == "drop-program":
        artifacts = {a for (a,) in _rows(store, ARTIFACTS_OF, program=change.subject)}
        return {t for t in facts if t[0] not in artifacts}
    if change.kind == "service-out":
        artifacts = {a for (a,) in _rows(store, ARTIFACTS_OF, program=change.program)}
        return {t for t in facts if not (
            (t[0] == change.subject and t[1] == GC.inScopeOf and t[2] == change.program)
            or (t[0] in artifacts and t[1] == GC.coversService and t[2] == change.subject))}
    return facts  # baseline: the after run asks against the other baseline


def _answers(store: Store, control_set: URIRef, baseline: URIRef, as_of: date
             ) -> tuple[list[dict], list[dict]]:
    given = {"controlSet": str(control_set), "baseline": str(baseline),
             "as_of": as_of.isoformat()}
    return (plain_rows(ask(store, "coverage", given)),
            plain_rows(ask(store, "control-coverage", given)))


def _compare(result: WhatIf, before: tuple[list[dict], list[dict]],
             after: tuple[list[dict], list[dict]], changes: list[Change]) -> None:
    families: dict[str, dict[str, Any]] = defaultdict(dict)
    for when, (rows, _) in (("before", before), ("after", after)):
        for row in rows:
            families[row["family"] or ""].update({
                f"{key}{when.capitalize()}": int(row[key] or 0)
                for key in ("controls", "full", "partial", "none", "inherited")})
    result.families = [{"family": f, **v} for f, v in sorted(families.items())]
    earlier = {r["control"]: r for r in before[1]}
    later = {r["control"]: r for r in after[1]}
    for control in sorted(set(earlier) | set(later), key=_natural):
        old, new = earlier.get(control), later.get(control)
        if _state(old) == _state(new):
            continue
        result.controls.append({
            "control": control, "identifier": (new or old)["identifier"],
            "family": (new or old)["family"], "levelBefore": _state(old)[0],
            "levelAfter": _state(new)[0], "before": _state(old)[1], "after": _state(new)[1],
            "why": _why(old, new, changes)})


def _state(row: dict | None) -> tuple[str | None, str]:
    """The level and what it rests on (a shared control's provider part counts too)."""
    if row is None:
        return None, "not in the baseline"
    inherited = row["inherited"] == "1" and row["category"] != "inherited"
    return row["level"], row["category"] + (", provider part inherited" if inherited else "")


def _why(old: dict | None, new: dict | None, changes: list[Change]) -> str:
    if old is None or new is None:
        moved = next(c for c in changes if c.kind == "baseline")
        name = moved.subject.rsplit("/", 1)[-1]
        return f"added by {name}" if old is None else f"not in {name}"
    artifact = old.get("artifact") or new.get("artifact")
    for change in changes:
        if change.kind in ("lapse", "renew") and artifact == str(change.subject):
            return change.describe()
        if change.kind in ("drop-program", "service-out") and artifact:
            return f"{change.describe()} ({artifact.rsplit('/', 1)[-1]})"
    return "; ".join(c.describe() for c in changes)


def _natural(iri: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", iri))


FAMILY_COLUMNS = ["family", *(f"{k}{w}" for w in ("Before", "After")
                              for k in ("controls", "full", "partial", "none", "inherited"))]
CONTROL_COLUMNS = ["identifier", "family", "levelBefore", "levelAfter", "before", "after",
                   "why", "control"]


def family_rows(result: WhatIf) -> Rows:
    """Per family: the coverage figures before and after, as a table."""
    return Rows(FAMILY_COLUMNS, [tuple(Literal(f.get(c, 0)) for c in FAMILY_COLUMNS)
                                 for f in result.families])


def summary_rows(result: WhatIf) -> Rows:
    """Per family and in total, for people: each figure as ``before -> after`` where it
    changes."""
    keys = ("controls", "full", "partial", "none", "inherited")
    total = {f"{k}{w}": sum(f.get(f"{k}{w}", 0) for f in result.families)
             for k in keys for w in ("Before", "After")}
    lines = [*result.families, {"family": "all", **total}]
    return Rows(["family", *keys], [
        (Literal(f["family"]), *(Literal(_arrow(f.get(f"{k}Before", 0), f.get(f"{k}After", 0)))
                                 for k in keys)) for f in lines])


def _arrow(before: int, after: int) -> str:
    return str(before) if before == after else f"{before} -> {after}"


def control_rows(result: WhatIf) -> Rows:
    """The controls whose state changes, with why, as a table."""
    return Rows(CONTROL_COLUMNS, [tuple(None if c.get(k) is None else Literal(c[k])
                                        for k in CONTROL_COLUMNS) for c in result.controls])


def as_json(result: WhatIf) -> dict[str, Any]:
    return {"controlSet": str(result.control_set), "baseline": str(result.baseline),
            "as_of": result.as_of.isoformat(),
            "changes": [c.describe() for c in result.changes],
            "families": result.families, "controls": result.controls}


OPTIONS = PREFIX + """
SELECT ?kind ?thing ?label WHERE {
  {
    ?i gc:inControlSet ?controlSet ; gc:inheritedUnder ?thing . BIND ("artifact" AS ?kind)
  } UNION {
    ?controlSet gc:describesSystem/gc:usesService ?thing . BIND ("service" AS ?kind)
  } UNION {
    ?a gc:ofProgram ?thing . BIND ("programme" AS ?kind)
  }
  OPTIONAL { ?thing rdfs:label ?l }
  BIND (COALESCE(?l, STR(?thing)) AS ?label)
}
GROUP BY ?kind ?thing ?label
ORDER BY ?kind ?label"""


def scenario_options(store: Store, control_set: str) -> dict[str, list[tuple[str, str]]]:
    """What a scenario form offers for a control set: the attestations it inherits
    under, the services its system uses, the programmes with attestations."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for kind, thing, label in _rows(store, OPTIONS,
                                    controlSet=URIRef(expand(control_set, "controlSet"))):
        out[str(kind)].append((str(thing), str(label)))
    return dict(out)
