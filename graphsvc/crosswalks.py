"""Derived (transitive) crosswalks, composed with the RCC-5 composition table.

The five crosswalk relations are the RCC-5 base relations between non-empty sets, so
A -r1-> B -r2-> C allows exactly the relations the table gives for (r1, r2). A pair of
requirements gets one derived mapping, whatever the number of paths between them: the
relations every path allows (the intersection), read from its source side; it keeps
that *set* (gc:possibleRelation, never gc:relation), every middle requirement and every
stated mapping it was composed from, in a graph of its own. Only one-to-one stated
mappings are composed. OSCAL's equivalent-to (same meaning, other words), and a mapping
whose source states no relation (the requirements are related), say nothing of the
sets but that they overlap: they compose as any of equal, subset-of, superset-of and
intersects-with. Compositions that allow every relation say nothing and are not
written.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from functools import lru_cache
from urllib.parse import unquote

from rdflib import RDF, Literal, URIRef

from graphsvc.content import data_dir
from graphsvc.namespaces import GC, GRAPH, ID
from graphsvc.store import Rows, Store, Triple

NAMES = ("equal", "subset-of", "superset-of", "intersects-with", "no-relationship")
RELATION_OF = {"equal": GC.Equal, "subset-of": GC.SubsetOf, "superset-of": GC.SupersetOf,
               "intersects-with": GC.IntersectsWith, "no-relationship": GC.NoRelationship}
NAME_OF = {iri: name for name, iri in RELATION_OF.items()}
INVERSE = {"equal": "equal", "subset-of": "superset-of", "superset-of": "subset-of",
           "intersects-with": "intersects-with", "no-relationship": "no-relationship"}
# what a stated relation allows of the two sets: equivalent-to (same meaning, other
# words) and a mapping that states no relation (the requirements are related) both say
# only that the sets overlap
OVERLAP = frozenset({"equal", "subset-of", "superset-of", "intersects-with"})
ALLOWS = {**{iri: frozenset({name}) for iri, name in NAME_OF.items()},
          GC.EquivalentTo: OVERLAP, GC.Unspecified: OVERLAP}
DERIVED_GRAPH = str(GRAPH["derived/crosswalks"])
STATED = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?m ?s ?t ?relation WHERE {
  ?m gc:relation ?relation ; gc:sourceCount 1 ; gc:targetCount 1 ;
     gc:sourceRequirement ?s ; gc:targetRequirement ?t .
}
"""


@lru_cache(maxsize=1)
def composition_table() -> dict[tuple[str, str], frozenset[str]]:
    """(relation A->B, relation B->C) -> the relations A->C can have; read from the CSV."""
    path = data_dir("ontology") / "rcc5-composition.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    table = {}
    for row in csv.DictReader(lines):
        for second in NAMES:
            table[(row["first"], second)] = frozenset(row[second].split("|"))
    return table


def compose(first: str, second: str) -> frozenset[str]:
    return composition_table()[(first, second)]


_FW_PREFIX = str(ID["fw/"])


@lru_cache(maxsize=100_000)
def framework_of(requirement: str) -> str:
    """The framework slug in id/fw/{framework}/{id}; '' for other IRIs."""
    if not requirement.startswith(_FW_PREFIX):
        return ""
    return unquote(requirement[len(_FW_PREFIX):].split("/", 1)[0])


def derive(store: Store) -> tuple[list[Triple], Counter[str]]:
    """Triples of the derived mappings for every two-step path between frameworks.

    Works on IRI strings (hashing and comparing rdflib terms was half the time)."""
    rows = store.query(STATED)
    assert isinstance(rows, Rows)
    # requirement -> {(other requirement, relations allowed from this side, mapping)}
    edges: dict[str, set[tuple[str, frozenset[str], str]]] = defaultdict(set)
    for m, s, t, relation in rows:
        allowed = ALLOWS.get(relation)
        if allowed is None or s == t:
            continue
        edges[str(s)].add((str(t), allowed, str(m)))
        edges[str(t)].add((str(s), frozenset(INVERSE[r] for r in allowed), str(m)))
    counts: Counter[str] = Counter()
    # (a, c) with a < c -> [relations allowed from a's side, middles, mappings]
    pairs: dict[tuple[str, str], list] = {}
    for a, out in edges.items():
        fa = framework_of(a)
        for b, r1, m1 in out:
            fb = framework_of(b)
            for c, r2, m2 in edges[b]:
                if not a < c or framework_of(c) in (fa, fb):
                    continue  # each unordered pair once, from the side that sorts first
                counts["paths"] += 1
                possible = _compose_sets(r1, r2)
                if len(possible) == len(NAMES):
                    counts["uninformative"] += 1
                    continue
                entry = pairs.setdefault((a, c), [frozenset(NAMES), set(), set()])
                entry[0] &= possible
                entry[1].add(b)
                entry[2].update((m1, m2))
    triples: list[Triple] = []
    for (a, c), (possible, middles, mappings) in pairs.items():
        triples += _derived(a, c, possible, middles, mappings)
        counts["derived mappings"] += 1
        if not possible:
            counts["pairs whose paths conflict"] += 1
    return triples, counts


def _compose_sets(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    return frozenset().union(*(compose(r1, r2) for r1 in first for r2 in second))


def _derived(a: str, c: str, possible: frozenset[str], middles: set[str],
             mappings: set[str]) -> list[Triple]:
    """One derived mapping; paths whose sets have no relation in common say the sources
    disagree (gc:conflictingPaths), and then no relation is claimed."""
    node = ID[f"derived-mapping/{hashlib.sha1(f'{a} {c}'.encode()).hexdigest()[:20]}"]
    out: list[Triple] = [(node, RDF.type, GC.DerivedMapping),
                         (node, GC.sourceRequirement, URIRef(a)),
                         (node, GC.targetRequirement, URIRef(c)),
                         (node, GC.pathLength, Literal(2)),
                         (node, GC.pathCount, Literal(len(middles)))]
    out += [(node, GC.viaRequirement, URIRef(b)) for b in sorted(middles)]
    out += [(node, GC.viaMapping, URIRef(m)) for m in sorted(mappings)]
    out += [(node, GC.possibleRelation, RELATION_OF[name]) for name in sorted(possible)]
    if not possible:
        out.append((node, GC.conflictingPaths, Literal(True)))
    return out


def derive_crosswalks(store: Store) -> Counter[str]:
    """Recompute the derived crosswalks and replace their graph in one transaction."""
    triples, counts = derive(store)
    store.write({DERIVED_GRAPH: triples}, replace=True)
    return counts
