"""The framework index: one node per framework, family, requirement and parameter.

Releases state a requirement's text on nodes of their own (``.../release/5.1.1/ac-2``);
questions, mappings, baselines and control sets speak of the requirement itself
(``id/fw/nist-sp-800-53-rev5/ac-2``). The index gives that node, once, what does not
depend on the release (its framework, family, parent, identifier and other
notations) and what the framework's current release says of it (title, label), with
a link to that release's version (``gc:currentVersion``). The current release of a
framework is its newest catalog release (by version, then date); a CISO Assistant
outline counts only where no catalog is loaded.

It is derived, so it lives in a graph of its own and is recomputed in the same
transaction as every write that changes its inputs (:func:`graphsvc.writes.commit`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote

from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import SKOS

from graphsvc.identity import FRAMEWORK_NAMES, framework_iri, parameter_iri, release_rank
from graphsvc.namespaces import GC, GRAPH, ID, PROV
from graphsvc.store import Rows, Store, Triple

INDEX_GRAPH = str(GRAPH["derived/frameworks"])
PREFIXES = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
RELEASES = PREFIXES + """
SELECT ?g ?rel ?fw ?id ?title ?issued ?catalog WHERE { GRAPH ?g {
  ?rel a gc:FrameworkRelease ; gc:releaseOf ?fw ; gc:identifier ?id .
  OPTIONAL { ?rel gc:title ?title } OPTIONAL { ?rel dcterms:issued ?issued }
  BIND (EXISTS { ?rel a gc:CatalogRelease } AS ?catalog)
} }
"""
VERSIONS = PREFIXES + """
SELECT ?g ?v ?r ?rel ?id ?title ?label ?family ?parent ?enhances ?withdrawn ?sort
WHERE { GRAPH ?g {
  ?v a gc:RequirementVersion ; gc:versionOf ?r ; gc:inRelease ?rel .
  OPTIONAL { ?v gc:identifier ?id } OPTIONAL { ?v gc:title ?title }
  OPTIONAL { ?v rdfs:label ?label } OPTIONAL { ?v gc:inFamily/gc:versionOf ?family }
  OPTIONAL { ?v gc:parentRequirement ?parent } OPTIONAL { ?v gc:enhances ?enhances }
  OPTIONAL { ?v gc:withdrawn ?withdrawn } OPTIONAL { ?v gc:sortKey ?sort }
} }
"""
NOTATIONS = PREFIXES + """
SELECT ?g ?r ?notation WHERE { GRAPH ?g {
  ?v a gc:RequirementVersion ; gc:versionOf ?r ; skos:altLabel|gc:identifier ?notation } }
"""
FAMILIES = PREFIXES + """
SELECT ?g ?f ?rel ?id ?title ?parent WHERE { GRAPH ?g {
  ?vf a gc:FamilyVersion ; gc:versionOf ?f ; gc:inRelease ?rel ; gc:identifier ?id .
  OPTIONAL { ?vf gc:title ?title } OPTIONAL { ?vf gc:parentFamily/gc:versionOf ?parent }
} }
"""
PARAMETERS = PREFIXES + """
SELECT ?g ?p ?r ?rel ?id ?label ?alt WHERE { GRAPH ?g {
  ?v gc:hasParameter ?vp ; gc:versionOf ?r ; gc:inRelease ?rel .
  ?vp gc:versionOf ?p ; gc:identifier ?id .
  OPTIONAL { ?vp rdfs:label ?label } OPTIONAL { ?vp gc:altIdentifier ?alt }
} }
"""
MENTIONS = PREFIXES + """
SELECT DISTINCT ?g ?r WHERE { GRAPH ?g {
  { ?m gc:sourceRequirement ?r } UNION { ?m gc:targetRequirement ?r }
  UNION { ?b gc:includesControl ?r }
} }
"""
BASELINES = PREFIXES + """
SELECT DISTINCT ?g ?r ?baseline WHERE { GRAPH ?g { ?baseline gc:includesControl ?r } }
"""
INPUT_GRAPHS = PREFIXES + """
SELECT DISTINCT ?g WHERE { GRAPH ?g {
  { ?x gc:versionOf ?y } UNION { ?x gc:releaseOf ?y } UNION { ?x gc:sourceRequirement ?y }
  UNION { ?x gc:targetRequirement ?y } UNION { ?x gc:includesControl ?y }
} }
"""
# predicates whose presence in a graph makes it an input of the index
INPUT_PREDICATES = {GC.versionOf, GC.releaseOf, GC.sourceRequirement, GC.targetRequirement,
                    GC.includesControl}


@dataclass(frozen=True)
class _Release:
    iri: URIRef
    framework: URIRef
    identifier: str
    title: str | None
    issued: str
    catalog: bool

    @property
    def rank(self) -> tuple:
        """Catalogs before outlines, then the higher version, then the later date."""
        numbers, name = release_rank(self.identifier)
        return (self.catalog, numbers, self.issued, name)


def input_graphs(store: Store) -> set[str]:
    """The graphs the index is computed from (releases, mappings, baselines)."""
    rows = store.query(INPUT_GRAPHS)
    assert isinstance(rows, Rows)
    return {str(g) for (g,) in rows}


def read_by_index(triple: Triple) -> bool:
    """Triples the index reads (so the in-memory copy of a big load stays small)."""
    return triple[1] in _READ_PREDICATES or (triple[1] == RDF.type and triple[2] in _READ_TYPES)


_READ_PREDICATES = {
    GC.versionOf, GC.inRelease, GC.releaseOf, GC.identifier, GC.title, RDFS.label,
    GC.inFamily, GC.parentRequirement, GC.enhances, GC.withdrawn, GC.sortKey, SKOS.altLabel,
    GC.parentFamily, GC.hasParameter, GC.altIdentifier, GC.sourceRequirement,
    GC.targetRequirement, GC.includesControl, GC.title,
    URIRef("http://purl.org/dc/terms/issued"),
}
_READ_TYPES = {GC.FrameworkRelease, GC.CatalogRelease, GC.RequirementVersion,
               GC.FamilyVersion, GC.ParameterVersion}


def _rows(sources: list[tuple[Store, set[str]]], query: str) -> list[tuple]:
    """The query's rows from every source, without those of graphs being replaced."""
    out: list[tuple] = []
    for store, excluded in sources:
        result = store.query(query)
        assert isinstance(result, Rows)
        out += [row[1:] for row in result.rows if str(row[0]) not in excluded]
    return out


def build_index(sources: list[tuple[Store, set[str]]]) -> list[Triple]:
    """The index triples for what ``sources`` hold (each a store and graphs to skip)."""
    releases = {r: _Release(r, fw, str(i), t and str(t), str(d or ""), bool(c))
                for r, fw, i, t, d, c in _rows(sources, RELEASES)}
    current: dict[URIRef, _Release] = {}
    for release in releases.values():
        best = current.get(release.framework)
        if best is None or release.rank > best.rank:
            current[release.framework] = release

    def preference(rel: URIRef) -> tuple:
        release = releases.get(rel)
        if release is None:
            return (False, [], "", "")
        return (current.get(release.framework) == release, *release.rank)

    out = _Triples()
    versions: dict[URIRef, list[tuple]] = defaultdict(list)
    for row in _rows(sources, VERSIONS):
        versions[row[1]].append(row)
    frameworks: set[URIRef] = set()
    for r, rows in versions.items():
        v, _, rel, _, title, label, family, parent, enhances, withdrawn, sort = max(
            rows, key=lambda row: preference(row[2]))
        release = releases.get(rel)
        fw = release.framework if release else framework_iri(_framework_slug(r))
        frameworks.add(fw)
        out.add(r, RDF.type, GC.Requirement)
        if release is not None and release.catalog:
            out.add(r, RDF.type, GC.Control)
            if enhances is not None:
                out.add(r, RDF.type, GC.ControlEnhancement)
        out.add(r, GC.identifier, Literal(_canonical_id(r)))
        out.add(r, GC.title, title)
        out.add(r, RDFS.label, label or title)
        out.add(r, GC.inFramework, fw)
        out.add(r, GC.inFamily, family)
        out.add(r, GC.enhances, enhances)
        out.add(r, GC.parentRequirement, parent or enhances)
        out.add(r, GC.withdrawn, withdrawn)
        out.add(r, GC.sortKey, sort)
        out.add(r, GC.currentVersion, v)
    for r, notation in _rows(sources, NOTATIONS):
        if str(notation) != _canonical_id(r):
            out.add(r, SKOS.altLabel, Literal(str(notation)))
    _families(sources, preference, out)
    _parameters(sources, preference, out)
    _baseline_lists(sources, out)
    for (r,) in _rows(sources, MENTIONS):
        if r not in versions and str(r).startswith(_FW_PREFIX):
            fw = framework_iri(_framework_slug(r))
            frameworks.add(fw)
            out.add(r, RDF.type, GC.Requirement)
            out.add(r, GC.identifier, Literal(_canonical_id(r)))
            out.add(r, GC.inFramework, fw)
    for release in releases.values():
        frameworks.add(release.framework)
    for fw in frameworks:
        slug = _framework_slug(fw)
        out.add(fw, RDF.type, GC.Framework)
        out.add(fw, GC.identifier, Literal(slug))
        best = current.get(fw)
        out.add(fw, RDFS.label, Literal(FRAMEWORK_NAMES.get(slug) or
                                        (best.title if best and best.title else slug)))
        if best is not None:
            out.add(fw, GC.currentRelease, best.iri)
            if best.catalog:
                out.add(fw, RDF.type, GC.Catalog)
    graph = URIRef(INDEX_GRAPH)
    out.add(graph, RDF.type, GC.DerivedGraph)
    for release in releases.values():
        out.add(graph, PROV.wasDerivedFrom, release.iri)
    return out.triples


def _families(sources: list[tuple[Store, set[str]]], preference, out: _Triples) -> None:
    families: dict[URIRef, list[tuple]] = defaultdict(list)
    for row in _rows(sources, FAMILIES):
        families[row[0]].append(row)
    for f, rows in families.items():
        _, _, ident, title, parent = max(rows, key=lambda row: preference(row[1]))
        out.add(f, RDF.type, GC.ControlFamily)
        out.add(f, GC.identifier, ident)
        out.add(f, GC.title, title)
        out.add(f, RDFS.label, title or ident)
        out.add(f, GC.familyOf, framework_iri(_framework_slug(f)))
        out.add(f, GC.parentFamily, parent)


def _baseline_lists(sources: list[tuple[Store, set[str]]], out: _Triples) -> None:
    """The baselines that include each requirement, as one sorted text: listings show
    them on every row, and aggregating them per query cost the engine more than the
    rest of the listing (framework-controls 36 -> 25 ms at 1x)."""
    found: dict[URIRef, set[str]] = defaultdict(set)
    for r, baseline in _rows(sources, BASELINES):
        found[r].add(str(baseline))
    for r, baselines in found.items():
        out.add(r, GC.baselineList, Literal(" ".join(sorted(baselines))))


def _parameters(sources: list[tuple[Store, set[str]]], preference, out: _Triples) -> None:
    params: dict[URIRef, list[tuple]] = defaultdict(list)
    for row in _rows(sources, PARAMETERS):
        params[row[0]].append(row)
    for p, rows in params.items():
        _, r, _, ident, label, _ = max(rows, key=lambda row: preference(row[2]))
        out.add(p, RDF.type, GC.Parameter)
        out.add(p, GC.identifier, ident)
        out.add(p, RDFS.label, label)
        out.add(p, GC.parameterOf, r)
        for *_, alt in rows:
            if alt is not None and str(alt) != str(ident):
                former = parameter_iri(_framework_slug(p), str(alt))
                out.add(p, GC.renamedFrom, former)
                if former not in params:
                    out.add(former, RDF.type, GC.Parameter)
                    out.add(former, GC.identifier, Literal(str(alt)))
                    out.add(former, GC.parameterOf, r)


class _Triples:
    """Triples without repeats, in the order they were added."""

    def __init__(self) -> None:
        self._seen: dict[Triple, None] = {}

    def add(self, s: URIRef, p: URIRef, o: object) -> None:
        if o is not None:
            self._seen.setdefault((s, p, o if isinstance(o, URIRef | Literal) else Literal(o)))

    @property
    def triples(self) -> list[Triple]:
        return list(self._seen)


_FW_PREFIX = str(ID["fw/"])


def _framework_slug(iri: URIRef) -> str:
    """The framework slug in id/fw/{framework}/..."""
    return unquote(str(iri)[len(_FW_PREFIX):].split("/", 1)[0])


def _canonical_id(requirement: URIRef) -> str:
    """The requirement's identifier in OSCAL's form, from its IRI (id/fw/{fw}/{id})."""
    return unquote(str(requirement)[len(_FW_PREFIX):].split("/", 1)[1])
