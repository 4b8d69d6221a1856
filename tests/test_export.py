"""Export of OSCAL 1.2 mapping collections, and the round trip import -> export -> import."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rdflib import Graph

from graphsvc.export import dumps, oscal_mapping_collection
from graphsvc.framework_index import INDEX_GRAPH
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store import Rows, Store
from graphsvc.writes import drop_graphs
from tests.helpers import MAPPINGS_BY_RELATION

MAP_TRIPLES = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
CONSTRUCT { ?m ?p ?o } WHERE { ?m a gc:Mapping ; ?p ?o FILTER(?p != gc:mappingSource) }
"""


def map_graph(store: Store) -> list[tuple]:
    """Each mapping as what it says (its IRI names its source document, which differs)."""
    result = store.query(MAP_TRIPLES)
    assert isinstance(result, Graph)
    return sorted(tuple(sorted(result.predicate_objects(m))) for m in set(result.subjects()))


def round_trip(store: Store, tmp_path: Path, source: str, target: str) -> Path:
    document, _ = oscal_mapping_collection(store, source, target)
    path = tmp_path / "exported.json"
    path.write_text(dumps(document))
    drop_graphs(store, [g.iri for g in store.graphs() if g.iri != INDEX_GRAPH])
    import_oscal(store, [path], max_bytes=10**8)
    return path


def test_oscal_round_trip_gives_the_same_mappings(store: Store, shared_data: Path,
                                                  tmp_path: Path) -> None:
    original = shared_data / ("oscal-mappings/"
                              "NIST_SP-800-53_rev5-to-NIST_SP-800-53_rev4.mapping-collection.json")
    import_oscal(store, [original], max_bytes=10**8)
    before = map_graph(store)
    exported = round_trip(store, tmp_path, "nist-sp-800-53-rev5", "nist-sp-800-53-rev4")
    after = map_graph(store)
    assert len(before) == 740 and before == after
    maps = json.loads(exported.read_text())["mapping-collection"]["mappings"][0]["maps"]
    assert len(maps) == 740


def test_ciso_mappings_export_with_their_typed_relations(store: Store, shared_data: Path,
                                                         tmp_path: Path) -> None:
    path = shared_data / "ciso-library/mapping-iso27001-2013-to-iso27001-2022.yaml"
    import_crosswalks(store, [path], max_bytes=10**8)
    rows = store.query(MAPPINGS_BY_RELATION)
    assert isinstance(rows, Rows)
    before = Counter((str(r), s, t) for _, r, s, t in rows)
    round_trip(store, tmp_path, "iso27001-2013", "iso27001-2022")
    rows = store.query(MAPPINGS_BY_RELATION)
    assert isinstance(rows, Rows)
    assert Counter((str(r), s, t) for _, r, s, t in rows) == before


def test_unspecified_relations_are_not_exported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("source_framework,source_id,target_framework,target_id,relationship\n"
                    "fw-a,1,fw-b,2,subset-of\nfw-a,3,fw-b,4,\n")
    import_crosswalks(store, [path], max_bytes=10**6)
    document, counts = oscal_mapping_collection(store, "fw-a", "fw-b")
    maps = document["mapping-collection"]["mappings"][0]["maps"]
    assert [(m["relationship"], m["sources"][0]["id-ref"]) for m in maps] == [("subset-of", "1")]
    assert counts == Counter({"exported": 1, "skipped: no relation stated": 1})
