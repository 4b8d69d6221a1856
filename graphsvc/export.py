"""Writing what the graph knows back out in standard formats (OSCAL 1.2 mapping
collections), so that graphsvc is never a dead end for the data put into it."""

from __future__ import annotations

import json
import uuid as uuidlib
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from graphsvc import __version__
from graphsvc.errors import BadInput
from graphsvc.identity import framework_iri
from graphsvc.importers.mappings import RATIONALES
from graphsvc.namespaces import BASE, GC
from graphsvc.store import Rows, Store

MAPPINGS_QUERY = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?m ?side ?req ?relation ?stated ?rationale ?confidence ?coverage ?uuid
WHERE {
  ?m a gc:Mapping ; gc:relation ?relation .
  { ?m gc:sourceRequirement ?req . BIND("source" AS ?side)
    FILTER(STRSTARTS(STR(?req), CONCAT(STR(?sourceFw), "/"))) }
  UNION
  { ?m gc:targetRequirement ?req . BIND("target" AS ?side)
    FILTER(STRSTARTS(STR(?req), CONCAT(STR(?targetFw), "/"))) }
  OPTIONAL { ?m gc:statedRelation ?stated }
  OPTIONAL { ?m gc:rationale ?rationale }
  OPTIONAL { ?m gc:confidence ?confidence }
  OPTIONAL { ?m gc:coverage ?coverage }
  OPTIONAL { ?m gc:documentUuid ?uuid }
}
"""
OSCAL_RELATIONS = {"equal-to", "equivalent-to", "subset-of", "superset-of", "intersects-with"}
TYPED_TO_OSCAL = {GC.Equal: "equal-to", GC.EquivalentTo: "equivalent-to",
                  GC.SubsetOf: "subset-of", GC.SupersetOf: "superset-of",
                  GC.IntersectsWith: "intersects-with"}
RATIONALE_NAMES = {iri: name for name, iri in RATIONALES.items()}
NAMESPACE = uuidlib.UUID("6b1c2b1e-4c2f-4d0e-9a43-7d1f0c9e2a51")  # ours, for stable UUIDs


def oscal_mapping_collection(store: Store, source: str, target: str) -> tuple[dict, Counter]:
    """The mappings from framework ``source`` to framework ``target`` as an OSCAL 1.2
    mapping-collection, and counts (exported, skipped because no relation is stated)."""
    rows = store.query(MAPPINGS_QUERY, bindings={"sourceFw": framework_iri(source),
                                                 "targetFw": framework_iri(target)})
    assert isinstance(rows, Rows)
    maps: dict[str, dict[str, Any]] = {}
    for m, side, req, relation, stated, rationale, confidence, coverage, uuid in rows:
        entry = maps.setdefault(str(m), {"relation": relation, "stated": stated,
                                         "rationale": rationale, "confidence": confidence,
                                         "coverage": coverage, "uuid": uuid,
                                         "source": set(), "target": set()})
        entry[str(side)].add(unquote(str(req).rsplit("/", 1)[-1]))
    counts: Counter[str] = Counter()
    out = []
    for iri, entry in sorted(maps.items()):
        if not entry["source"] or not entry["target"]:
            continue
        relationship = _relationship(entry)
        if relationship is None:
            counts["skipped: no relation stated"] += 1
            continue
        item: dict[str, Any] = {
            "uuid": _uuid_of(iri, entry["uuid"]), "relationship": relationship,
            "sources": [{"type": "control", "id-ref": i} for i in sorted(entry["source"])],
            "targets": [{"type": "control", "id-ref": i} for i in sorted(entry["target"])],
        }
        if entry["rationale"] in RATIONALE_NAMES:
            item["matching-rationale"] = RATIONALE_NAMES[entry["rationale"]]
        if entry["confidence"] is not None:
            item["confidence-score"] = _score(str(entry["confidence"]))
        if entry["coverage"] is not None:
            item["coverage"] = _score(str(entry["coverage"]))
        out.append(item)
        counts["exported"] += 1
    if not out:
        raise BadInput(f"no mappings from {source!r} to {target!r} with a stated relation")
    return _collection(source, target, out, f"Exported by graphsvc from {BASE}"), counts


def _collection(source: str, target: str, out: list[dict[str, Any]], description: str
                ) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    collection = {"mapping-collection": {
        "uuid": str(uuidlib.uuid5(NAMESPACE, f"{source}->{target}:{len(out)}")),
        "metadata": {"title": f"Mappings from {source} to {target}", "last-modified": now,
                     "version": "1", "oscal-version": "1.2.0",
                     "props": [{"name": "generator", "value": f"graphsvc {__version__}"}]},
        "provenance": {"method": "automation", "matching-rationale": "semantic",
                       "status": "complete",
                       "mapping-description": description},
        "mappings": [{
            "uuid": str(uuidlib.uuid5(NAMESPACE, f"{source}->{target}")),
            "source-resource": {"type": "catalog", "href": str(framework_iri(source))},
            "target-resource": {"type": "catalog", "href": str(framework_iri(target))},
            "maps": out,
        }],
    }}
    return collection


ONE_RELATION = {"equal": "equal-to", "subset-of": "subset-of", "superset-of": "superset-of",
                "intersects-with": "intersects-with", "no-relationship": "no-relationship"}


def reconciled_mapping_collection(store: Store, source: str, target: str
                                  ) -> tuple[dict, Counter]:
    """One map per pair the sources map (the crosswalk-agreement question), with the one
    relation every source allows, each source's statement in its props and the
    agreement (agree, compatible, single) as its confidence. Pairs whose sources
    conflict, or allow several relations, are left out and counted: no relation is
    chosen for them."""
    from graphsvc.questions import ask  # (questions import this module's callers)

    rows = ask(store, "crosswalk-agreement", {"source": str(framework_iri(source)),
                                              "target": str(framework_iri(target))})
    assert isinstance(rows, Rows)
    counts: Counter[str] = Counter()
    out = []
    for row in rows.dicts():
        possible = str(row["possible"]).split()
        verdict = str(row["verdict"])
        if verdict == "conflict" or len(possible) != 1:
            counts[f"skipped: {'conflict' if verdict == 'conflict' else 'several relations'}"
                   ] += 1
            continue
        out.append({
            "uuid": str(uuidlib.uuid5(NAMESPACE, f"{row['a']} {row['b']}")),
            "relationship": ONE_RELATION[possible[0]],
            "sources": [{"type": "control", "id-ref": unquote(str(row["a"]).rsplit("/", 1)[-1])}],
            "targets": [{"type": "control", "id-ref": unquote(str(row["b"]).rsplit("/", 1)[-1])}],
            "confidence-score": {"category": verdict},
            "props": [{"name": "source-statement", "ns": str(GC), "value": statement.strip()}
                      for statement in str(row["statements"]).split(" | ")],
        })
        counts[f"exported ({verdict})"] += 1
    if not out:
        raise BadInput(f"no pair from {source!r} to {target!r} has one relation every "
                       "source allows")
    return _collection(source, target, out, "reconciled from every loaded source"), counts


def _relationship(entry: dict[str, Any]) -> str | None:
    stated = str(entry["stated"]) if entry["stated"] is not None else ""
    return stated if stated in OSCAL_RELATIONS else TYPED_TO_OSCAL.get(entry["relation"])


def _uuid_of(iri: str, stated: object) -> str:
    """The map's own UUID when it came from OSCAL, else a stable one from its IRI."""
    try:
        return str(uuidlib.UUID(str(stated)))
    except ValueError:
        return str(uuidlib.uuid5(NAMESPACE, iri))


def _score(value: str) -> dict[str, Any]:
    try:
        return {"percentage": float(value.rstrip("%")) / (100 if value.endswith("%") else 1)}
    except ValueError:
        return {"category": value}


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
