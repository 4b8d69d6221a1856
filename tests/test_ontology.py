"""The ontology parses, is consistent under HermiT, is fully documented, and every term
of our namespace that the project uses anywhere is declared in it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.namespace import SKOS

from graphsvc.namespaces import GC
from tests.conftest import ROOT

ONTOLOGY = ROOT / "ontology" / "compliance.ttl"
DECLARATION_TYPES = {
    OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
    OWL.NamedIndividual,
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY)


def declared_terms(graph: Graph) -> set[URIRef]:
    return {
        s for t in DECLARATION_TYPES for s in graph.subjects(RDF.type, t)
        if isinstance(s, URIRef) and s.startswith(str(GC))
    }


def hermit_consistent(graph: Graph, tmp_path: Path) -> bool:
    """Run HermiT (owlready2, Java) on the graph; False when it is inconsistent."""
    if shutil.which("java") is None:
        pytest.fail("Java is not installed: HermiT needs it (.ci/run installs openjdk)")
    import owlready2

    path = tmp_path / "ontology.nt"
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    onto = world.get_ontology(path.as_uri()).load()
    try:
        with onto:
            owlready2.sync_reasoner_hermit(
                world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=True
            )
    except owlready2.OwlReadyInconsistentOntologyError:
        return False
    except subprocess.CalledProcessError as exc:  # HermiT refused the input
        pytest.fail(f"HermiT failed: {exc.output!r}")
    return not list(world.inconsistent_classes())


def test_ontology_is_consistent_under_hermit(ontology: Graph, tmp_path: Path) -> None:
    assert hermit_consistent(ontology, tmp_path)


def test_the_consistency_check_can_fail(ontology: Graph, tmp_path: Path) -> None:
    """An individual that is both an IaaS and a SaaS model contradicts the enumeration."""
    broken = Graph()
    for triple in ontology:
        broken.add(triple)
    broken.add((GC.IaaS, OWL.sameAs, GC.SaaS))
    broken.add((GC.IaaS, OWL.differentFrom, GC.SaaS))
    assert not hermit_consistent(broken, tmp_path)


def test_every_term_has_a_label_and_a_definition(ontology: Graph) -> None:
    terms = declared_terms(ontology)
    assert len(terms) > 150
    undocumented = sorted(
        t for t in terms
        if not ontology.value(t, RDFS.label) or not ontology.value(t, SKOS.definition)
    )
    assert undocumented == []


def test_every_property_is_typed_for_owl2_dl(ontology: Graph) -> None:
    typed = {
        s for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        for s in ontology.subjects(RDF.type, t)
    }
    builtin = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#",
               "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#")
    untyped = {p for p in ontology.predicates() if not str(p).startswith(builtin)} - typed
    assert untyped == set()


def test_alignments_are_axioms_to_each_vocabulary(ontology: Graph) -> None:
    targets = {
        str(o) for p in (RDFS.subClassOf, OWL.equivalentClass, RDFS.subPropertyOf)
        for o in ontology.objects(None, p) if isinstance(o, URIRef)
    }
    for vocabulary in ("http://csrc.nist.gov/ns/oscal#", "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
                       "http://www.w3.org/ns/prov#", "http://www.w3.org/2006/time#",
                       "https://w3id.org/dpv#"):
        assert any(t.startswith(vocabulary) for t in targets), vocabulary
    assert not list(ontology.objects(None, OWL.imports))


def used_terms() -> set[tuple[URIRef, str]]:
    """(term, file) for every gc: term used in ontology/, shapes/, queries/ and graphsvc/."""
    used: set[tuple[URIRef, str]] = set()
    for path in [*(ROOT / "ontology").glob("*.ttl"), *(ROOT / "shapes").glob("*.ttl")]:
        for triple in Graph().parse(path):
            used |= {(t, path.name) for t in triple
                     if isinstance(t, URIRef) and str(t).startswith(str(GC))}
    for path in (ROOT / "queries").glob("*.rq"):
        text = path.read_text()
        assert re.search(rf"PREFIX\s+gc:\s*<{re.escape(str(GC))}>", text) or "gc:" not in text, path
        used |= {(GC[m], path.name) for m in re.findall(r"\bgc:([A-Za-z_][\w-]*)", text)}
    for path in (ROOT / "graphsvc").rglob("*.py"):
        used |= {(GC[m], path.name) for m in re.findall(r"\bGC\.([A-Za-z_]\w*)",
                                                        path.read_text())}
    return used


def test_every_used_term_of_our_namespace_is_declared(ontology: Graph) -> None:
    declared = declared_terms(ontology)
    undeclared = sorted((str(t), where) for t, where in used_terms() if t not in declared)
    assert undeclared == []


def test_the_used_term_extraction_finds_terms() -> None:
    """Guards the test above against passing because it extracted nothing."""
    used = used_terms()
    assert (GC.ControlImplementation, "demo-customer.ttl") in used
    assert (GC.SourceGraph, "rdf.py") in used
    assert (GC.customerPart, "responsibility.rq") in used


def test_shipped_instance_data_is_consistent_with_the_ontology(
    ontology: Graph, tmp_path: Path
) -> None:
    """The disjointness axioms make misuse (a service as a holder, a status as a control)
    an inconsistency, so this checks the provider programme and the demo for real."""
    combined = Graph()
    for path in (ROOT / "ontology").glob("*.ttl"):
        combined.parse(path)
    assert len(combined) > len(ontology)
    assert hermit_consistent(combined, tmp_path)


def test_misused_instance_data_is_inconsistent(ontology: Graph, tmp_path: Path) -> None:
    misused = Graph()
    for triple in ontology:
        misused.add(triple)
    service = URIRef("https://w3id.org/graphsvc/id/service/example")
    misused.add((service, RDF.type, GC.CloudService))
    misused.add((URIRef("https://w3id.org/graphsvc/id/artifact/x"), GC.holder, service))
    assert not hermit_consistent(misused, tmp_path)


def test_names_written_in_queries_match_the_ontology(ontology: Graph) -> None:
    """Queries name relations, statuses and responsibilities in VALUES tables (a join on
    a small table is far faster than a lookup); the names must be the ontology's."""
    pairs = 0
    for path in (ROOT / "queries").glob("*.rq"):
        for term, name in re.findall(r'\(gc:(\w+) "([^"]+)"\)', path.read_text()):
            iri = GC[term]
            names = {str(ontology.value(iri, GC.identifier)), str(ontology.value(iri, RDFS.label))}
            assert name in names, (path.name, term, name)
            pairs += 1
    assert pairs >= 10
