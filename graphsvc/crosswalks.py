"""Derived (transitive) crosswalks, composed with the RCC-5 composition table.

The five crosswalk relations are the RCC-5 base relations between non-empty sets, so
A -r1-> B -r2-> C allows exactly the relations the table gives for (r1, r2). A derived
mapping keeps that *set* (gc:possibleRelation, never gc:relation), the mappings it was
composed from and so their sources, in a graph of its own. Only one-to-one stated
mappings with a stated relation are composed; compositions that allow every relation
say nothing and are not written.
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
DERIVED_GRAPH = str(GRAPH["derived/crosswalks"])
STATED = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?m ?s ?t ?relation WHERE {
  ?m gc:relation ?relation ; gc:sourceCount 1 ; gc:targetCount 1 ;
     gc:sourceRequirement ?s ; gc:targetRequirement ?t .
  FILTER (?relation != gc:Unspecified)
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
    # requirement -> {(other requirement, relation read from this side, mapping)}
    edges: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for m, s, t, relation in rows:
        name = NAME_OF.get(relation)
        if name is None or s == t:
            continue
        edges[str(s)].add((str(t), name, str(m)))
        edges[str(t)].add((str(s), INVERSE[name], str(m)))  # a mapping reads both ways
    informative = {pair: possible for pair, possible in composition_table().items()
                   if len(possible) < len(NAMES)}
    triples: list[Triple] = []
    counts: Counter[str] = Counter()
    for a, out in edges.items():
        fa = framework_of(a)
        for b, r1, m1 in out:
            fb = framework_of(b)
            for c, r2, m2 in edges[b]:
                if c == a or framework_of(c) in (fa, fb):
                    continue
                counts["paths"] += 1
                possible = informative.get((r1, r2))
                if possible is None:
                    counts["uninformative"] += 1
                    continue
                triples += _derived(a, c, possible, m1, m2)
                counts["derived mappings"] += 1
    return triples, counts


def _derived(a: str, c: str, possible: frozenset[str], m1: str, m2: str) -> list[Triple]:
    key = hashlib.sha1(f"{a} {c} {m1} {m2}".encode()).hexdigest()[:20]
    node = ID[f"derived-mapping/{key}"]
    out: list[Triple] = [(node, RDF.type, GC.DerivedMapping),
                         (node, GC.sourceRequirement, URIRef(a)),
                         (node, GC.targetRequirement, URIRef(c)),
                         (node, GC.viaMapping, URIRef(m1)), (node, GC.viaMapping, URIRef(m2)),
                         (node, GC.pathLength, Literal(2))]
    out += [(node, GC.possibleRelation, RELATION_OF[name]) for name in sorted(possible)]
    return out


def derive_crosswalks(store: Store) -> Counter[str]:
    """Recompute the derived crosswalks and replace their graph in one transaction."""
    triples, counts = derive(store)
    store.write({DERIVED_GRAPH: triples}, replace=True)
    return counts
