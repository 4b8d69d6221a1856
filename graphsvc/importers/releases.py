"""Release graphs: one per framework release, each requirement stated once.

A whole catalog replaces its release's graph. A resolved profile's catalog (FedRAMP's,
NIST's baselines) restates part of a release: its requirements are added to the
release's graph unless the graph states them already, so four FedRAMP baselines give
one copy of each control's text, not four. A title that differs from the one already
stated is reported, never written beside it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rdflib import RDF, URIRef

from graphsvc.importers.model import ReleaseContent
from graphsvc.importers.rdf import provenance
from graphsvc.namespaces import DCTERMS, GC, PROV
from graphsvc.store import Rows, Store, Triple

GRAPH_TRIPLES = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
PROVENANCE = {RDF.type, DCTERMS.source, GC.contentSha256, PROV.generatedAtTime, GC.toolVersion}


@dataclass
class _Release:
    triples: set[Triple] = field(default_factory=set)
    titles: dict[URIRef, object] = field(default_factory=dict)  # version -> its title
    sources: list[Triple] = field(default_factory=list)  # provenance of each document
    complete: bool = False


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
        release.triples.update(content.triples)
        for version, triples in content.requirements.items():
            title = next((o for _, p, o in triples if p == GC.title), None)
            if version in release.titles:
                counts["requirements the release states already"] += 1
                if title is not None and release.titles[version] not in (None, title):
                    warnings.append(f"{version.rsplit('/', 1)[-1]}: the release already "
                                    f"titles it {release.titles[version]!s:.60}; this file "
                                    f"says {title!s:.60} (kept)")
                continue
            release.titles[version] = title
            release.triples.update(triples)
            counts["requirements added to the release"] += 1
        release.sources += provenance(content.graph, source, data)
        return counts, warnings

    def _from_store(self, graph: str) -> _Release:
        """The release graph as the store has it (empty if new), to add to."""
        name = URIRef(graph)
        rows = self.store.query(GRAPH_TRIPLES, bindings={"g": name})
        assert isinstance(rows, Rows)
        release = _Release()
        for s, p, o in rows.rows:
            if s == name and p in PROVENANCE:
                release.sources.append((s, p, o))
            else:
                release.triples.add((s, p, o))
        versions = {s for s, p, o in release.triples
                    if p == RDF.type and o == GC.RequirementVersion}
        titles = {s: o for s, p, o in release.triples if p == GC.title and s in versions}
        release.titles = {v: titles.get(v) for v in versions}
        return release

    def graphs(self) -> dict[str, list[Triple]]:
        return {graph: [*release.triples, *dict.fromkeys(release.sources)]
                for graph, release in self.releases.items()}
