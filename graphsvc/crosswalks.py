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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Edge:
    target: URIRef
    relation: str  # read from the source's side
    mapping: URIRef


_FW_PREFIX = str(ID["fw/"])


@lru_cache(maxsize=100_000)
def framework_of(requirement: URIRef) -> str:
    """The framework slug in id/fw/{framework}/{id}; '' for other IRIs."""
    text = str(requirement)
    if not text.startswith(_FW_PREFIX):
        return ""
    return unquote(text[len(_FW_PREFIX):].split("/", 1)[0])


def derive(store: Store) -> tuple[list[Triple], Counter[str]]:
    """Triples of the derived mappings for every two-step path between frameworks."""
    rows = store.query(STATED)
    assert isinstance(rows, Rows)
    edges: dict[URIRef, set[Edge]] = defaultdict(set)
    for m, s, t, relation in rows:
        name = NAME_OF.get(relation)
        if name is None or s == t:
            continue
        edges[s].add(Edge(t, name, m))
        edges[t].add(Edge(s, INVERSE[name], m))  # a mapping reads both ways
    triples: list[Triple] = []
    counts: Counter[str] = Counter()
    for a, out in edges.items():
        fa = framework_of(a)
        for first in out:
            fb = framework_of(first.target)
            for second in edges.get(first.target, ()):
                c = second.target
                if c == a or framework_of(c) in (fa, fb):
                    continue
                possible = compose(first.relation, second.relation)
                counts["paths"] += 1
                if len(possible) == len(NAMES):
                    counts["uninformative"] += 1
                    continue
                triples += _derived(a, c, possible, first.mapping, second.mapping)
                counts["derived mappings"] += 1
    return triples, counts


def _derived(a: URIRef, c: URIRef, possible: frozenset[str], m1: URIRef, m2: URIRef
             ) -> list[Triple]:
    key = hashlib.sha1(f"{a} {c} {m1} {m2}".encode()).hexdigest()[:20]
    node = ID[f"derived-mapping/{key}"]
    out: list[Triple] = [(node, RDF.type, GC.DerivedMapping), (node, GC.sourceRequirement, a),
                         (node, GC.targetRequirement, c), (node, GC.viaMapping, m1),
                         (node, GC.viaMapping, m2), (node, GC.pathLength, Literal(2))]
    out += [(node, GC.possibleRelation, RELATION_OF[name]) for name in sorted(possible)]
    return out


def derive_crosswalks(store: Store) -> Counter[str]:
    """Recompute the derived crosswalks and replace their graph in one transaction."""
    triples, counts = derive(store)
    store.write({DERIVED_GRAPH: triples}, replace=True)
    return counts
