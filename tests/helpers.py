"""Independent readings of the source files and shared query texts for the tests."""

from __future__ import annotations

import json
from pathlib import Path

MAPPINGS_BY_RELATION = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?m ?relation (GROUP_CONCAT(DISTINCT STR(?s); separator=" ") AS ?sources)
       (GROUP_CONCAT(DISTINCT STR(?t); separator=" ") AS ?targets)
WHERE { ?m a gc:Mapping ; gc:relation ?relation ; gc:sourceRequirement ?s ;
           gc:targetRequirement ?t }
GROUP BY ?m ?relation
"""


def catalog_control_ids(path: Path) -> set[str]:
    """Every control and enhancement id of an OSCAL JSON catalog, read with json alone."""
    ids: set[str] = set()

    def walk(node: dict) -> None:
        for c in node.get("controls", []):
            ids.add(c["id"])
            walk(c)
        for g in node.get("groups", []):
            walk(g)

    walk(json.loads(path.read_text())["catalog"])
    return ids
