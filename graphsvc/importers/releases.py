"""Release graphs: one per framework release, each requirement stated once.

A whole catalog replaces its release's graph. A resolved profile's catalog (FedRAMP's,
NIST's baselines) restates part of a release: its requirements are added to the
release's graph, so four FedRAMP baselines give one copy of each control's text, not
four. Of a requirement the graph states already, a file may say more of the same nodes
(NIST's resolved catalogs give each parameter its 5.0.1 identifier, FedRAMP's do not):
that is kept; nodes the first file did not have (parts of a differently cut text) are
not mixed in, and a single-valued fact (a title, a part's prose) stated differently is
reported, never written beside the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, URIRef

from graphsvc.importers.model import ReleaseContent
from graphsvc.importers.rdf import provenance
from graphsvc.namespaces import DCTERMS, GC, PROV
from graphsvc.store import Rows, Store, Triple

GRAPH_TRIPLES = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
PROVENANCE = {RDF.type, DCTERMS.source, GC.contentSha256, PROV.generatedAtTime, GC.toolVersion}
# facts a node has one of: a second file's different value is a disagreement
SINGLE = {GC.title, GC.prose, RDFS.label, GC.identifier, GC.order, GC.depth, GC.partName,
          GC.partLabel, GC.sortKey, GC.withdrawn, GC.inFamily, GC.enhances, GC.howMany,
          GC.versionOf, GC.inRelease}


@dataclass
class _Release:
    triples: set[Triple] = field(default_factory=set)
    subjects: set[object] = field(default_factory=set)
    single: dict[tuple, object] = field(default_factory=dict)  # (node, predicate) -> value
    versions: set[URIRef] = field(default_factory=set)  # the requirements stated
    sources: list[Triple] = field(default_factory=list)  # provenance of each document
    complete: bool = False

    def add(self, triples: Iterable[Triple]) -> list[tuple[Triple, object]]:
        """Add triples; those that contradict a single-valued fact are left out and
        returned with the value kept."""
        disagreements = []
        for s, p, o in triples:
            if p in SINGLE:
                kept = self.single.setdefault((s, p), o)
                if kept != o:
                    disagreements.append(((s, p, o), kept))
                    continue
            self.triples.add((s, p, o))
            self.subjects.add(s)
        return disagreements


class ReleaseGraphs:
    """The release graphs one batch of imports writes, merged with what the store has."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.releases: dict[str, _Release] = {}

    def take(self, content: ReleaseContent, source: str, data: bytes
             ) -> tuple[Counter[str], list[str]]:
        """Merge what one document states; counts and warnings for its import report."""
        counts: Counter[str] = Counter()
        warnings: list[str] = []
        release = self.releases.get(content.graph)
        if content.complete or release is None:
            if release is not None and release.complete:
                warnings.append(f"replaces the release {content.release} stated earlier in "
                                "this batch by another whole catalog")
            release = _Release(complete=content.complete) if content.complete else \
                self._from_store(content.graph)
            self.releases[content.graph] = release
        release.add(content.triples)
        for version, triples in content.requirements.items():
            if version in release.versions:
                counts["requirements already stated"] += 1
                triples = [t for t in triples if t[0] in release.subjects]
            else:
                counts["requirements added to the release"] += 1
                release.versions.add(version)
            for (_, p, o), kept in release.add(triples):
                counts["facts stated differently (first kept)"] += 1
                if p == GC.title:
                    warnings.append(f"{version.rsplit('/', 1)[-1]}: the release already "
                                    f"titles it {kept!s:.60}; this file says {o!s:.60} "
                                    "(kept the first)")
        release.sources += provenance(content.graph, source, data)
        return counts, warnings

    def _from_store(self, graph: str) -> _Release:
        """The release graph as the store has it (empty if new), to add to."""
        name = URIRef(graph)
        rows = self.store.query(GRAPH_TRIPLES, bindings={"g": name})
        assert isinstance(rows, Rows)
        release = _Release()
        release.sources = [(s, p, o) for s, p, o in rows.rows if s == name and p in PROVENANCE]
        release.add((s, p, o) for s, p, o in rows.rows if s != name or p not in PROVENANCE)
        release.versions = {s for s, p, o in release.triples
                            if p == RDF.type and o == GC.RequirementVersion}
        return release

    def graphs(self) -> dict[str, list[Triple]]:
        return {graph: self.graph(graph) for graph in self.releases}

    def graph(self, name: str) -> list[Triple]:
        release = self.releases[name]
        return [*release.triples, *dict.fromkeys(release.sources)]
