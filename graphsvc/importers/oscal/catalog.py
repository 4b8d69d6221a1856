"""OSCAL catalogs (and resolved-profile catalogs, which also become baselines)."""

from __future__ import annotations

from typing import Any

from rdflib import RDF, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import (
    baseline_iri,
    baseline_slug,
    family_iri,
    framework_iri,
    framework_slug,
    parameter_iri,
    requirement_iri,
)
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.document import (
    OscalDocument,
    many,
    one,
    prop,
    required,
    text,
    value_text,
)
from graphsvc.namespaces import GC, GRAPH


def is_resolved_profile(doc: OscalDocument) -> bool:
    """A resolved-profile catalog names its source profile in its metadata."""
    metadata = one(doc.root, "metadata")
    rels = {link.get("rel") for link in many(metadata, "links") if isinstance(link, dict)}
    return bool(rels & {"source-profile", "resolution-source"}) or bool(
        prop(metadata, "resolution-tool"))


def catalog_graph(doc: OscalDocument, framework: str | None = None) -> Built:
    metadata = required(doc, doc.root, "metadata", "/catalog")
    title = text(metadata, "title") or ""
    version = text(metadata, "version")
    slug = framework or framework_slug(title, version)
    baseline = baseline_slug(title, slug) if is_resolved_profile(doc) else None
    graph = GRAPH[f"oscal/baseline/{baseline}"] if baseline else GRAPH[f"oscal/catalog/{slug}"]
    built = Built(str(graph))
    fw = framework_iri(slug)
    if baseline:
        b = built.node(baseline_iri(baseline), GC.Baseline, title=title, identifier=baseline)
        built.add(b, GC.selectsFrom, fw)
        built.add(b, GC.version, version)
        built.add(fw, RDF.type, GC.Framework)
        built.add(fw, GC.identifier, slug)
        built.counts["baselines"] += 1
    else:
        built.node(fw, GC.Catalog, title=title, identifier=slug)
        built.add(fw, GC.version, version)
        built.add(fw, GC.documentUuid, doc.root.get("uuid"))
        built.counts["catalogs"] += 1
    mapper = _CatalogMapper(built, slug, b if baseline else None)
    for index, group in enumerate(many(doc.root, "groups")):
        mapper.group(group, None, f"/catalog/groups/{index}", doc.source)
    for index, control in enumerate(many(doc.root, "controls")):
        mapper.control(control, None, None, f"/catalog/controls/{index}", doc.source)
    return built


class _CatalogMapper:
    def __init__(self, built: Built, framework: str, baseline: URIRef | None) -> None:
        self.built, self.framework, self.baseline = built, framework, baseline
        self.fw = framework_iri(framework)

    def group(self, group: dict[str, Any], parent: URIRef | None, pointer: str,
              source: str) -> None:
        b = self.built
        gid = group.get("id") or pointer.rsplit("/", 1)[-1]
        family = b.node(family_iri(self.framework, gid), GC.ControlFamily,
                        identifier=gid, title=text(group, "title"))
        b.add(family, GC.familyOf, self.fw)
        b.add(family, GC.parentFamily, parent)
        b.counts["families"] += 1
        for i, sub in enumerate(many(group, "groups")):
            self.group(sub, family, f"{pointer}/groups/{i}", source)
        for i, control in enumerate(many(group, "controls")):
            self.control(control, family, None, f"{pointer}/controls/{i}", source)

    def control(self, control: dict[str, Any], family: URIRef | None, parent: URIRef | None,
                pointer: str, source: str) -> None:
        b = self.built
        cid = control.get("id")
        if not cid:
            raise BadInput("control has no id", where=f"{source}, {pointer}")
        iri = requirement_iri(self.framework, cid)
        label = prop(control, "label")
        title = text(control, "title")
        b.node(iri, GC.Control, identifier=cid, title=title,
               label=f"{label} {title}" if label and title else None)
        if parent:  # typed as both, so that queries need no reasoner
            b.add(iri, RDF.type, GC.ControlEnhancement)
        b.add(iri, GC.inFramework, self.fw)
        b.add(iri, GC.inFamily, family)
        b.add(iri, GC.enhances, parent)
        withdrawn = prop(control, "status") == "withdrawn"
        if withdrawn:
            b.add(iri, GC.withdrawn, True)
            b.counts["withdrawn"] += 1
        b.counts["enhancements" if parent else "controls"] += 1
        if self.baseline is not None:
            b.add(self.baseline, GC.includesControl, iri)
        for link in many(control, "links"):
            target = str(link.get("href", "")) if isinstance(link, dict) else ""
            if target.startswith("#"):
                relation = {"related": GC.relatedTo, "incorporated-into": GC.incorporatedInto,
                            "moved-to": GC.incorporatedInto}.get(link.get("rel"))
                if relation is not None:
                    b.add(iri, relation, requirement_iri(self.framework, target[1:]))
        for param in many(control, "params"):
            self.param(iri, param)
        for i, part in enumerate(many(control, "parts")):
            self.part(iri, iri, part, i)
        for i, child in enumerate(many(control, "controls")):
            self.control(child, family, iri, f"{pointer}/controls/{i}", source)

    def param(self, control: URIRef, param: dict[str, Any]) -> None:
        b = self.built
        pid = param.get("id")
        if not pid:
            return
        iri = b.node(parameter_iri(self.framework, pid), GC.Parameter, identifier=pid,
                     label=text(param, "label"))
        b.add(control, GC.hasParameter, iri)
        for value in many(param, "values"):
            b.add(iri, GC.parameterValue, value_text(value))
        b.counts["parameters"] += 1

    def part(self, control: URIRef, parent: URIRef, part: dict[str, Any], index: int) -> None:
        b = self.built
        name = part.get("name") or "part"
        pid = part.get("id") or f"{parent.rsplit('/', 1)[-1]}.{name}{index}"
        iri = URIRef(f"{control}/part/{pid}")
        b.node(iri, GC.Statement if name == "statement" else GC.Part,
               identifier=part.get("id"), title=text(part, "title"))
        b.add(iri, GC.partName, name)
        b.add(iri, GC.prose, text(part, "prose"))
        b.add(parent, GC.hasPart, iri)
        for i, child in enumerate(many(part, "parts")):
            self.part(control, iri, child, i)


