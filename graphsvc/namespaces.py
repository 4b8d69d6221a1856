"""The IRIs of our vocabulary, our resources and our named graphs.

One place for the IRI scheme: the vocabulary lives under ``GC``; every resource
we mint (frameworks, requirements, organisations, control sets) lives under
``ID`` and is dereferenceable by the web service under ``/id/...``; every named
graph lives under ``GRAPH``.
"""

from rdflib import Namespace

BASE = "https://w3id.org/graphsvc/"
GC = Namespace(BASE + "compliance#")
ID = Namespace(BASE + "id/")
GRAPH = Namespace(BASE + "graph/")

PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
