"""FedRAMP 20x machine-readable documentation (FRMR.documentation.json): the Key
Security Indicators as a framework release, and each indicator's related NIST SP 800-53
rev5 controls as mappings.

A theme (KSI-IAM) is a family; an indicator (KSI-IAM-AAM) a requirement with its
statement, its former id (``fka``, KSI-IAM-07) as another notation and its update
history. FedRAMP says an indicator relates to its controls, not how: every mapping is
unspecified (never equal). The definitions (FRD) and the process requirements (FRR)
are not imported.
"""

from __future__ import annotations

import json
from typing import Any

from rdflib import RDF, RDFS, XSD, Literal, URIRef
from rdflib.namespace import SKOS

from graphsvc.errors import BadInput
from graphsvc.identity import (
    family_iri,
    family_version_iri,
    framework_iri,
    release_iri,
    release_slug,
    requirement_iri,
    requirement_version_iri,
    slug,
)
from graphsvc.importers.mappings import add_mapping, mapping_source
from graphsvc.importers.model import Built, ReleaseContent
from graphsvc.namespaces import DCTERMS, GC, GRAPH

FRAMEWORK = "fedramp-20x-ksi"
CONTROLS = "nist-sp-800-53-rev5"


def is_frmr(document: Any) -> bool:
    return isinstance(document, dict) and "KSI" in document and "info" in document


def frmr_graph(data: bytes, source: str) -> Built:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"not valid JSON: {exc}", where=source) from exc
    if not is_frmr(document) or not isinstance(document["KSI"], dict):
        raise BadInput("not FedRAMP machine-readable documentation (no info and KSI)",
                       where=f"{source}, /")
    info = document["info"] if isinstance(document["info"], dict) else {}
    version = str(info.get("version") or "")
    release = release_slug(version) or slug(version or "unversioned")
    built = Built(str(GRAPH[f"fedramp-20x/{slug(release)}"]))
    rel = release_iri(FRAMEWORK, release)
    content = built.release = ReleaseContent(built.graph, rel, complete=True)
    for p, o in ((RDF.type, GC.FrameworkRelease), (RDF.type, GC.CatalogRelease),
                 (GC.releaseOf, framework_iri(FRAMEWORK)), (GC.identifier, release),
                 (GC.title, "FedRAMP 20x Key Security Indicators"), (GC.version, version),
                 (RDFS.label, f"{FRAMEWORK} {release}"), (GC.wholeRelease, True),
                 (DCTERMS.issued, _day(info.get("last_updated")))):
        content.add(rel, p, o)
    origin = mapping_source(built, "fedramp-20x", slug(release),
                            f"FedRAMP 20x KSI {version}: related controls")
    for order, (key, theme) in enumerate(document["KSI"].items()):
        where = f"{source}, /KSI/{key}"
        if not isinstance(theme, dict) or not isinstance(theme.get("indicators"), dict):
            raise BadInput("a theme needs an object of indicators", where=where)
        _theme(built, content, theme, str(theme.get("id") or key), order, where, origin)
    return built


def _theme(built: Built, content: ReleaseContent, theme: dict[str, Any], tid: str,
           order: int, where: str, origin: URIRef) -> None:
    release = content.release.rsplit("/", 1)[-1]
    family = family_version_iri(FRAMEWORK, release, tid)
    for p, o in ((RDF.type, GC.FamilyVersion), (GC.versionOf, family_iri(FRAMEWORK, tid)),
                 (GC.inRelease, content.release), (GC.identifier, tid),
                 (GC.title, theme.get("name")), (GC.description, theme.get("theme")),
                 (GC.order, order)):
        content.add(family, p, o)
    built.counts["themes"] += 1
    for index, (iid, indicator) in enumerate(theme["indicators"].items()):
        at = f"{where}/indicators/{iid}"
        if not isinstance(indicator, dict):
            raise BadInput("an indicator must be an object", where=at)
        version = requirement_version_iri(FRAMEWORK, release, iid)

        def add(p: URIRef, o: Any, node: URIRef = version, owner: URIRef = version) -> None:
            content.add(node, p, o, requirement=owner)

        name, statement = indicator.get("name"), indicator.get("statement")
        for p, o in ((RDF.type, GC.RequirementVersion),
                     (GC.versionOf, requirement_iri(FRAMEWORK, iid)),
                     (GC.inRelease, content.release), (GC.identifier, iid), (GC.title, name),
                     (RDFS.label, f"{iid} {name}" if name else iid), (GC.inFamily, family),
                     (SKOS.altLabel, indicator.get("fka")), (GC.sortKey, iid.lower()),
                     (GC.order, index)):
            add(p, o)
        if statement:
            part = URIRef(f"{version}/part/{iid}_smt")
            for p, o in ((RDF.type, GC.Statement), (GC.partName, "statement"),
                         (GC.prose, statement), (GC.order, 0), (GC.depth, 0)):
                add(p, o, part)
            add(GC.hasPart, part)
        for n, entry in enumerate(indicator.get("updated") or []):
            if isinstance(entry, dict):
                note = URIRef(f"{version}/update/{n}")
                add(RDF.type, GC.ChangeNote, note)
                add(DCTERMS.date, _day(entry.get("date")), note)
                add(GC.description, entry.get("comment"), note)
                add(GC.changeNote, note)
        controls = indicator.get("controls") or []
        if not isinstance(controls, list):
            raise BadInput("controls must be a list of control ids", where=f"{at}/controls")
        for control in controls:
            add_mapping(built, sources=[requirement_iri(FRAMEWORK, iid)],
                        targets=[requirement_iri(CONTROLS, str(control))], stated=None,
                        where=f"{at}/controls", source_node=origin)
        built.counts["indicators"] += 1
        built.counts["indicators with controls" if controls else "indicators without controls"
                     ] += 1


def _day(value: object) -> Literal | None:
    text = str(value or "")
    return Literal(text[:10], datatype=XSD.date) if len(text) >= 10 else None
