"""OSCAL system security plans and component definitions.

Objects with an OSCAL UUID get the IRI ``id/oscal/{uuid}``, so an ``inherited`` or
``satisfied`` statement of a leveraging SSP points to the ``provided`` or
``responsibility`` of the leveraged SSP it names, whichever file is imported first.
Responsibility is from the control set owner's side: only inherited -> provider,
inherited and own parts -> shared, own parts only -> customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rdflib import XSD, Literal, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import (
    baseline_iri,
    baseline_slug,
    framework_slug,
    match_framework,
    parameter_iri,
    requirement_iri,
)
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.document import OscalDocument, many, one, prop, required, text
from graphsvc.namespaces import GC, GRAPH, ID
from graphsvc.store import Store

STATUS = {"implemented": GC.Implemented, "partial": GC.PartiallyImplemented,
          "planned": GC.Planned, "alternative": GC.Alternative,
          "not-applicable": GC.NotApplicable}
ORIGINATION = {"sp-corporate": GC.SpCorporate, "sp-system": GC.SpSystem,
               "customer-configured": GC.CustomerConfigured,
               "customer-provided": GC.CustomerProvided, "inherited": GC.Inherited}
BASELINE_EXISTS = "PREFIX gc: <https://w3id.org/graphsvc/compliance#> ASK { ?b a gc:Baseline }"


def oscal_iri(uuid: str) -> URIRef:
    return ID[f"oscal/{uuid}"]


def ssp_graph(doc: OscalDocument, stores: Sequence[Store], framework: str | None = None
              ) -> Built:
    root = doc.root
    metadata = required(doc, root, "metadata", "/system-security-plan")
    uuid = root.get("uuid") or doc.source
    built = Built(str(GRAPH[f"oscal/ssp/{uuid}"]))
    title = text(metadata, "title")
    fw = framework or framework_slug(title or "")
    control_set = built.node(ID[f"controlset/{uuid}"], GC.ControlSet, title=title)
    built.add(control_set, GC.documentUuid, uuid)
    built.counts["control sets"] += 1
    baseline = _target_baseline(doc, stores)
    built.add(control_set, GC.targetBaseline, baseline)
    if baseline is not None and framework is None:
        fw = _framework_of(baseline, fw)

    characteristics = required(doc, root, "system-characteristics", "/system-security-plan")
    system = built.node(ID[f"system/{uuid}"], GC.System,
                        title=text(characteristics, "system-name"))
    built.add(system, GC.description, text(characteristics, "description"))
    built.add(control_set, GC.describesSystem, system)

    implementation = one(root, "system-implementation")
    for auth in many(implementation, "leveraged-authorizations"):
        node = built.node(oscal_iri(auth["uuid"]), GC.Authorization, title=text(auth, "title"))
        built.add(node, GC.validFrom, _date(text(auth, "date-authorized")))
        built.add(control_set, GC.leverages, node)
        built.counts["leveraged authorizations"] += 1
    leveraged: dict[str, URIRef] = {}  # component UUID -> the authorization it comes under
    for component in many(implementation, "components"):
        _component(built, system, component)
        authorization = prop(component, "leveraged-authorization-uuid")
        if authorization:
            leveraged[component["uuid"]] = oscal_iri(authorization)

    for requirement in many(one(root, "control-implementation"), "implemented-requirements"):
        _implemented_requirement(built, control_set, fw, requirement, leveraged)
    return built


def component_definition_graph(doc: OscalDocument, framework: str | None = None) -> Built:
    root = doc.root
    metadata = required(doc, root, "metadata", "/component-definition")
    uuid = root.get("uuid") or doc.source
    built = Built(str(GRAPH[f"oscal/component-definition/{uuid}"]))
    definition = built.node(oscal_iri(uuid), GC.ComponentDefinition,
                            title=text(metadata, "title"))
    built.counts["component definitions"] += 1
    for component in many(root, "components"):
        node = _component(built, definition, component)
        built.add(node, GC.definedIn, definition)
        for ci in many(component, "control-implementations"):
            fw = framework or _framework_of_source(doc, ci)
            for requirement in many(ci, "implemented-requirements"):
                impl = _implemented_requirement(built, None, fw, requirement)
                built.add(impl, GC.byComponent, node)
    return built


def _component(built: Built, owner: URIRef, component: dict[str, Any]) -> URIRef:
    node = built.node(oscal_iri(component["uuid"]), GC.SystemComponent,
                      title=text(component, "title"))
    built.add(node, GC.componentType, component.get("type"))
    built.add(node, GC.description, text(component, "description"))
    built.add(owner, GC.hasComponent, node)
    authorization = prop(component, "leveraged-authorization-uuid")
    if authorization:
        built.add(node, GC.viaAuthorization, oscal_iri(authorization))
    built.counts["components"] += 1
    return node


def _implemented_requirement(built: Built, control_set: URIRef | None, fw: str,
                             requirement: dict[str, Any],
                             leveraged: dict[str, URIRef] | None = None) -> URIRef:
    """One implemented requirement. An inherited statement by a leveraged component
    makes the implementation gc:inheritedUnder that authorization, and the SSP's claim
    that the authorization covers the control is kept as gc:coversControl."""
    control_id = requirement.get("control-id", "")
    impl = built.node(built.uuid_node(requirement["uuid"], "implemented-requirement"),
                      GC.ControlImplementation, identifier=control_id)
    built.add(impl, GC.implementsControl, requirement_iri(fw, control_id))
    built.add(impl, GC.inControlSet, control_set)
    built.counts["implementations"] += 1
    statuses, inherited, own = [], False, False
    owners = [r.get("role-id") for r in many(requirement, "responsible-roles")]
    customer_part: list[str | None] = []  # what the control set's own components do
    origination = [v for p in many(requirement, "props") if p.get("name") == "control-origination"
                   for v in [p.get("value")]]
    for value in origination:
        built.add(impl, GC.origination, ORIGINATION.get(value))
    status = prop(requirement, "implementation-status")
    for setting in many(requirement, "set-parameters"):
        for value in many(setting, "values"):
            built.add(parameter_iri(fw, setting.get("param-id", "")), GC.parameterValue, value)
    statements = many(requirement, "statements") or [requirement]
    for statement in statements:
        for by in many(statement, "by-components"):
            node = built.node(built.uuid_node(by["uuid"], "by-component"),
                              GC.StatementImplementation)
            built.add(node, GC.ofImplementation, impl)
            built.add(node, GC.statementId, statement.get("statement-id"))
            built.add(node, GC.byComponent, oscal_iri(by.get("component-uuid", "")))
            built.add(node, GC.description, text(by, "description"))
            state = one(by, "implementation-status").get("state") or prop(
                by, "implementation-status")
            statuses.append(state)
            built.counts["statements"] += 1
            exported = one(by, "export")
            for provided in many(exported, "provided"):
                p = built.node(oscal_iri(provided["uuid"]), GC.Provided)
                built.add(p, GC.description, text(provided, "description"))
                built.add(p, GC.exportedBy, node)
                built.counts["provided"] += 1
            for responsibility in many(exported, "responsibilities"):
                r = built.node(oscal_iri(responsibility["uuid"]), GC.ConsumerResponsibility)
                built.add(r, GC.description, text(responsibility, "description"))
                built.add(r, GC.exportedBy, node)
                built.add(r, GC.responsibilityFor,
                          oscal_iri(responsibility.get("provided-uuid", "")))
                built.counts["responsibilities"] += 1
            for key, kind, link, target in (
                ("inherited", GC.Inheritance, GC.inherits, "provided-uuid"),
                ("satisfied", GC.Satisfaction, GC.satisfies, "responsibility-uuid"),
            ):
                for item in many(by, key):
                    declared = built.node(oscal_iri(item["uuid"]), kind)
                    built.add(declared, GC.declaredBy, node)
                    built.add(declared, link, oscal_iri(item.get(target, "")))
                    built.add(declared, GC.description, text(item, "description"))
                    built.counts[key] += 1
            inherited = inherited or bool(many(by, "inherited"))
            authorization = (leveraged or {}).get(str(by.get("component-uuid", "")))
            if authorization is not None and many(by, "inherited"):
                built.add(impl, GC.inheritedUnder, authorization)
                built.add(authorization, GC.coversControl, requirement_iri(fw, control_id))
            if not many(by, "inherited") or many(by, "satisfied"):
                own = True
                customer_part += [text(by, "description")] if not many(by, "inherited") else []
                customer_part += [text(item, "description") for item in many(by, "satisfied")]
            owners += [r.get("role-id") for r in many(by, "responsible-roles")]
            owners += [r.get("role-id") for item in many(by, "satisfied")
                       for r in many(item, "responsible-roles")]
    built.add(impl, GC.status, STATUS.get(status or _overall(statuses)))
    if control_set is not None:
        inherited = inherited or "inherited" in origination
        own = own if many(requirement, "statements") or not origination else any(
            o != "inherited" for o in origination)
        built.add(impl, GC.responsibility,
                  GC.SharedResponsibility if inherited and own else
                  GC.ProviderResponsibility if inherited else GC.CustomerResponsibility)
        if inherited and own:
            built.add(impl, GC.customerPart, "\n\n".join(t for t in customer_part if t))
        for owner in dict.fromkeys(o for o in owners if o):  # OSCAL roles, in order
            built.add(impl, GC.owner, owner)
    return impl


def _overall(statuses: list[str | None]) -> str | None:
    known = {s for s in statuses if s}
    if not known:
        return None
    if len(known) == 1:
        return known.pop()
    return "partial" if "implemented" in known or "partial" in known else "planned"


def _target_baseline(doc: OscalDocument, stores: Sequence[Store]) -> URIRef | None:
    """The loaded baseline the SSP's import-profile names, if any (never fetched)."""
    href = str(one(doc.root, "import-profile").get("href", ""))
    names = [href]
    if href.startswith("#"):
        for resource in many(one(doc.root, "back-matter"), "resources"):
            if resource.get("uuid") == href[1:]:
                names += [text(resource, "title") or ""]
                names += [str(r.get("href", "")) for r in many(resource, "rlinks")]
    for name in names:
        stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if "/" in name else name
        readable = stem.replace("_", " ")  # NIST_SP-800-53_rev4_LOW-baseline_profile
        candidate = baseline_iri(baseline_slug(readable, framework_slug(readable)))
        if any(s.query(BASELINE_EXISTS, bindings={"b": candidate}) is True for s in stores):
            return candidate
    return None


def _framework_of(baseline: URIRef, default: str) -> str:
    name = str(baseline).rsplit("/", 1)[-1]
    if name.startswith("fedramp-rev5"):
        return "nist-sp-800-53-rev5"
    if name.startswith("fedramp-rev4"):
        return "nist-sp-800-53-rev4"
    return name.rsplit("-", 1)[0] if "-" in name else default


def _framework_of_source(doc: OscalDocument, ci: dict[str, Any]) -> str:
    """The framework a control-implementation implements: from its description, or the
    back-matter resource its source points to; else BadInput asking for --framework."""
    source = str(ci.get("source", ""))
    names = [text(ci, "description") or "", source]
    for resource in many(one(doc.root, "back-matter"), "resources"):
        if source == f"#{resource.get('uuid')}":
            names += [text(resource, "title") or "", text(resource, "description") or ""]
            names += [str(r.get("href", "")) for r in many(resource, "rlinks")]
    for name in names:
        found = match_framework(name.replace("_", " "))
        if found:
            return found
    raise BadInput(f"cannot tell which framework {source!r} is; pass --framework SLUG",
                   where=f"{doc.source}, control-implementation {ci.get('uuid', '')}")


def _date(value: str | None) -> Literal | None:
    return Literal(value[:10], datatype=XSD.date) if value else None
