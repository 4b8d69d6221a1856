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
    release_iri,
    release_rank,
    requirement_iri,
)
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.catalog import added_part
from graphsvc.importers.oscal.document import OscalDocument, many, one, required, text, value_text
from graphsvc.namespaces import GC, GRAPH
from graphsvc.store import Rows, Store, Term

RELEASES_QUERY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?fw ?slug ?release ?source ?whole WHERE {
  GRAPH ?g { ?rel a gc:FrameworkRelease ; gc:releaseOf ?fw ; gc:identifier ?release .
             OPTIONAL { ?g dcterms:source ?source }
             BIND (EXISTS { ?rel gc:wholeRelease true } AS ?whole) }
  BIND (STRAFTER(STR(?fw), "/id/fw/") AS ?slug)
}
"""
CONTROLS_QUERY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?id ?parentId WHERE {
  ?v a gc:RequirementVersion ; gc:inRelease ?release ; gc:identifier ?id .
  OPTIONAL { ?v gc:enhances ?p . ?pv gc:versionOf ?p ; gc:inRelease ?release ;
                                     gc:identifier ?parentId }
}
"""


def profile_graph(doc: OscalDocument, stores: Sequence[Store], catalog: str | None = None,
                  release: str | None = None) -> Built:
    """The profile and its baseline; catalogs are looked up in every store of ``stores``
    (the store, and the catalogs imported earlier in the same batch)."""
    metadata = required(doc, doc.root, "metadata", "/profile")
    title = text(metadata, "title") or ""
    imports = many(doc.root, "imports")
    if not imports:
        raise BadInput("profile has no imports", where=f"{doc.source}, /profile/imports")
    framework, rel = _find_catalog(doc, imports[0], stores, title, catalog, release)
    parents = _catalog_controls(stores, framework, rel, doc.source)
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
    built.add(baseline, GC.basedOnRelease, release_iri(framework, rel))
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


def _rows(stores: Sequence[Store], query: str, **bindings: Term) -> list[tuple]:
    rows: list[tuple] = []
    for store in stores:
        result = store.query(query, bindings=bindings or None)
        assert isinstance(result, Rows)
        rows += result.rows
    return rows


def _find_catalog(doc: OscalDocument, imp: dict[str, Any], stores: Sequence[Store],
                  title: str, framework: str | None, release: str | None) -> tuple[str, str]:
    """(framework slug, release) of the loaded catalog the import names, or BadInput.

    The catalog is the one loaded from a file of the name the import gives; else the
    framework the import, or the profile's title, names, in its newest whole release."""
    href = str(imp.get("href", ""))
    names = [href]
    if href.startswith("#"):
        for resource in many(one(doc.root, "back-matter"), "resources"):
            if resource.get("uuid") == href[1:]:
                names = [str(r.get("href", "")) for r in many(resource, "rlinks")]
                names.append(text(resource, "title") or text(resource, "description") or "")
    loaded = {(str(fw), str(rel)): (str(source or ""), bool(whole))
              for _, fw, rel, source, whole in _rows(stores, RELEASES_QUERY)}
    if release:
        loaded = {k: v for k, v in loaded.items() if k[1] == release}
    if framework:
        loaded = {k: v for k, v in loaded.items() if k[0] == framework}
    for name in names:  # a loaded catalog from the same file (any format)
        stem = PurePosixPath(name).stem
        for key, (source, _) in loaded.items():
            if stem and PurePosixPath(source).stem.startswith(stem):
                return key
    wanted = [framework] if framework else [
        framework_slug(candidate) for candidate in [*names, title] if candidate]
    for slug in wanted:  # the framework the import or the profile names
        candidates = [key for key in loaded if key[0] == slug]
        if candidates:
            return max(candidates, key=lambda k: (loaded[k][1], release_rank(k[1])))
    shown = ", ".join(f"{fw} {rel}" for fw, rel in sorted(loaded)) or "none"
    raise BadInput(
        f"the profile imports {href!r} ({', '.join(n for n in names if n != href) or title}), "
        f"and no loaded catalog matches it; import the catalog first or pass --catalog SLUG "
        f"and --release (loaded: {shown})",
        where=f"{doc.source}, /profile/imports/0/href",
    )


def _catalog_controls(stores: Sequence[Store], framework: str, release: str, source: str
                      ) -> dict[str, str | None]:
    """Control id -> parent control id, for the release of ``framework``."""
    rows = _rows(stores, CONTROLS_QUERY, release=release_iri(framework, release))
    controls = {str(i): (str(p) if p is not None else None) for i, p in rows}
    if not controls:
        raise BadInput(f"no catalog {framework!r} {release} is loaded; import it first",
                       where=source)
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
    if not param_id or not isinstance(param_id, str):
        return
    node = built.node(URIRef(f"{baseline}/setting/{param_id}"), GC.ParameterSetting,
                      identifier=param_id)
    built.add(node, GC.setsParameter, parameter_iri(framework, param_id))
    built.add(node, GC.settingOf, baseline)
    for value in many(setting, "values"):
        built.add(node, GC.parameterValue, value_text(value))
    for constraint in many(setting, "constraints"):
        built.add(node, GC.constraint, text(constraint, "description"))
    built.counts["parameter settings"] += 1


def _alteration(built: Built, baseline: URIRef, framework: str, alter: dict[str, Any]) -> None:
    control_id = alter.get("control-id")
    if not control_id or not isinstance(control_id, str):
        return
    node = built.node(URIRef(f"{baseline}/alter/{control_id}"), GC.Alteration,
                      identifier=control_id)
    built.add(node, GC.altersControl, requirement_iri(framework, control_id))
    built.add(node, GC.alterationOf, baseline)
    adds = many(alter, "adds")
    parts = [p for a in adds for p in many(a, "parts") if isinstance(p, dict)]
    for order, part in enumerate(parts):
        added_part(built, baseline, node, GC.addsPart, part, order)
    props = sum(len(many(a, "props")) for a in adds)
    built.add(node, GC.description, f"adds {len(parts)} parts and {props} properties in "
                                    f"{len(adds)} places, removes {len(many(alter, 'removes'))}")
    built.counts["alterations"] += 1
