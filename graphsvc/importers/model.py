"""What every importer produces: the triples of one named graph, a summary, and the
report of an import once the graph has its provenance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from graphsvc.importers.rdf import provenance
from graphsvc.namespaces import GC, ID
from graphsvc.store import Term, Triple


def literal(value: str | bool | int) -> Literal:
    """``Literal(value)``, made once per value: catalogs repeat most of theirs (orders,
    depths, part names, identifiers), and rdflib takes microseconds to make one."""
    return _literal(type(value), value)  # keyed by type: True == 1 in a plain cache


@lru_cache(maxsize=100_000)
def _literal(_: type, value: str | bool | int) -> Literal:
    return Literal(value)


@dataclass
class ReleaseContent:
    """What a document states of one framework release: kept in that release's graph,
    each requirement once. A whole catalog replaces the release graph; a resolved
    profile's catalog states part of a release and only adds the requirements the
    graph does not state yet (one release says the same thing in every file)."""

    graph: str
    release: URIRef
    complete: bool
    triples: list[Triple] = field(default_factory=list)  # the release and its families
    requirements: dict[URIRef, list[Triple]] = field(default_factory=dict)  # per version

    def add(self, s: Term, p: Term, o: Term | str | bool | int | None,
            requirement: URIRef | None = None) -> None:
        """A triple of the release, or of the requirement version ``requirement``."""
        if o is None or o == "":
            return
        triple = (s, p, o if isinstance(o, URIRef | Literal) else literal(o))
        if requirement is None:
            self.triples.append(triple)
        else:
            self.requirements.setdefault(requirement, []).append(triple)


@dataclass
class Built:
    """Triples for one named graph, and counts by kind for the import summary; a
    catalog also states the content of a framework release (``release``)."""

    graph: str
    triples: list[Triple] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    release: ReleaseContent | None = None
    model: str = ""  # what the source document is (catalog, system-security-plan, ...)
    mappings: set[URIRef] = field(default_factory=set)  # the mappings stated so far
    _uuids: Counter[str] = field(default_factory=Counter)
    _uuid_kinds: dict[str, str] = field(default_factory=dict)

    def uuid_node(self, uuid: str, what: str) -> URIRef:
        """``id/oscal/{uuid}``; a UUID the document uses again gets a suffix, and the
        report one warning per UUID (FedRAMP's sample SSP gives two implemented
        requirements one UUID)."""
        self._uuids[uuid] += 1
        seen = self._uuids[uuid]
        if seen == 1:
            self._uuid_kinds[uuid] = what
            return ID[f"oscal/{uuid}"]
        return ID[f"oscal/{uuid}-{seen}"]

    def reused_uuids(self) -> list[str]:
        return [f"{self._uuid_kinds[u]} UUID {u} is used {n} times; occurrences 2-{n} are "
                f"kept as oscal/{u}-2 ... oscal/{u}-{n}" for u, n in self._uuids.items() if n > 1]

    def add(self, s: Term, p: Term, o: Term | str | bool | int | None) -> None:
        """Add a triple; plain Python values become literals; None adds nothing."""
        if o is None or o == "":
            return
        self.triples.append((s, p, o if isinstance(o, URIRef | Literal) else literal(o)))

    def node(self, iri: URIRef, kind: URIRef, *, label: str | None = None,
             identifier: str | None = None, title: str | None = None) -> URIRef:
        self.add(iri, RDF.type, kind)
        self.add(iri, RDFS.label, label or title or identifier)
        self.add(iri, GC.identifier, identifier)
        self.add(iri, GC.title, title)
        return iri


@dataclass(frozen=True)
class ImportReport:
    source: str
    model: str
    graph: str
    triples: int
    counts: Counter[str]
    warnings: tuple[str, ...] = ()
    release: str | None = None  # the release graph the document states content into


def finish(built: Built, source: str, data: bytes, model: str | None = None
           ) -> tuple[ImportReport, list[Triple]]:
    """The graph's triples with the provenance of its source, and the import report
    (a catalog's release content is counted in; it is written to the release's graph)."""
    triples = built.triples + provenance(built.graph, source, data)
    stated = len(built.release.triples) + sum(map(len, built.release.requirements.values())) \
        if built.release else 0
    report = ImportReport(source, model or built.model, built.graph, len(set(triples)) + stated,
                          built.counts, (*built.reused_uuids(), *built.warnings),
                          built.release.graph if built.release else None)
    return report, triples
