"""OSCAL system security plans and component definitions.

Objects with an OSCAL UUID get the IRI ``id/oscal/{uuid}``, so an ``inherited`` or
``satisfied`` statement of a leveraging SSP points to the ``provided`` or
``responsibility`` of the leveraged SSP it names, whichever file is imported first.
Responsibility is from the control set owner's side: only inherited -> provider,
inherited and own parts -> shared, own parts only -> customer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from rdflib import RDF, XSD, Literal, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import (
    baseline_iri,
    baseline_slug,
    framework_slug,
    match_framework,
    normalise_id,
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
from graphsvc.importers.safety import identifier
from graphsvc.namespaces import GC, GRAPH, ID
from graphsvc.store import Rows, Store
from graphsvc.store.bindings import values_block

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
    """The control set an SSP describes. Its controls are those of the framework given,
    else of the baseline its profile names (when loaded), else of the framework the
    profile's name or, failing that, its control ids point to; the import report says
    which was assumed."""
    root = doc.root
    metadata = required(doc, root, "metadata", "/system-security-plan")
    uuid = root["uuid"]
    built = Built(str(GRAPH[f"oscal/ssp/{uuid}"]))
    title = text(metadata, "title")
    control_set = built.node(ID[f"controlset/{uuid}"], GC.ControlSet, title=title)
    built.add(control_set, GC.documentUuid, uuid)
    built.counts["control sets"] += 1
    profile = _profile_names(doc)
    built.add(control_set, GC.importsProfile, profile[0] if profile else None)
    baseline = _target_baseline(profile, stores)
    built.add(control_set, GC.targetBaseline, baseline)
    requirements = many(one(root, "control-implementation"), "implemented-requirements")
    fw = framework or _framework(built, profile, baseline, requirements, stores)

    characteristics = required(doc, root, "system-characteristics", "/system-security-plan")
    system = built.node(ID[f"system/{uuid}"], GC.System,
                        title=text(characteristics, "system-name"))
    built.add(system, GC.description, text(characteristics, "description"))
    built.add(control_set, GC.describesSystem, system)

    implementation = one(root, "system-implementation")
    authorizations = set()
    for auth in many(implementation, "leveraged-authorizations"):
        node = built.node(oscal_iri(auth["uuid"]), GC.Authorization, title=text(auth, "title"))
        authorizations.add(str(auth["uuid"]))
        built.add(node, GC.validFrom, _date(text(auth, "date-authorized")))
        built.add(control_set, GC.leverages, node)
        built.counts["leveraged authorizations"] += 1
    leveraged: dict[str, URIRef] = {}  # component UUID -> the authorization it comes under
    for component in many(implementation, "components"):
        _component(built, system, component, doc)
        authorization = _authorization(doc, component)
        if authorization:
            leveraged[component["uuid"]] = oscal_iri(authorization)
            if authorization not in authorizations:
                built.warnings.append(f"component {component['uuid']} names leveraged "
                                      f"authorization {authorization}, which the file does "
                                      "not define")

    for requirement in requirements:
        _implemented_requirement(built, control_set, fw, requirement, leveraged)
    _check_references(built, doc, stores)
    return built


def _framework(built: Built, profile: list[str], baseline: URIRef | None,
               requirements: list[Any], stores: Sequence[Store]) -> str:
    """The framework the SSP's control ids belong to, with a warning saying how it was
    found when the profile it names is not loaded."""
    if baseline is not None:
        return _framework_of(baseline)
    named = next((found for name in profile
                  if (found := match_framework(_readable(name)))), None)
    ids = [str(r.get("control-id", "")) for r in requirements if isinstance(r, dict)]
    how = "the profile's name"
    if named is None:
        named, how = _framework_with(ids, stores), "its control ids"
    if named is None and ids and all(_SP800_53_ID.match(i.lower()) for i in ids):
        named, how = "nist-sp-800-53-rev5", "the form of its control ids (no framework is loaded)"
    if named is None:
        raise BadInput(f"the profile {profile[0] if profile else '(none)'!r} is not loaded and "
                       "no loaded framework defines its control ids; import the catalog or "
                       "baseline first, or pass --framework SLUG",
                       where=f"{built.graph}, import-profile")
    level = baseline_slug(_readable(profile[0]), named) if profile else None
    built.warnings.append(
        f"the profile {profile[0] if profile else '(none)'} is not loaded: its controls are "
        f"taken as {named}'s (from {how})"
        + (f"; the baseline {level} it names is not loaded" if level else ""))
    return named


_SP800_53_ID = re.compile(r"^[a-z]{2}-\d+(\.\d+)?$")
IN_FRAMEWORK = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?fw (COUNT(DISTINCT ?r) AS ?found) WHERE {
  %s
  ?r gc:identifier ?id ; gc:inFramework ?fw .
} GROUP BY ?fw ORDER BY DESC(?found)
"""


def _framework_with(ids: list[str], stores: Sequence[Store]) -> str | None:
    """The loaded framework that defines most of these control ids."""
    wanted = {normalise_id(i) for i in ids if i}
    if not wanted:
        return None
    best: tuple[int, str] | None = None
    for store in stores:
        rows = store.query(IN_FRAMEWORK % values_block("id", [Literal(i) for i in wanted]))
        assert isinstance(rows, Rows)
        for fw, found in rows:
            candidate = (int(found), str(fw).rsplit("/", 1)[-1])
            best = max(best, candidate) if best else candidate
    return best[1] if best else None


def _check_references(built: Built, doc: OscalDocument, stores: Sequence[Store]) -> None:
    """Warn of references to components, provided or responsibility statements that
    neither this file nor the store defines (they are kept: a later import may)."""
    defined = {s for s, p, o in built.triples if p == RDF.type}
    named = {(o, p) for s, p, o in built.triples
             if p in (GC.byComponent, GC.inherits, GC.satisfies, GC.responsibilityFor)}
    for target, link in sorted(named):
        if target in defined or any(
                s.query(DEFINED, bindings={"x": target}) is True for s in stores):
            continue
        what = {GC.byComponent: "component", GC.inherits: "provided statement",
                GC.satisfies: "responsibility", GC.responsibilityFor: "provided statement"}[link]
        built.warnings.append(f"a statement names {what} {str(target).rsplit('/', 1)[-1]}, "
                              f"which neither {doc.source} nor the store defines")
        built.counts["dangling references"] += 1


DEFINED = "ASK { ?x a ?kind }"


def component_definition_graph(doc: OscalDocument, framework: str | None = None) -> Built:
    root = doc.root
    metadata = required(doc, root, "metadata", "/component-definition")
    uuid = root["uuid"]
    built = Built(str(GRAPH[f"oscal/component-definition/{uuid}"]))
    definition = built.node(oscal_iri(uuid), GC.ComponentDefinition,
                            title=text(metadata, "title"))
    built.counts["component definitions"] += 1
    for component in many(root, "components"):
        node = _component(built, definition, component, doc)
        built.add(node, GC.definedIn, definition)
        for ci in many(component, "control-implementations"):
            fw = framework or _framework_of_source(doc, ci)
            for requirement in many(ci, "implemented-requirements"):
                impl = _implemented_requirement(built, None, fw, requirement)
                built.add(impl, GC.byComponent, node)
    return built


def _authorization(doc: OscalDocument, component: dict[str, Any]) -> str | None:
    """The UUID of the leveraged authorization a component comes under, if it names one."""
    authorization = prop(component, "leveraged-authorization-uuid")
    return identifier(authorization, f"{doc.source}, component {component['uuid']}, "
                      "prop leveraged-authorization-uuid") if authorization else None


def _component(built: Built, owner: URIRef, component: dict[str, Any],
               doc: OscalDocument) -> URIRef:
    node = built.node(oscal_iri(component["uuid"]), GC.SystemComponent,
                      title=text(component, "title"))
    built.add(node, GC.componentType, component.get("type"))
    built.add(node, GC.description, text(component, "description"))
    built.add(owner, GC.hasComponent, node)
    authorization = _authorization(doc, component)
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
        _setting(built, control_set or impl, impl, fw, setting)
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


def _setting(built: Built, owner: URIRef, impl: URIRef, fw: str, setting: Any) -> None:
    """A value the control set (or component definition) sets: its own, never the
    catalog's parameter's."""
    pid = setting.get("param-id") if isinstance(setting, dict) else None
    if not pid or not isinstance(pid, str):
        return
    node = built.node(URIRef(f"{owner}/setting/{quote(pid, safe='-._')}"),
                      GC.ParameterSetting, identifier=pid)
    built.add(node, GC.settingOf, owner)
    built.add(node, GC.setsParameter, parameter_iri(fw, pid))
    built.add(node, GC.statedIn, impl)
    for value in many(setting, "values"):
        built.add(node, GC.parameterValue, value_text(value))
    built.counts["parameter settings"] += 1


def _profile_names(doc: OscalDocument) -> list[str]:
    """What the SSP's import-profile names: its href and, for a back-matter reference,
    the resource's title and links."""
    href = str(one(doc.root, "import-profile").get("href", ""))
    names = [href] if href and not href.startswith("#") else []
    if href.startswith("#"):
        for resource in many(one(doc.root, "back-matter"), "resources"):
            if resource.get("uuid") == href[1:]:
                names += [str(r.get("href", "")) for r in many(resource, "rlinks")]
                names += [text(resource, "title") or ""]
    return [n for n in names if n]


def _readable(name: str) -> str:
    """NIST_SP-800-53_rev4_LOW-baseline_profile.json -> words a rule can match."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if "/" in name else name
    return stem.replace("_", " ")


def _target_baseline(names: list[str], stores: Sequence[Store]) -> URIRef | None:
    """The loaded baseline the SSP's import-profile names, if any (never fetched)."""
    for name in names:
        readable = _readable(name)
        candidate = baseline_iri(baseline_slug(readable, framework_slug(readable)))
        if any(s.query(BASELINE_EXISTS, bindings={"b": candidate}) is True for s in stores):
            return candidate
    return None


def _framework_of(baseline: URIRef) -> str:
    name = str(baseline).rsplit("/", 1)[-1]
    if name.startswith("fedramp-rev5"):
        return "nist-sp-800-53-rev5"
    if name.startswith("fedramp-rev4"):
        return "nist-sp-800-53-rev4"
    return name.rsplit("-", 1)[0]


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
