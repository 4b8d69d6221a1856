"""Crosswalk tables: CISO Assistant library YAML (framework files become requirements,
mapping files become typed mappings) and CSV (NIST IR 8477 columns, or compliance-
trestle's csv-to-mapping-collection columns)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Literal, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import (
    framework_iri,
    match_framework,
    release_iri,
    requirement_iri,
    requirement_version_iri,
    slug,
)
from graphsvc.importers.checks import is_securityhub_csv, prowler_graph, securityhub_graph
from graphsvc.importers.fedramp20x import frmr_graph, is_frmr
from graphsvc.importers.mappings import add_mapping, mapping_source
from graphsvc.importers.model import Built, ImportReport, ReleaseContent, finish
from graphsvc.importers.releases import ReleaseGraphs
from graphsvc.importers.safety import LIMITS, InputLimits, Kind, csv_rows, load_yaml, read_limited
from graphsvc.importers.services import is_services_table, services_graph
from graphsvc.importers.workbooks import workbook_graph
from graphsvc.namespaces import DCTERMS, GC, GRAPH
from graphsvc.store import Store, Triple
from graphsvc.writes import collector_paused, commit

FORMATS = ("ciso-yaml", "csv", "prowler-json", "fedramp-frmr", "xlsx")
IR8477_COLUMNS = ("source_framework", "source_id", "target_framework", "target_id",
                  "relationship")
TRESTLE_COLUMNS = ("$$source_resource", "$$target_resource", "$$map_source_id_ref_list",
                   "$$map_target_id_ref_list", "$$map_relationship")
_CISO_NODE = re.compile(r"^urn:intuitem:risk:req_node:([^:]+):(.+)$")
# what the importer reads, wherever it is in a library (see safety.check_tree)
CISO_TYPES = {"requirement_nodes": Kind.OBJECTS, "requirement_mapping_sets": Kind.OBJECTS,
              "requirement_mappings": Kind.OBJECTS, "rationale": Kind.TEXT}


def format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    if path.suffix.lower() in (".yaml", ".yml"):
        return "ciso-yaml"
    if path.suffix.lower() == ".csv":
        return "csv"
    if path.suffix.lower() == ".json":
        return "prowler-json"
    if path.suffix.lower() == ".xlsx":
        return "xlsx"
    raise BadInput("cannot tell the crosswalk format from the file name; pass --format "
                   f"({' or '.join(FORMATS)})", where=str(path))


def crosswalk_graph(data: bytes, *, source: str, fmt: str, limits: InputLimits = LIMITS
                    ) -> Built:
    readers = {"ciso-yaml": ciso_graph, "csv": csv_graph, "prowler-json": prowler_graph,
               "fedramp-frmr": frmr_graph, "xlsx": workbook_graph}
    if fmt not in readers:
        raise BadInput(f"unknown crosswalk format {fmt!r}; known: {', '.join(FORMATS)}")
    return readers[fmt](data, source, limits)


def _looks_like_frmr(data: bytes) -> bool:
    try:
        return is_frmr(json.loads(data))
    except (ValueError, RecursionError):
        return False  # the Prowler reader says what is wrong with it


@collector_paused()
def import_crosswalks(store: Store, paths: Iterable[Path], *, max_bytes: int,
                      fmt: str | None = None,
                      progress: Callable[[ImportReport], None] = lambda _: None,
                      limits: InputLimits = LIMITS) -> list[ImportReport]:
    """Import crosswalk tables (any format of FORMATS) in one transaction."""
    graphs: dict[str, list[Triple]] = {}
    releases = ReleaseGraphs(store)
    reports = []
    for path in paths:
        data = read_limited(path, max_bytes)
        kind = format_of(path, fmt)
        if kind == "prowler-json" and not fmt and _looks_like_frmr(data):  # by content
            kind = "fedramp-frmr"
        built = crosswalk_graph(data, source=str(path), fmt=kind, limits=limits)
        report, triples = finish(built, str(path), data, model=kind)
        if built.release is not None:
            releases.take(built.release, str(path), data)
            triples = [*releases.graph(built.graph), *built.triples]
        graphs[built.graph] = triples
        reports.append(report)
        progress(report)
    commit(store, graphs)
    return reports


def ciso_graph(data: bytes, source: str, limits: InputLimits = LIMITS) -> Built:
    """A CISO Assistant library: its framework is a release of that framework (an
    outline: identifiers, names, descriptions); its mapping sets are one source of
    mappings, the library (a forward set and its "revert" state the same pairs)."""
    library = load_yaml(data, source, limits, types=CISO_TYPES)
    objects = library.get("objects") if isinstance(library, dict) else None
    if not isinstance(objects, dict):
        raise BadInput("not a CISO Assistant library: no 'objects'", where=f"{source}, /objects")
    ref = slug(str(library.get("ref_id") or library.get("urn") or source))
    built = Built(str(GRAPH[f"ciso/{ref}"]))
    if isinstance(objects.get("framework"), dict):
        _ciso_framework(built, library, objects["framework"], source)
    sets = objects.get("requirement_mapping_sets") or []
    if isinstance(objects.get("requirement_mapping_set"), dict):  # the older, singular form
        sets = [*sets, objects["requirement_mapping_set"]]
    if sets:
        origin = mapping_source(built, "ciso", ref, library.get("name") or ref, ref)
        built.add(origin, GC.description, library.get("description"))
        for i, mapping_set in enumerate(sets):
            _ciso_mapping_set(built, origin, mapping_set,
                              f"{source}, /objects/requirement_mapping_sets/{i}")
    if not built.triples and built.release is None:
        raise BadInput("the library has neither a framework nor requirement mapping sets",
                       where=f"{source}, /objects")
    return built


def _ciso_node(urn: object, where: str) -> tuple[str, str]:
    match = _CISO_NODE.match(str(urn or ""))
    if not match:
        raise BadInput(f"not a CISO requirement node URN: {urn!r}", where=where)
    return match.group(1), match.group(2)


def _ciso_requirement(urn: object, where: str) -> URIRef:
    return requirement_iri(*_ciso_node(urn, where))


def _ciso_framework(built: Built, library: dict[str, Any], framework: dict[str, Any],
                    source: str) -> None:
    fw_slug = str(framework.get("urn", "")).rsplit(":", 1)[-1]
    release = f"ciso-{library.get('version') or 0}"
    fw, rel = framework_iri(fw_slug), release_iri(fw_slug, release)
    content = built.release = ReleaseContent(built.graph, rel, complete=True)
    for p, o in ((RDF.type, GC.FrameworkRelease), (GC.releaseOf, fw),
                 (GC.identifier, release), (GC.title, framework.get("name")),
                 (RDFS.label, f"{fw_slug} {release} (CISO Assistant library)"),
                 (GC.version, str(library.get("version") or "")),
                 (GC.description, framework.get("description")), (GC.wholeRelease, True),
                 (DCTERMS.issued, _date(library.get("publication_date")))):
        content.add(rel, p, o)
    built.counts["frameworks"] += 1
    for i, node in enumerate(framework.get("requirement_nodes") or []):
        where = f"{source}, /objects/framework/requirement_nodes/{i}"
        if not isinstance(node, dict):
            raise BadInput("a requirement node must be a mapping", where=where)
        node_fw, node_id = _ciso_node(node.get("urn"), where)
        version = requirement_version_iri(node_fw, release, node_id)
        name, ref_id = node.get("name"), node.get("ref_id")
        for p, o in ((RDF.type, GC.RequirementVersion),
                     (GC.versionOf, requirement_iri(node_fw, node_id)), (GC.inRelease, rel),
                     (GC.identifier, ref_id), (GC.title, name),
                     (RDFS.label, f"{ref_id} {name}" if ref_id and name else name or ref_id),
                     (GC.description, node.get("description")),
                     (GC.assessable, bool(node.get("assessable"))), (GC.order, i)):
            content.add(version, p, o, requirement=version)
        if node.get("parent_urn"):
            content.add(version, GC.parentRequirement,
                        _ciso_requirement(node["parent_urn"], where), requirement=version)
        built.counts["requirements"] += 1


def _ciso_mapping_set(built: Built, origin: URIRef, mapping_set: dict[str, Any],
                      where: str) -> None:
    built.add(origin, GC.mappingSetName, mapping_set.get("name"))
    for j, row in enumerate(mapping_set.get("requirement_mappings") or []):
        at = f"{where}/requirement_mappings/{j}"
        if not isinstance(row, dict):
            raise BadInput("a requirement mapping must be a mapping", where=at)
        add_mapping(built, sources=[_ciso_requirement(row.get("source_requirement_urn"), at)],
                    targets=[_ciso_requirement(row.get("target_requirement_urn"), at)],
                    stated=row.get("relationship"), where=at, source_node=origin,
                    rationale=row.get("rationale"),
                    strength=_int(row.get("strength", row.get("strength_of_relationship")), at))


def _date(value: object) -> Literal | None:
    text = str(value or "")
    return Literal(text[:10], datatype=XSD.date) if re.match(r"\d{4}-\d{2}-\d{2}", text) else None


def csv_graph(data: bytes, source: str, limits: InputLimits = LIMITS) -> Built:
    rows = csv_rows(data, source, limits)
    header = [h.strip().lower().replace(" ", "_") for h in next(rows, (1, []))[1]]
    if is_securityhub_csv(header):
        return securityhub_graph(data, source, limits)
    if is_services_table(header):
        return services_graph(data, source, limits)
    built = Built(str(GRAPH[f"csv/{slug(Path(source).name)}"]))
    origin = mapping_source(built, "csv", slug(Path(source).name), Path(source).name)
    if all(c in header for c in TRESTLE_COLUMNS):
        _trestle_rows(built, rows, header, origin, source)
    elif all(c in header for c in IR8477_COLUMNS):
        _ir8477_rows(built, rows, header, origin, source)
    else:
        raise BadInput("unknown CSV columns; expected the IR 8477 columns "
                       f"({', '.join(IR8477_COLUMNS)}, rationale, strength, source) or "
                       "compliance-trestle's ($$Source_Resource, ...)", where=f"{source}, line 1")
    return built


def _trestle_rows(built: Built, rows: Iterator[tuple[int, list[str]]], header: list[str],
                  origin: URIRef, source: str) -> None:
    for line, row in rows:
        where = f"{source}, line {line}"
        if not any(row) or row[0].startswith("A reference"):  # trestle's description row
            continue
        value = {**dict.fromkeys(header, ""), **dict(zip(header, row, strict=False))}
        if not value["$$map_target_id_ref_list"].split():
            built.counts["rows without targets (not mappings)"] += 1
            continue
        src = _csv_framework(value["$$source_resource"], where)
        tgt = _csv_framework(value["$$target_resource"], where)
        add_mapping(built, sources=[requirement_iri(src, i) for i in
                             value["$$map_source_id_ref_list"].split()],
                    targets=[requirement_iri(tgt, i) for i in
                             value["$$map_target_id_ref_list"].split()],
                    stated=value["$$map_relationship"], where=where, source_node=origin,
                    confidence=value.get("$map_confidence_score") or None,
                    coverage=value.get("$map_coverage") or None)


def _ir8477_rows(built: Built, rows: Iterator[tuple[int, list[str]]], header: list[str],
                 origin: URIRef, source: str) -> None:
    for line, row in rows:
        where = f"{source}, line {line}"
        if not any(row):
            continue
        value = dict(zip(header, row, strict=False))
        for column in IR8477_COLUMNS[:4]:
            if not value.get(column, "").strip():
                raise BadInput(f"column {column!r} is empty", where=where)
        add_mapping(built, sources=[requirement_iri(slug(value["source_framework"]),
                                             value["source_id"])],
                    targets=[requirement_iri(slug(value["target_framework"]),
                                             value["target_id"])],
                    stated=value.get("relationship"), where=where, source_node=origin,
                    rationale=value.get("rationale") or None,
                    strength=_int(value.get("strength"), where))
        if value.get("source"):
            built.add(origin, GC.description, value["source"])


def _csv_framework(resource: str, where: str) -> str:
    found = match_framework(resource.replace("_", " "))
    if not found:
        raise BadInput(f"cannot tell which framework {resource!r} is", where=where)
    return found


def _int(value: object, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        strength = int(str(value))
    except ValueError:
        raise BadInput(f"strength must be a whole number 1-10, not {value!r}",
                       where=where) from None
    if not 1 <= strength <= 10:
        raise BadInput(f"strength must be 1-10, not {strength}", where=where)
    return strength
