"""Technical-check tables: which automated checks test which requirements.

* AWS Security Hub CSV (control -> NIST SP 800-53 rev5, with Config rules): each row
  is an unspecified mapping from the Security Hub control to the 800-53 control (the
  table states no relation), and each Config rule a check of the Security Hub control.
* Prowler compliance JSON: each requirement's checks. When the requirement's name
  carries an 800-53 id ("AC-2(3)(a) ...", "Access Enforcement (AC-3)") the check is
  attached to that
  control (ac-2.3: the lettered item is a statement of it); otherwise to a requirement
  of its own in a framework named after the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rdflib import URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import framework_iri, match_framework, requirement_iri, slug
from graphsvc.importers.mappings import add_mapping, mapping_source
from graphsvc.importers.model import Built
from graphsvc.importers.safety import (
    LIMITS,
    InputLimits,
    Kind,
    csv_rows,
    identifier,
    load_json,
)
from graphsvc.namespaces import GC, GRAPH, ID

SECURITYHUB_COLUMNS = ("securityhub_control_id", "nist_800_53_r5_control")
# what the importer reads of a Prowler file (see safety.check_tree)
PROWLER_TYPES = {"Requirements": Kind.OBJECTS, "Checks": Kind.TEXTS, "Id": Kind.TEXT,
                 "Name": Kind.TEXT}
_CONTROL_NAME = re.compile(r"^([A-Za-z]{2,3}-\d+)(?:\s*\((\d+)\))?")
_CONTROL_SUFFIX = re.compile(r"\(([A-Za-z]{2,3}-\d+)(?:\((\d+)\))?\)\s*$")


def is_securityhub_csv(header: list[str]) -> bool:
    return all(c in header for c in SECURITYHUB_COLUMNS)


def securityhub_graph(data: bytes, source: str, limits: InputLimits = LIMITS) -> Built:
    rows = csv_rows(data, source, limits)
    header = next(rows, (1, []))[1]
    name = slug(Path(source).name)
    built = Built(str(GRAPH[f"checks/{name}"]))
    origin = mapping_source(built, "csv", name, Path(source).name)
    rules: set[str] = set()
    for line, cells in rows:
        if not cells:
            continue
        row = dict(zip(header, cells, strict=False))
        where = f"{source}, line {line}"
        control = (row.get("securityhub_control_id") or "").strip()
        target = (row.get("nist_800_53_r5_control") or "").strip()
        if not control or not target:
            raise BadInput("securityhub_control_id and nist_800_53_r5_control are required",
                           where=where)
        hub = requirement_iri("aws-securityhub", control)
        add_mapping(built, sources=[hub],
                    targets=[requirement_iri("nist-sp-800-53-rev5", target)], stated=None,
                    where=where, source_node=origin)
        for rule in (row.get("aws_config_rules") or "").split():
            rules.add(identifier(rule, f"{where}, aws_config_rules"))
            check = built.node(ID[f"check/aws-config/{rule}"], GC.TechnicalCheck,
                               identifier=rule)
            built.add(check, GC.checksRequirement, hub)
            built.add(check, GC.checkTool, "AWS Config")
            built.add(check, GC.resourceType, row.get("resource_type"))
            built.add(check, GC.severity, row.get("severity"))
    built.counts["checks"] = len(rules)
    return built


def is_prowler(document: Any) -> bool:
    return isinstance(document, dict) and "Requirements" in document and "Framework" in document


def prowler_graph(data: bytes, source: str, limits: InputLimits = LIMITS) -> Built:
    document = load_json(data, source, limits, types=PROWLER_TYPES)
    if not is_prowler(document):
        raise BadInput("not a Prowler compliance file (no Framework and Requirements)",
                       where=f"{source}, /")
    stem = slug(Path(source).stem)
    built = Built(str(GRAPH[f"checks/prowler/{stem}"]))
    title = f"{document.get('Name') or ''} {document.get('Framework', '')}"
    known = match_framework(title)
    own = f"prowler-{stem}"
    own_framework = built.node(framework_iri(own), GC.Framework, identifier=own,
                               title=f"Prowler: {document.get('Name') or stem}")
    built.counts["frameworks"] += 1
    seen: set[str] = set()
    for i, requirement in enumerate(document["Requirements"]):
        where = f"{source}, /Requirements/{i}"
        req_id = str(requirement.get("Id") or "")
        if not req_id:
            raise BadInput("requirement has no Id", where=where)
        target = _canonical(known, requirement.get("Name") or "")
        if target is None:
            target = built.node(requirement_iri(own, req_id), GC.Requirement,
                                identifier=req_id, title=requirement.get("Name"))
            built.add(target, GC.inFramework, own_framework)
            built.add(target, GC.description, requirement.get("Description"))
            built.counts["requirements"] += 1
        for j, check_id in enumerate(requirement.get("Checks") or []):
            check = _prowler_check(built, identifier(check_id, f"{where}/Checks/{j}"), seen)
            built.add(check, GC.checksRequirement, target)
            built.counts["requirement checks"] += 1
    return built


def _canonical(framework: str | None, name: str) -> URIRef | None:
    """The 800-53 control a requirement named "AC-2(3)(a) ..." or "... (AC-3)" is (part
    of), if any."""
    if framework is None or not framework.startswith("nist-sp-800-53"):
        return None
    match = _CONTROL_NAME.match(name.strip()) or _CONTROL_SUFFIX.search(name.strip())
    if not match:
        return None
    base, enhancement = match.groups()
    return requirement_iri(framework, f"{base}.{enhancement}" if enhancement else base)


def _prowler_check(built: Built, check_id: str, seen: set[str]) -> URIRef:
    check = ID[f"check/prowler/{check_id}"]
    if check_id not in seen:
        seen.add(check_id)
        built.node(check, GC.TechnicalCheck, identifier=check_id)
        built.add(check, GC.checkTool, "Prowler")
        built.add(check, GC.checkService, check_id.split("_", 1)[0])
        built.counts["checks"] += 1
    return check
