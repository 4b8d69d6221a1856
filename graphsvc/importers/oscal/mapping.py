"""OSCAL 1.2 mapping-collections: each map becomes one gc:Mapping between its source and
target requirement sets, with relationship, rationale, confidence and coverage."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from graphsvc.errors import BadInput
from graphsvc.identity import match_framework, requirement_iri
from graphsvc.importers.mappings import add_mapping
from graphsvc.importers.model import Built
from graphsvc.importers.oscal.document import OscalDocument, many, one, required, text
from graphsvc.namespaces import GC, GRAPH, ID


def mapping_collection_graph(doc: OscalDocument, source_framework: str | None = None,
                             target_framework: str | None = None) -> Built:
    root = doc.root
    metadata = required(doc, root, "metadata", "/mapping-collection")
    uuid = root["uuid"]
    built = Built(str(GRAPH[f"oscal/mapping-collection/{uuid}"]))
    collection = built.node(built.uuid_node(uuid, "mapping-collection"), GC.MappingSource,
                            title=text(metadata, "title"))
    built.counts["mapping sources"] += 1
    provenance = one(root, "provenance")
    built.add(collection, GC.description, text(provenance, "mapping-description"))
    default_rationale = provenance.get("matching-rationale")
    for i, mapping in enumerate(many(root, "mappings")):
        pointer = f"{doc.source}, /mapping-collection/mappings/{i}"
        src = source_framework or _framework(one(mapping, "source-resource"), pointer, "source")
        tgt = target_framework or _framework(one(mapping, "target-resource"), pointer, "target")
        for j, entry in enumerate(many(mapping, "maps")):
            where = f"{pointer}/maps/{j}"
            add_mapping(
                built, document_id=entry.get("uuid"),
                sources=[requirement_iri(src, s["id-ref"]) for s in many(entry, "sources")],
                targets=[requirement_iri(tgt, t["id-ref"]) for t in many(entry, "targets")],
                stated=text(entry, "relationship"), where=where, source_node=collection,
                rationale=text(entry, "matching-rationale") or default_rationale,
                confidence=_score(one(entry, "confidence-score")),
                coverage=_score(one(entry, "coverage")),
            )
    return built


def _framework(resource: dict[str, Any], where: str, side: str) -> str:
    href = str(resource.get("href", ""))
    ours = str(ID["fw/"])
    if href.startswith(ours) and "/" not in href[len(ours):]:  # exported by graphsvc
        return unquote(href[len(ours):])
    found = match_framework(href.replace("_", " "))
    if not found:
        raise BadInput(f"cannot tell which framework the {side} resource {href!r} is; "
                       f"pass --{side}-framework SLUG", where=where)
    return found


def _score(score: dict[str, Any]) -> str | None:
    if not score:
        return None
    value = score.get("percentage", score.get("category"))
    return None if value is None else str(value)
