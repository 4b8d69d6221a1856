"""Crosswalk mappings from any source become gc:Mapping nodes the same way.

The relation vocabulary of each source is mapped here, once. A value a source gives
that we do not know is an error; a source that gives no relation is "unspecified",
never a guess.
"""

from __future__ import annotations

import hashlib

from rdflib import RDF, URIRef

from graphsvc.errors import BadInput
from graphsvc.importers.model import Built
from graphsvc.namespaces import GC, ID

RELATIONS: dict[str, URIRef] = {
    # NIST IR 8477 / OSCAL 1.2 (equivalent-to: same meaning, other words; kept apart)
    "equal": GC.Equal, "equal-to": GC.Equal, "equivalent-to": GC.EquivalentTo,
    "subset-of": GC.SubsetOf, "superset-of": GC.SupersetOf,
    "intersects-with": GC.IntersectsWith, "no-relationship": GC.NoRelationship,
    # CISO Assistant
    "subset": GC.SubsetOf, "superset": GC.SupersetOf, "intersect": GC.IntersectsWith,
    "not_related": GC.NoRelationship,
    # no relation stated
    "": GC.Unspecified, "null": GC.Unspecified, "none": GC.Unspecified,
    "unspecified": GC.Unspecified,
}
# the relation read from the other side
INVERSE = {GC.SubsetOf: GC.SupersetOf, GC.SupersetOf: GC.SubsetOf}
RATIONALES = {"syntactic": GC.SyntacticRationale, "semantic": GC.SemanticRationale,
              "functional": GC.FunctionalRationale}


def relation(value: object, where: str) -> URIRef:
    key = "" if value is None else str(value).strip().lower()
    try:
        return RELATIONS[key]
    except KeyError:
        known = ", ".join(sorted(k for k in RELATIONS if k))
        raise BadInput(f"unknown relationship {value!r}; known: {known}", where=where) from None


def mapping_source(built: Built, kind: str, name: str, title: str | None,
                   identifier: str | None = None) -> URIRef:
    """The node of a published crosswalk (id/mapping-source/{kind}/{name}) that the
    mappings of an import name as their source."""
    node = built.node(ID[f"mapping-source/{kind}/{name}"], GC.MappingSource, title=title,
                      identifier=identifier)
    built.counts["mapping sources"] += 1
    return node


def add_mapping(built: Built, *, sources: list[URIRef], targets: list[URIRef],
                stated: object, where: str, source_node: URIRef,
                rationale: str | None = None, strength: int | None = None,
                confidence: str | None = None, coverage: str | None = None,
                document_id: str | None = None) -> URIRef:
    """One mapping between sets of requirements, as the source states it.

    A mapping is (sources, targets, relation read from the source side, source): the
    same pair stated again, from either side (CISO Assistant libraries list every pair
    forward and "revert"), is the same mapping and is kept once, as first stated."""
    typed = relation(stated, where)
    key = (frozenset(sources), frozenset(targets), typed)
    reverse = (frozenset(targets), frozenset(sources), INVERSE.get(typed, typed))
    identity = min(repr(sorted(map(str, k[0]))) + repr(sorted(map(str, k[1]))) + str(k[2])
                   for k in (key, reverse))
    digest = hashlib.sha1(f"{source_node} {identity}".encode()).hexdigest()[:24]
    mapping = ID[f"mapping/{digest}"]
    if mapping in built.mappings:
        built.counts["mappings stated again (kept once)"] += 1
        return mapping
    built.mappings.add(mapping)
    built.add(mapping, RDF.type, GC.Mapping)
    for s in dict.fromkeys(sources):
        built.add(mapping, GC.sourceRequirement, s)
    for t in dict.fromkeys(targets):
        built.add(mapping, GC.targetRequirement, t)
    built.add(mapping, GC.relation, typed)
    built.add(mapping, GC.sourceCount, len(set(sources)))
    built.add(mapping, GC.targetCount, len(set(targets)))
    built.add(mapping, GC.statedRelation, None if stated is None else str(stated))
    built.add(mapping, GC.mappingSource, source_node)
    built.add(mapping, GC.documentUuid, document_id)
    if rationale:
        built.add(mapping, GC.rationale, RATIONALES.get(rationale.strip().lower()))
    built.add(mapping, GC.strength, strength)
    built.add(mapping, GC.confidence, confidence)
    built.add(mapping, GC.coverage, coverage)
    built.counts["mappings"] += 1
    built.counts[f"mappings {str(typed).rsplit('#', 1)[-1]}"] += 1
    return mapping
