"""OSCAL profiles, resolved against a catalog already in the store.

The catalog is found by what the profile says (its import href, the back-matter
resource it points to, its title) or by ``--catalog``; it is never fetched. The
selection follows OSCAL profile resolution: include-all / include-controls (with-ids,
matching, with-child-controls) minus exclude-controls, and, as resolution keeps the
catalog's structure, the ancestors of every selected enhancement.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

from rdflib import URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import (
    baseline_iri,
    baseline_slug,
    framework_iri,
    framework_slug,
    parameter_iri,
    profile_iri,
    requirement_iri,
)
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.document import OscalDocument, many, one, required, text, value_text
from graphsvc.namespaces import GC, GRAPH
from graphsvc.store import Rows, Store

CATALOGS_QUERY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?slug ?source WHERE {
  GRAPH ?g { ?fw a gc:Catalog ; gc:identifier ?slug . OPTIONAL { ?g dcterms:source ?source } }
}
"""
CONTROLS_QUERY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?id ?parentId WHERE {
  GRAPH ?g { ?fw a gc:Catalog . ?c gc:inFramework ?fw ; gc:identifier ?id .
             OPTIONAL { ?c gc:enhances ?p . ?p gc:identifier ?parentId } }
}
"""


def profile_graph(doc: OscalDocument, stores: Sequence[Store], catalog: str | None = None
                  ) -> Built:
    """The profile and its baseline; catalogs are looked up in every store of ``stores``
    (the store, and the catalogs imported earlier in the same batch)."""
    metadata = required(doc, doc.root, "metadata", "/profile")
    title = text(metadata, "title") or ""
    imports = many(doc.root, "imports")
    if not imports:
        raise BadInput("profile has no imports", where=f"{doc.source}, /profile/imports")
    framework = catalog or _find_catalog(doc, imports[0], stores, title)
    parents = _catalog_controls(stores, framework, doc.source)
    selected: list[str] = []
    for index, imp in enumerate(imports):
        selected += _resolve_import(imp, parents, f"{doc.source}, /profile/imports/{index}")
    selected = _with_ancestors(dict.fromkeys(selected), parents)

    name = baseline_slug(title, framework)
    built = Built(str(GRAPH[f"oscal/profile/{name}"]))
    profile = built.node(profile_iri(name), GC.Profile, title=title, identifier=name)
    built.add(profile, GC.selectsFrom, framework_iri(framework))
    built.add(profile, GC.documentUuid, doc.root.get("uuid"))
    built.add(profile, GC.version, text(metadata, "version"))
    baseline = built.node(baseline_iri(name), GC.Baseline, title=title, identifier=name)
    built.add(baseline, GC.resolvedFrom, profile)
    built.add(baseline, GC.selectsFrom, framework_iri(framework))
    for control_id in selected:
        built.add(baseline, GC.includesControl, requirement_iri(framework, control_id))
    built.counts["profiles"] += 1
    built.counts["baselines"] += 1
    built.counts["baseline controls"] += len(selected)
    modify = one(doc.root, "modify")
    for setting in many(modify, "set-parameters"):
        _setting(built, baseline, framework, setting)
    for alter in many(modify, "alters"):
        _alteration(built, baseline, framework, alter)
    return built


def _rows(stores: Sequence[Store], query: str, **bindings: URIRef) -> list[tuple]:
    rows: list[tuple] = []
    for store in stores:
        result = store.query(query, bindings=bindings or None)
        assert isinstance(result, Rows)
        rows += result.rows
    return rows


def _find_catalog(doc: OscalDocument, imp: dict[str, Any], stores: Sequence[Store],
                  title: str) -> str:
    """The framework slug of the loaded catalog the import names, or BadInput."""
    href = str(imp.get("href", ""))
    names = [href]
    if href.startswith("#"):
        for resource in many(one(doc.root, "back-matter"), "resources"):
            if resource.get("uuid") == href[1:]:
                names = [str(r.get("href", "")) for r in many(resource, "rlinks")]
                names.append(text(resource, "title") or text(resource, "description") or "")
    by_slug = {str(slug): str(source or "") for slug, source in _rows(stores, CATALOGS_QUERY)}
    for name in names:  # a loaded catalog from the same file (any format, any release)
        stem = PurePosixPath(name).stem
        for slug, source in by_slug.items():
            if stem and PurePosixPath(source).stem.startswith(stem):
                return slug
    for candidate in [*names, title]:  # the framework the import or the profile names
        slug = framework_slug(candidate) if candidate else None
        if slug in by_slug:
            return slug
    raise BadInput(
        f"the profile imports {href!r} ({', '.join(n for n in names if n != href) or title}), "
        f"and no loaded catalog matches it; import the catalog first or pass --catalog SLUG "
        f"(loaded: {', '.join(sorted(by_slug)) or 'none'})",
        where=f"{doc.source}, /profile/imports/0/href",
    )


def _catalog_controls(stores: Sequence[Store], framework: str, source: str
                      ) -> dict[str, str | None]:
    """Control id -> parent control id, for the catalog of ``framework``."""
    rows = _rows(stores, CONTROLS_QUERY, fw=framework_iri(framework))
    controls = {str(i): (str(p) if p is not None else None) for i, p in rows}
    if not controls:
        raise BadInput(f"no catalog {framework!r} is loaded; import it first", where=source)
    return controls


def _resolve_import(imp: dict[str, Any], parents: dict[str, str | None], where: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for cid, parent in parents.items():
        if parent:
            children.setdefault(parent, []).append(cid)
    if imp.get("include-all") is not None:
        chosen = list(parents)
    else:
        chosen = []
        for i, rule in enumerate(many(imp, "include-controls")):
            chosen += _select(rule, parents, children, f"{where}/include-controls/{i}")
    excluded: set[str] = set()
    for i, rule in enumerate(many(imp, "exclude-controls")):
        excluded |= set(_select(rule, parents, children, f"{where}/exclude-controls/{i}"))
    return [c for c in chosen if c not in excluded]


def _select(rule: dict[str, Any], parents: dict[str, str | None],
            children: dict[str, list[str]], where: str) -> list[str]:
    chosen: list[str] = []
    for i, wanted in enumerate(many(rule, "with-ids")):
        if wanted not in parents:
            raise BadInput(f"control {wanted!r} is not in the catalog",
                           where=f"{where}/with-ids/{i}")
        chosen.append(wanted)
    for matching in many(rule, "matching"):
        pattern = matching.get("pattern", "") if isinstance(matching, dict) else str(matching)
        chosen += [c for c in parents if fnmatch.fnmatchcase(c, pattern)]
    if rule.get("with-child-controls") == "yes":
        chosen += list(_descendants(chosen, children))
    return chosen


def _descendants(ids: Iterable[str], children: dict[str, list[str]]) -> Iterable[str]:
    for cid in ids:
        for child in children.get(cid, []):
            yield child
            yield from _descendants([child], children)


def _with_ancestors(selected: dict[str, None], parents: dict[str, str | None]) -> list[str]:
    out = dict(selected)
    for cid in selected:
        parent = parents.get(cid)
        while parent:
            out.setdefault(parent, None)
            parent = parents.get(parent)
    return list(out)


def _setting(built: Built, baseline: URIRef, framework: str, setting: dict[str, Any]) -> None:
    param_id = setting.get("param-id")
    if not param_id:
        return
    node = URIRef(f"{baseline}/setting/{param_id}")
    built.add(node, GC.setsParameter, parameter_iri(framework, param_id))
    built.add(node, GC.settingOf, baseline)
    built.node(node, GC.ParameterSetting, identifier=param_id)
    for value in many(setting, "values"):
        built.add(node, GC.parameterValue, value_text(value))
    for constraint in many(setting, "constraints"):
        built.add(node, GC.description, text(constraint, "description"))
    built.counts["parameter settings"] += 1


def _alteration(built: Built, baseline: URIRef, framework: str, alter: dict[str, Any]) -> None:
    control_id = alter.get("control-id")
    if not control_id:
        return
    node = built.node(URIRef(f"{baseline}/alter/{control_id}"), GC.Alteration,
                      identifier=control_id)
    built.add(node, GC.altersControl, requirement_iri(framework, control_id))
    built.add(node, GC.alterationOf, baseline)
    adds = [len(many(a, "parts")) + len(many(a, "props")) for a in many(alter, "adds")]
    removes = len(many(alter, "removes"))
    built.add(node, GC.description, f"adds {sum(adds)} parts or props in {len(adds)} places, "
                                    f"removes {removes}")
    built.counts["alterations"] += 1
