"""OSCAL catalogs, and resolved-profile catalogs (which also become baselines).

A catalog states one release of a framework: each control's title, text, parameters
and family, on nodes of that release (``.../release/5.1.1/ac-2``), in the release's
graph. A resolved profile's catalog restates the controls it selects; those are the
same release's text, so they go to the release's graph once, and the baseline's own
graph keeps only what the baseline says: which controls it includes, the parameter
values and constraints it sets, and what it adds (FedRAMP's ``_fr`` parts and
properties in FedRAMP's namespace).
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import RDF, RDFS, XSD, Literal, URIRef
from rdflib.namespace import SKOS

from graphsvc.errors import BadInput
from graphsvc.identity import (
    baseline_iri,
    baseline_slug,
    family_iri,
    family_version_iri,
    framework_iri,
    framework_slug,
    parameter_iri,
    parameter_version_iri,
    release_iri,
    release_slug,
    requirement_iri,
    requirement_version_iri,
    slug,
)
from graphsvc.importers.model import Built, ReleaseContent
from graphsvc.importers.oscal.document import (
    OscalDocument,
    many,
    one,
    prop,
    required,
    text,
    value_text,
)
from graphsvc.namespaces import DCTERMS, GC, GRAPH

NIST_NS = "http://csrc.nist.gov/ns/"
_BASELINE_PART = re.compile(r"_fr(_|$)")  # FedRAMP's "Additional Requirements and Guidance"


def is_resolved_profile(doc: OscalDocument) -> bool:
    """A resolved-profile catalog names its source profile in its metadata."""
    metadata = one(doc.root, "metadata")
    rels = {link.get("rel") for link in many(metadata, "links") if isinstance(link, dict)}
    return bool(rels & {"source-profile", "resolution-source"}) or bool(
        prop(metadata, "resolution-tool"))


def catalog_release(doc: OscalDocument, framework: str | None, release: str | None
                    ) -> tuple[str, str, bool]:
    """(framework slug, release, stated): the release is the one named by ``release``,
    else by the catalog's version ("5.1.1+u4" is 5.1.1), else the version as written
    (``stated`` False: the import report says so)."""
    metadata = required(doc, doc.root, "metadata", "/catalog")
    title = text(metadata, "title") or ""
    version = text(metadata, "version")
    fw = framework or framework_slug(title, version)
    named = release or release_slug(version)
    return fw, named or slug(version or "unversioned"), named is not None


def catalog_graph(doc: OscalDocument, framework: str | None = None,
                  release: str | None = None) -> Built:
    metadata = required(doc, doc.root, "metadata", "/catalog")
    title = text(metadata, "title") or ""
    version = text(metadata, "version")
    fw_slug, rel, stated = catalog_release(doc, framework, release)
    resolved = is_resolved_profile(doc)
    fw, rel_node = framework_iri(fw_slug), release_iri(fw_slug, rel)
    content = ReleaseContent(str(GRAPH[f"oscal/catalog/{fw_slug}/{rel}"]), rel_node,
                             complete=not resolved)
    content.add(rel_node, RDF.type, GC.FrameworkRelease)
    content.add(rel_node, RDF.type, GC.CatalogRelease)
    content.add(rel_node, GC.releaseOf, fw)
    content.add(rel_node, GC.identifier, rel)
    content.add(rel_node, RDFS.label, f"{fw_slug} {rel}")
    if not resolved:  # a resolved profile's title and dates are the baseline's
        content.add(rel_node, GC.title, title)
        content.add(rel_node, GC.version, version)
        content.add(rel_node, GC.documentUuid, doc.root.get("uuid"))
        content.add(rel_node, DCTERMS.issued, _day(text(metadata, "published")
                                                   or text(metadata, "last-modified")))
    if resolved:
        name = baseline_slug(title, fw_slug)
        built = Built(str(GRAPH[f"oscal/baseline/{name}"]), release=content)
        b = built.node(baseline_iri(name), GC.Baseline, title=title, identifier=name)
        built.add(b, GC.selectsFrom, fw)
        built.add(b, GC.basedOnRelease, rel_node)
        built.add(b, GC.version, version)
        built.counts["baselines"] += 1
    else:
        built = Built(content.graph, release=content)
        built.counts["catalogs"] += 1
        b = None
    if not stated:
        built.warnings.append(f"the catalog's version {version!r} names no release number; "
                              f"filed as release {rel!r} of {fw_slug} (pass --release)")
    mapper = _CatalogMapper(built, content, fw_slug, rel, b)
    for index, group in enumerate(many(doc.root, "groups")):
        mapper.group(group, None, f"/catalog/groups/{index}", doc.source)
    for index, control in enumerate(many(doc.root, "controls")):
        mapper.control(control, None, None, f"/catalog/controls/{index}", doc.source)
    return built


class _CatalogMapper:
    def __init__(self, built: Built, content: ReleaseContent, framework: str, release: str,
                 baseline: URIRef | None) -> None:
        self.built, self.content = built, content
        self.framework, self.release, self.baseline = framework, release, baseline
        self.position = 0  # of the next part in the control being read

    def group(self, group: dict[str, Any], parent: URIRef | None, pointer: str,
              source: str) -> None:
        gid = group.get("id") or pointer.rsplit("/", 1)[-1]
        family = family_version_iri(self.framework, self.release, gid)
        add = self.content.add
        add(family, RDF.type, GC.FamilyVersion)
        add(family, GC.versionOf, family_iri(self.framework, gid))
        add(family, GC.inRelease, self.content.release)
        add(family, GC.identifier, gid)
        add(family, GC.title, text(group, "title"))
        add(family, GC.parentFamily, parent)
        self.built.counts["families"] += 1
        for i, sub in enumerate(many(group, "groups")):
            self.group(sub, family, f"{pointer}/groups/{i}", source)
        for i, control in enumerate(many(group, "controls")):
            self.control(control, family, None, f"{pointer}/controls/{i}", source)

    def control(self, control: dict[str, Any], family: URIRef | None, parent: URIRef | None,
                pointer: str, source: str) -> None:
        cid = control.get("id")
        if not cid or not isinstance(cid, str):
            raise BadInput("control has no id", where=f"{source}, {pointer}")
        iri = requirement_iri(self.framework, cid)
        version = requirement_version_iri(self.framework, self.release, cid)
        title = text(control, "title")
        labels = [p for p in many(control, "props") if isinstance(p, dict)
                  and p.get("name") == "label"]  # the plain one first (AC-2, not AC-02)
        label = next((p.get("value") for p in labels if not p.get("class")),
                     labels[0].get("value") if labels else None)

        def add(p: URIRef, o: Any) -> None:
            self.content.add(version, p, o, requirement=version)

        add(RDF.type, GC.RequirementVersion)
        add(GC.versionOf, iri)
        add(GC.inRelease, self.content.release)
        add(GC.identifier, cid)
        add(GC.title, title)
        add(RDFS.label, f"{label} {title}" if label and title else title or label or cid)
        add(GC.inFamily, family)
        add(GC.enhances, parent)
        add(GC.sortKey, prop(control, "sort-id"))
        for notation in dict.fromkeys(p.get("value") for p in labels):
            add(SKOS.altLabel, notation)
        if prop(control, "status") == "withdrawn":
            add(GC.withdrawn, True)
            self.built.counts["withdrawn"] += 1
        self.built.counts["enhancements" if parent else "controls"] += 1
        if self.baseline is not None:
            self.built.add(self.baseline, GC.includesControl, iri)
            self._baseline_additions(iri, cid, control)
        for link in many(control, "links"):
            target = str(link.get("href", "")) if isinstance(link, dict) else ""
            if target.startswith("#"):
                relation = {"related": GC.relatedTo, "incorporated-into": GC.incorporatedInto,
                            "moved-to": GC.incorporatedInto}.get(link.get("rel"))
                if relation is not None:
                    add(relation, requirement_iri(self.framework, target[1:]))
        for order, param in enumerate(many(control, "params")):
            self.param(version, param, order)
        self.position = 0
        for index, part in enumerate(p for p in many(control, "parts") if self._stated(p)):
            self.part(version, version, part, 0, index)
        for i, child in enumerate(many(control, "controls")):
            self.control(child, family, iri, f"{pointer}/controls/{i}", source)

    def param(self, version: URIRef, param: dict[str, Any], order: int) -> None:
        pid = param.get("id")
        if not pid or not isinstance(pid, str):
            return
        node = parameter_version_iri(version, pid)

        def add(p: URIRef, o: Any) -> None:
            self.content.add(node, p, o, requirement=version)

        add(RDF.type, GC.ParameterVersion)
        add(GC.versionOf, parameter_iri(self.framework, pid))
        add(GC.identifier, pid)
        add(RDFS.label, text(param, "label"))
        add(GC.order, order)
        self.content.add(version, GC.hasParameter, node, requirement=version)
        for guideline in many(param, "guidelines"):
            add(GC.guideline, text(guideline, "prose") if isinstance(guideline, dict) else None)
        for p in many(param, "props"):
            if isinstance(p, dict) and p.get("name") == "alt-identifier":
                add(GC.altIdentifier, p.get("value"))
        select = one(param, "select")
        add(GC.howMany, select.get("how-many"))
        for choice in many(select, "choice"):
            add(GC.choice, value_text(choice))
        if self.baseline is None:  # a profile's values and constraints are the baseline's
            for value in many(param, "values"):
                add(GC.parameterValue, value_text(value))
        else:
            self._setting(pid, param)
        self.built.counts["parameters"] += 1

    def _setting(self, pid: str, param: dict[str, Any]) -> None:
        values = [value_text(v) for v in many(param, "values")]
        constraints = [text(c, "description") for c in many(param, "constraints")]
        if not any(values) and not any(constraints):
            return
        assert self.baseline is not None
        b, node = self.built, URIRef(f"{self.baseline}/setting/{pid}")
        b.node(node, GC.ParameterSetting, identifier=pid)
        b.add(node, GC.settingOf, self.baseline)
        b.add(node, GC.setsParameter, parameter_iri(self.framework, pid))
        for value in values:
            b.add(node, GC.parameterValue, value)
        for constraint in constraints:
            b.add(node, GC.constraint, constraint)
        b.counts["parameter settings"] += 1

    def part(self, version: URIRef, parent: URIRef, part: dict[str, Any], depth: int,
             index: int) -> None:
        """A part of the control's text; ``gc:order`` is its place in the control read
        from top to bottom (parts before their sub-parts), so ordering by it gives the
        text as the catalog prints it. A part without an id is named after its parent
        and its place among its siblings, the same in every file of the release."""
        name = part.get("name") or "part"
        order, self.position = self.position, self.position + 1
        pid = part.get("id") or f"{parent.rsplit('/', 1)[-1]}.{name}{index}"
        node = URIRef(f"{version}/part/{pid}")

        def add(p: URIRef, o: Any) -> None:
            self.content.add(node, p, o, requirement=version)

        add(RDF.type, GC.Statement if name == "statement" else GC.Part)
        add(GC.identifier, part.get("id"))
        add(GC.title, text(part, "title"))
        add(GC.partName, name)
        add(GC.partLabel, prop(part, "label"))
        add(GC.prose, text(part, "prose"))
        add(GC.order, order)
        add(GC.depth, depth)
        self.content.add(parent, GC.hasPart, node, requirement=version)
        for i, child in enumerate(c for c in many(part, "parts") if self._stated(c)):
            self.part(version, node, child, depth + 1, i)

    def _stated(self, part: Any) -> bool:
        """A part the release states; in a resolved profile, parts the profile added
        (FedRAMP's ``_fr`` parts) are the baseline's instead."""
        return isinstance(part, dict) and not (
            self.baseline is not None and _BASELINE_PART.search(str(part.get("id", ""))))

    def _baseline_additions(self, iri: URIRef, cid: str, control: dict[str, Any]) -> None:
        """What the profile added to the control: parts and properties of its own."""
        assert self.baseline is not None
        b = self.built
        added = [p for p in _parts_within(control) if _BASELINE_PART.search(str(p.get("id", "")))]
        props = [p for p in many(control, "props") if isinstance(p, dict)
                 and p.get("ns") and not str(p["ns"]).startswith(NIST_NS)]
        if not added and not props:
            return
        node = b.node(URIRef(f"{self.baseline}/alter/{cid}"), GC.Alteration, identifier=cid)
        b.add(node, GC.altersControl, iri)
        b.add(node, GC.alterationOf, self.baseline)
        for p in props:
            b.add(node, GC.addsProperty, f"{p.get('name')}={p.get('value')}")
        for order, part in enumerate(added):
            added_part(b, self.baseline, node, GC.addsPart, part, order)
        b.counts["alterations"] += 1

def added_part(built: Built, baseline: URIRef, parent: URIRef, link: URIRef,
               part: dict[str, Any], order: int) -> None:
    """A part a profile adds to a control: the baseline's, on a node of the baseline."""
    pid = part.get("id") or f"{parent.rsplit('/', 1)[-1]}.{order}"
    node = URIRef(f"{baseline}/part/{pid}")
    built.add(node, RDF.type, GC.Part)
    built.add(node, GC.identifier, part.get("id"))
    built.add(node, GC.title, text(part, "title"))
    built.add(node, GC.partName, part.get("name"))
    built.add(node, GC.partLabel, prop(part, "label"))
    built.add(node, GC.prose, text(part, "prose"))
    built.add(node, GC.order, order)
    built.add(parent, link, node)
    for i, child in enumerate(c for c in many(part, "parts") if isinstance(c, dict)):
        added_part(built, baseline, node, GC.hasPart, child, i)


def _parts_within(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The control's parts and their sub-parts, outermost first (not its child controls)."""
    out = []
    for part in many(node, "parts"):
        if isinstance(part, dict):
            out.append(part)
            out += [p for p in _parts_within(part)
                    if not _BASELINE_PART.search(str(part.get("id", "")))]
    return out


def _day(value: str | None) -> Literal | None:
    return Literal(value[:10], datatype=XSD.date) if value and len(value) >= 10 else None
