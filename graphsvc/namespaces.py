"""The IRIs of our vocabulary, our resources and our named graphs.

One place for the IRI scheme: the vocabulary lives under ``GC``; every resource
we mint (frameworks, requirements, organisations, control sets) lives under
``ID`` and is dereferenceable by the web service under ``/id/...``; every named
graph lives under ``GRAPH``.
"""

from typing import ClassVar

from rdflib import Namespace, URIRef


class CachedNamespace(Namespace):
    """A Namespace that makes each term once: rdflib builds (and validates) a new URIRef
    on every attribute access, which was a tenth of the time of a large import."""

    _terms: ClassVar[dict[tuple[str, str], URIRef]] = {}

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        key = (str(self), name)
        term = self._terms.get(key)
        if term is None:
            term = self._terms[key] = Namespace.term(self, name)
        return term


BASE = "https://w3id.org/graphsvc/"
GC = CachedNamespace(BASE + "compliance#")
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")

PROV = CachedNamespace("http://www.w3.org/ns/prov#")
DCTERMS = CachedNamespace("http://purl.org/dc/terms/")
