"""Control states: what a control set achieves for each control, and while what holds.

Coverage and gaps ask, for every control of a baseline, the best of several things: the
control set's own statement, the provider's part under an attestation valid on the day,
a one-member mapping from a control the set implements. Joined at question time that is
a union of four joins per control, which the engines plan badly (and Virtuoso 7 cannot
compile). So the joins are made once, when their inputs change, and kept as derived
facts: per control set one graph (``graph/derived/control-states/{hash}``) of states

    <state> gc:stateOf <control set> ; gc:stateControl <control> ;
            gc:coverageLevel 2 ;          # 1 partial, 2 full; absent: nothing
            gc:viaInheritance true ;      # relies on the provider (absent: no)
            gc:addresses true ;           # the control is not a gap (absent: it may be)
            gc:holdsFrom <date> ; gc:holdsUntil <date> .   # absent: no bound

A state without bounds always holds; one with bounds holds while the day asked lies
between them, compared by the engine as the questions compared the attestation's own
``gc:validFrom`` / ``gc:validUntil`` (the bounds are those literals). A question then
takes, per control, the best state that holds on the day: a filter, not a join. The
graph also gives the control set its number of implementation statements
(``gc:statementCount``, for the inventory) and names the control set and the graphs its
statements came from.

:func:`graphsvc.writes.commit` recomputes the states of the control sets a write touches
(their statements, the attestations and baselines they inherit under, the mappings of
the controls they implement) before writing, from what the store will hold afterwards,
and writes them in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping

from rdflib import RDF, Literal, URIRef
from rdflib.term import Node

from graphsvc.namespaces import GC, GRAPH, ID, PROV
from graphsvc.store import Rows, Store, Triple
from graphsvc.store.bindings import values_block

STATES_PREFIX = str(GRAPH["derived/control-states/"])

# what a control set's statements say (read for the sets a write touches)
STATEMENT_PREDICATES = frozenset({GC.inControlSet, GC.implementsControl, GC.status,
                                  GC.responsibility, GC.inheritedUnder, GC.justification})
# what an attestation covers and when, and what the baselines it covers include
ATTESTATION_PREDICATES = frozenset({GC.coversControl, GC.coversBaseline, GC.validFrom,
                                    GC.validUntil, GC.includesControl})
MAPPING_PREDICATES = frozenset({GC.sourceRequirement, GC.targetRequirement, GC.relation,
                                GC.sourceCount, GC.targetCount})
# the scope of attestations: the services a control set's system uses, those an
# attestation covers (or, where it names none, those in its programme's scope)
SCOPE_PREDICATES = frozenset({GC.describesSystem, GC.usesService, GC.coversService,
                              GC.ofProgram, GC.inScopeOf})
INPUT_PREDICATES = (STATEMENT_PREDICATES | ATTESTATION_PREDICATES | MAPPING_PREDICATES
                    | SCOPE_PREDICATES)

CHUNK = 400  # terms per VALUES block (the query guard caps a query's length)
PREFIXES = "PREFIX gc: <https://w3id.org/graphsvc/compliance#>\n"


def _values(predicates: Iterable[URIRef]) -> str:
    return "VALUES ?p { " + " ".join(f"<{p}>" for p in sorted(predicates)) + " }"


# the predicate sets above as the texts below read them
STATEMENT_VALUES = _values(STATEMENT_PREDICATES)
ATTESTATION_VALUES = _values(ATTESTATION_PREDICATES - {GC.includesControl} | SCOPE_PREDICATES)
MAPPING_VALUES = _values(MAPPING_PREDICATES)

# Reading the store: each query has one VALUES block (%s), checked terms only.
SETS_WITH_STATEMENTS_IN = PREFIXES + """
SELECT DISTINCT ?set WHERE {
  %s
  GRAPH ?g { ?s ?p ?o } ?s gc:inControlSet ?set
  """ + STATEMENT_VALUES + """
}"""
SETS_OF = PREFIXES + "SELECT DISTINCT ?set WHERE { %s ?s gc:inControlSet ?set }"
QUADS_IN = PREFIXES + "SELECT ?g ?s ?p ?o WHERE { %s GRAPH ?g { ?s ?p ?o } }"
# the statements of the subjects of a VALUES block (%s): of given statements, or (with
# a pattern from ?set to ?s before it) of given control sets
STATEMENTS_ABOUT = PREFIXES + """
SELECT ?g ?s ?p ?o WHERE {
  %s
  GRAPH ?g { ?s ?p ?o }
  """ + STATEMENT_VALUES + """
}"""
STATEMENTS_OF = STATEMENTS_ABOUT.replace("%s", "%s\n  ?s gc:inControlSet ?set .", 1)
ATTESTATIONS = PREFIXES + """
SELECT ?g ?s ?p ?o WHERE {
  GRAPH ?g { ?s ?p ?o }
  """ + ATTESTATION_VALUES + """
}"""
INCLUDED_BY = PREFIXES + """
SELECT ?g ?s ?p ?o WHERE { %s GRAPH ?g { ?s ?p ?o } VALUES ?p { gc:includesControl } }"""
MAPPINGS_OF = PREFIXES + """
SELECT ?g ?s ?p ?o WHERE {
  %s
  { ?s gc:sourceRequirement ?r } UNION { ?s gc:targetRequirement ?r }
  GRAPH ?g { ?s ?p ?o }
  """ + MAPPING_VALUES + """
}"""
INHERITING_SETS = PREFIXES + """
SELECT DISTINCT ?set WHERE { ?s gc:inheritedUnder ?artifact ; gc:inControlSet ?set }"""
IMPLEMENTING_SETS = PREFIXES + """
SELECT DISTINCT ?set WHERE { %s ?s gc:implementsControl ?r ; gc:inControlSet ?set }"""
MAPPED_IN = PREFIXES + """
SELECT DISTINCT ?r WHERE {
  %s
  GRAPH ?g { ?m ?p ?o }
  """ + MAPPING_VALUES + """
  { ?m gc:sourceRequirement ?r } UNION { ?m gc:targetRequirement ?r }
}"""

# Run on the in-memory copy of the inputs: every way a control set reaches a control,
# with the bounds of the attestation it depends on. The patterns are those the
# coverage and gaps questions joined on every call before (tests keep that text and
# compare both on every date where something changes).
CONTRIBUTIONS = PREFIXES + """
SELECT ?set ?control ?level ?inherited ?addresses ?from ?until ?artifact WHERE {
  {
    # the set's own statement; a shared control counts in full only while its
    # provider part is attested (next branch)
    ?impl gc:inControlSet ?set ; gc:implementsControl ?control ; gc:status ?status .
    OPTIONAL { ?impl gc:responsibility ?resp }
    FILTER (!BOUND(?resp) || ?resp != gc:ProviderResponsibility)
    BIND (IF(?status IN (gc:Implemented, gc:Alternative), 2,
             IF(?status = gc:PartiallyImplemented, 1, 0)) AS ?own)
    BIND (BOUND(?resp) && ?resp = gc:SharedResponsibility AS ?shared)
    BIND (IF(?shared && ?own = 2, 1, ?own) AS ?level)
    BIND (false AS ?inherited) BIND (false AS ?addresses)
  } UNION {
    ?impl gc:inControlSet ?set ; gc:implementsControl ?control ; gc:status ?status ;
          gc:responsibility gc:SharedResponsibility ; gc:inheritedUnder ?artifact .
    { ?artifact gc:coversControl ?control }
    UNION { ?artifact gc:coversBaseline/gc:includesControl ?control }
    OPTIONAL { ?artifact gc:validFrom ?from }
    OPTIONAL { ?artifact gc:validUntil ?until }
    BIND (IF(?status IN (gc:Implemented, gc:Alternative), 2,
             IF(?status = gc:PartiallyImplemented, 1, 0)) AS ?level)
    BIND (true AS ?inherited) BIND (false AS ?addresses)
  } UNION {
    # provider-owned, under an authorization or attestation that covers the control
    ?impl gc:inControlSet ?set ; gc:implementsControl ?control ;
          gc:responsibility gc:ProviderResponsibility ; gc:inheritedUnder ?artifact .
    { ?artifact gc:coversControl ?control }
    UNION { ?artifact gc:coversBaseline/gc:includesControl ?control }
    OPTIONAL { ?artifact gc:validFrom ?from }
    OPTIONAL { ?artifact gc:validUntil ?until }
    BIND (2 AS ?level) BIND (true AS ?inherited) BIND (true AS ?addresses)
  } UNION {
    # not a gap: a statement that is not the provider's nor an unjustified not-applicable
    ?impl gc:inControlSet ?set ; gc:implementsControl ?control .
    FILTER NOT EXISTS { ?impl gc:responsibility gc:ProviderResponsibility }
    FILTER NOT EXISTS { ?impl gc:status gc:NotApplicable
                        FILTER NOT EXISTS { ?impl gc:justification ?why } }
    BIND (0 AS ?level) BIND (false AS ?inherited) BIND (true AS ?addresses)
  } UNION {
    # an implemented control that a mapping relates to this one, where the implemented
    # side is one member (a relation between sets says nothing of one member otherwise)
    ?impl gc:inControlSet ?set ; gc:implementsControl ?x ; gc:status gc:Implemented .
    FILTER (?x != ?control)
    {
      ?m gc:sourceRequirement ?x ; gc:targetRequirement ?control ; gc:relation ?rel ;
         gc:sourceCount ?mine ; gc:targetCount ?theirs .
      BIND (?rel AS ?r)
    } UNION {
      ?m gc:sourceRequirement ?control ; gc:targetRequirement ?x ; gc:relation ?rel ;
         gc:sourceCount ?theirs ; gc:targetCount ?mine .
      BIND (IF(?rel = gc:SubsetOf, gc:SupersetOf,
               IF(?rel = gc:SupersetOf, gc:SubsetOf, ?rel)) AS ?r)
    }
    FILTER (?mine = 1)
    BIND (IF(?r IN (gc:Equal, gc:EquivalentTo, gc:SupersetOf), 2,
             IF(?r IN (gc:SubsetOf, gc:IntersectsWith) && ?theirs = 1, 1, 0)) AS ?level)
    BIND (false AS ?inherited) BIND (false AS ?addresses)
  }
}"""
# (control set, service it uses) and (attestation, service in its scope): an
# attestation names its services, or else covers those in its programme's scope
SERVICES_USED = PREFIXES + """
SELECT ?set ?service WHERE { ?set gc:describesSystem/gc:usesService ?service }"""
SERVICES_COVERED = PREFIXES + """
SELECT ?artifact ?service WHERE {
  { ?artifact gc:coversService ?service }
  UNION {
    ?artifact gc:ofProgram ?programme . ?service gc:inScopeOf ?programme .
    FILTER NOT EXISTS { ?artifact gc:coversService ?named }
  }
}"""
STATEMENT_COUNTS = PREFIXES + """
SELECT ?set (COUNT(?s) AS ?n) WHERE { ?s gc:inControlSet ?set } GROUP BY ?set"""
SOURCES = PREFIXES + "SELECT DISTINCT ?set ?g WHERE { GRAPH ?g { ?s gc:inControlSet ?set } }"


def states_graph(control_set: Node) -> str:
    """The derived graph of one control set's states."""
    return STATES_PREFIX + hashlib.sha256(str(control_set).encode()).hexdigest()[:32]


def is_states_graph(graph: str) -> bool:
    return graph.startswith(STATES_PREFIX)


def touches(graphs: Mapping[str, Iterable[Triple]]) -> bool:
    """Whether a write of these graphs may change some control set's states."""
    return any(p in INPUT_PREDICATES for triples in graphs.values() for _, p, _ in triples)


def recompute(store: Store, graphs: Mapping[str, list[Triple]], leaving: set[str]
              ) -> tuple[dict[str, list[Triple]], set[str]]:
    """The state graphs to write, and those to drop, for a write of ``graphs`` that
    removes the graphs ``leaving`` (replaced or dropped): computed from what the store
    holds outside ``leaving`` plus ``graphs``, before anything is written."""
    incoming = {g: [t for t in triples if t[1] in INPUT_PREDICATES]
                for g, triples in graphs.items()}
    incoming = {g: triples for g, triples in incoming.items() if triples}
    leaving = {g for g in leaving if not is_states_graph(g)}
    sets = _touched_sets(store, incoming, leaving)
    if not sets:
        return {}, set()
    inputs = _Inputs(store, leaving)
    inputs.read(incoming, sets)
    states = derive(inputs.scratch)
    written = {states_graph(s): triples for s, triples in states.items() if s in sets}
    gone = {states_graph(s) for s in sets} - set(written)
    return written, gone & store.graph_names()


def derive(store: Store) -> dict[Node, list[Triple]]:
    """The state triples of every control set ``store`` has statements of."""
    best: dict[tuple, tuple[int, bool, bool]] = {}
    in_scope = _scope(store)
    for s, c, level, inherited, addresses, start, end, artifact in _select(
            store, CONTRIBUTIONS):
        if artifact is not None and not in_scope(s, artifact):
            continue  # the attestation does not cover every service the system uses
        key = (s, c, start, end)
        old = best.get(key, (0, False, False))
        best[key] = (max(old[0], int(level)), old[1] or bool(inherited.toPython()),
                     old[2] or bool(addresses.toPython()))
    out: dict[Node, list[Triple]] = defaultdict(list)
    for (s, c, start, end), (level, inherited, addresses) in best.items():
        if (level, inherited, addresses) == (0, False, False):
            continue  # no better than having nothing
        node = _state_iri(s, c, start, end)
        out[s] += [(node, GC.stateOf, s), (node, GC.stateControl, c)]
        if level:
            out[s].append((node, GC.coverageLevel, Literal(level)))
        if inherited:
            out[s].append((node, GC.viaInheritance, Literal(True)))
        if addresses:
            out[s].append((node, GC.addresses, Literal(True)))
        if start is not None:
            out[s].append((node, GC.holdsFrom, start))
        if end is not None:
            out[s].append((node, GC.holdsUntil, end))
    for s, n in _select(store, STATEMENT_COUNTS):
        out[s].append((s, GC.statementCount, Literal(int(n))))
    for s, source in _select(store, SOURCES):
        out[s].append((URIRef(states_graph(s)), PROV.wasDerivedFrom, source))
    for s, triples in out.items():
        graph = URIRef(states_graph(s))
        triples += [(graph, RDF.type, GC.DerivedGraph), (graph, GC.statesOf, s)]
    return dict(out)


def _scope(store: Store) -> Callable[[Node, Node], bool]:
    """Whether an attestation covers every service a control set's system uses (a set
    whose system names no services is not held to a scope)."""
    used: dict[Node, set[Node]] = defaultdict(set)
    for s, service in _select(store, SERVICES_USED):
        used[s].add(service)
    covered: dict[Node, set[Node]] = defaultdict(set)
    for artifact, service in _select(store, SERVICES_COVERED):
        covered[artifact].add(service)
    return lambda s, artifact: used[s] <= covered[artifact]


def _touched_sets(store: Store, incoming: Mapping[str, list[Triple]], leaving: set[str]
                  ) -> set[Node]:
    """The control sets whose states a write may change: those with statements in the
    graphs written or removed; those inheriting anything, when attestations or the
    baselines they cover change; those implementing a requirement whose mappings change.
    """
    added = [t for triples in incoming.values() for t in triples]
    sets = {o for _, p, o in added if p == GC.inControlSet}
    subjects = {s for s, p, _ in added if p in STATEMENT_PREDICATES}
    for chunk in _chunks(subjects):
        sets |= {row[0] for row in _select(store, SETS_OF % values_block("s", chunk))}
    gone = sorted(leaving)
    for chunk in _chunks(URIRef(g) for g in gone):
        sets |= {row[0] for row in _select(
            store, SETS_WITH_STATEMENTS_IN % values_block("g", chunk))}
    attested = ATTESTATION_PREDICATES | SCOPE_PREDICATES
    if any(p in attested for _, p, _ in added) or _holds(store, gone, attested):
        sets |= {row[0] for row in _select(store, INHERITING_SETS)}
    mapped = {o for _, p, o in added if p in (GC.sourceRequirement, GC.targetRequirement)}
    for chunk in _chunks(URIRef(g) for g in gone):
        mapped |= {row[0] for row in _select(store, MAPPED_IN % values_block("g", chunk))}
    for chunk in _chunks(mapped):
        sets |= {row[0] for row in _select(store, IMPLEMENTING_SETS % values_block("r", chunk))}
    return sets


def _holds(store: Store, graphs: list[str], predicates: frozenset[URIRef]) -> bool:
    """Whether any of ``graphs`` states something with one of ``predicates``."""
    for chunk in _chunks(URIRef(g) for g in graphs):
        rows = _select(store, QUADS_IN % (values_block("g", chunk)
                                          + values_block("p", predicates)) + " LIMIT 1")
        if rows:
            return True
    return False


class _Inputs:
    """An in-memory copy of what the states of some control sets are computed from, as
    the store will hold it after the write: its quads outside the graphs leaving, plus
    the graphs written."""

    def __init__(self, store: Store, leaving: set[str]) -> None:
        from graphsvc.store.embedded import EmbeddedStore

        self.store, self.leaving = store, leaving
        self.scratch = EmbeddedStore(keep_answers=False)
        self._graphs: dict[str, set[Triple]] = defaultdict(set)

    def read(self, incoming: Mapping[str, list[Triple]], sets: set[Node]) -> None:
        for graph, triples in incoming.items():
            self._graphs[graph].update(triples)
        for chunk in _chunks(sets):
            self._add(STATEMENTS_OF % values_block("set", chunk))
        # statements the write assigns to a set, where the store states the rest
        assigned = {s for triples in incoming.values() for s, p, _ in triples
                    if p == GC.inControlSet}
        for chunk in _chunks(assigned):
            self._add(STATEMENTS_ABOUT % values_block("s", chunk))
        self._add(ATTESTATIONS)
        for chunk in _chunks(self._objects(GC.coversBaseline)):
            self._add(INCLUDED_BY % values_block("s", chunk))
        for chunk in _chunks(self._objects(GC.implementsControl)):
            self._add(MAPPINGS_OF % values_block("r", chunk))
        self.scratch.write({g: list(t) for g, t in self._graphs.items()})

    def _objects(self, predicate: URIRef) -> set[Node]:
        return {o for triples in self._graphs.values() for _, p, o in triples if p == predicate}

    def _add(self, query: str) -> None:
        for g, s, p, o in _select(self.store, query):
            if str(g) not in self.leaving and not is_states_graph(str(g)):
                self._graphs[str(g)].add((s, p, o))


def _state_iri(*parts: Node | None) -> URIRef:
    key = "\x00".join("" if p is None else p.n3() for p in parts)
    return ID[f"state/{hashlib.sha256(key.encode()).hexdigest()[:32]}"]


def _select(store: Store, query: str) -> list[tuple]:
    rows = store.query(query)
    assert isinstance(rows, Rows)
    return rows.rows


def _chunks(terms: Iterable[Node]) -> Iterator[list[Node]]:
    batch = sorted({t for t in terms if isinstance(t, URIRef)})
    for i in range(0, len(batch), CHUNK):
        yield batch[i:i + CHUNK]
