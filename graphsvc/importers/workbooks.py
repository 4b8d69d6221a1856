"""NIST's published crosswalk workbooks (xlsx). Each has its own layout, recognised by
its sheets; none states set-theory relations, so every mapping is "unspecified" and
keeps what the workbook does say (notes, asterisks, change details) as its description.

* csf2.xlsx (CSF 2.0 reference export): informative references of each CSF 2.0
  function, category and subcategory, to 800-53, ISO/IEC 27001:2022, CSF 1.1, CCM, ...
* csf-pf-to-sp800-53r5-mappings.xlsx: CSF 1.1 and Privacy Framework 1.0 -> 800-53 r5.
* sp800-53r5-to-iso-27001-mapping.xlsx: 800-53 r5 -> ISO/IEC 27001 (2013 numbering).
* sp800-53r4-to-r5-comparison-workbook.xlsx: each rev5 control -> the rev4 control of
  the same id, with what changed.
* the CSF 2.0 -> 800-53 5.2.0 concept crosswalk (draft): focal -> reference elements.

Workbooks are zip files of XML: the uncompressed size is checked before opening (zip
bombs) and openpyxl parses through defusedxml (no entities).
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
from rdflib import URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import match_framework, requirement_iri, slug
from graphsvc.importers.mappings import add_mapping, mapping_source
from graphsvc.importers.model import Built
from graphsvc.namespaces import GC, GRAPH

MAX_UNCOMPRESSED = 512 * 1024 * 1024
_LEADING_ID = re.compile(r"^\s*([A-Z]{2}(?:\.[A-Z]{2,3})?-?P?\d*)\s*:")
_PAREN_ID = re.compile(r"\(([A-Z]{2}(?:\.[A-Z]{2,3})?(?:-P)?)\)")
_800_53 = re.compile(r"[A-Z]{2}-\d+(?:\s*\(\d+\))?")
_REFERENCE = re.compile(r"^(ISO/IEC \d+:\d{4})(?::\s*[A-Za-z ]+)?:\s*(.*)$|^([^:]+):\s*(.*)$")


def workbook_graph(data: bytes, source: str) -> Built:
    workbook = _open(data, source)
    sheets = set(workbook.sheetnames)
    name = slug(Path(source).name)
    built = Built(str(GRAPH[f"workbook/{name}"]))
    origin = mapping_source(built, "workbook", name, Path(source).name)
    context = _Context(built, origin, name, source)
    if "CSF 2.0" in sheets:
        _csf2_references(context, workbook["CSF 2.0"])
    elif "CSF to SP 800-53r5" in sheets:
        _subcategories(context, workbook["CSF to SP 800-53r5"], "nist-csf-1.1", 2, 3)
        _subcategories(context, workbook["PF to SP 800-53r5"], "nist-privacy-framework-1.0",
                       3, 4)
    elif "Rev4 Rev5 Compared" in sheets:
        _comparison(context, workbook["Rev4 Rev5 Compared"])
    elif "Relationships" in sheets:
        _concept_crosswalk(context, workbook["Relationships"])
    elif sheets == {"Sheet1"}:
        _to_iso(context, workbook["Sheet1"])
    else:
        raise BadInput(f"not a workbook layout we know (sheets: {', '.join(sorted(sheets))})",
                       where=source)
    return built


def _open(data: bytes, source: str) -> Any:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            size = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise BadInput("not an xlsx workbook (not a zip file)", where=source) from exc
    if size > MAX_UNCOMPRESSED:
        raise BadInput(f"workbook unpacks to {size} bytes; the limit is {MAX_UNCOMPRESSED}",
                       where=source)
    try:
        with warnings.catch_warnings():  # "no default style": cosmetic, not the user's concern
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises assorted errors on broken files
        raise BadInput(f"cannot read the workbook: {exc}", where=source) from exc


class _Context:
    def __init__(self, built: Built, origin: URIRef, name: str, source: str) -> None:
        self.built, self.origin, self.name, self.source = built, origin, name, source

    def map(self, row: int, source: URIRef, targets: list[URIRef], sheet: str,
            note: str | None = None) -> None:
        """A workbook row lists references, not a set: each target is a mapping of its
        own, related in a way the workbook does not state."""
        for target in dict.fromkeys(targets):
            mapping = add_mapping(self.built, sources=[source], targets=[target], stated=None,
                                  where=f"{self.source}, sheet {sheet!r}, row {row}",
                                  source_node=self.origin)
            self.built.add(mapping, GC.description, note)


def _rows(sheet: Any, first: int) -> Iterator[tuple[int, tuple]]:
    for number, row in enumerate(sheet.iter_rows(min_row=first, values_only=True), first):
        yield number, tuple("" if c is None else str(c).strip() for c in row)


def _controls(cell: str, framework: str) -> list[URIRef]:
    return [requirement_iri(framework, c) for c in _800_53.findall(cell.upper())]


def _csf2_references(ctx: _Context, sheet: Any) -> None:
    for number, row in _rows(sheet, 3):
        label = row[2] or row[1] or row[0]
        match = _LEADING_ID.match(label) or _PAREN_ID.search(label)
        if not match or len(row) < 5:
            continue
        csf = requirement_iri("nist-csf-2.0", match.group(1))
        by_framework: dict[str, list[URIRef]] = {}
        for line in row[4].splitlines():
            parsed = _REFERENCE.match(line.strip())
            if not parsed:
                continue
            framework_name = parsed.group(1) or parsed.group(3)
            target = (parsed.group(2) if parsed.group(1) else parsed.group(4)).strip(" ,")
            if not target:
                continue
            fw = match_framework(framework_name) or slug(framework_name)
            by_framework.setdefault(fw, []).append(requirement_iri(fw, target))
        for index, (fw, targets) in enumerate(sorted(by_framework.items())):
            ctx.map(number * 100 + index, csf, targets, sheet.title,
                    f"informative references to {fw}")


def _subcategories(ctx: _Context, sheet: Any, framework: str, label_col: int,
                   controls_col: int) -> None:
    for number, row in _rows(sheet, 3):
        if len(row) <= controls_col:
            continue
        match = _LEADING_ID.match(row[label_col])
        if match:
            ctx.map(number, requirement_iri(framework, match.group(1)),
                    _controls(row[controls_col], "nist-sp-800-53-rev5"), sheet.title)


def _to_iso(ctx: _Context, sheet: Any) -> None:
    for number, row in _rows(sheet, 3):
        if not _800_53.fullmatch(row[0].upper()) or len(row) < 3:
            continue
        cells = [c.strip() for c in row[2].replace("\n", ",").split(",") if c.strip()]
        partial = [c.rstrip("*") for c in cells if c.endswith("*")]
        targets = [requirement_iri("iso27001-2013", c.rstrip("*")) for c in cells
                   if re.match(r"^(A\.)?\d+(\.\d+)*\*?$", c)]
        note = (f"ISO/IEC 27001 controls marked * do not fully satisfy the intent of the "
                f"NIST control: {', '.join(partial)}") if partial else None
        ctx.map(number, requirement_iri("nist-sp-800-53-rev5", row[0]), targets, sheet.title,
                note)


def _comparison(ctx: _Context, sheet: Any) -> None:
    for number, row in _rows(sheet, 3):
        if not _800_53.fullmatch(row[0].upper()) or len(row) < 9:
            continue
        changes = row[7].replace("\n", "; ").strip("; ")
        if changes.lower().startswith("new"):
            continue  # a rev5 control with no rev4 predecessor of its id
        note = (f"more than editorial change: {row[6] or 'not stated'}; {changes}; "
                f"{row[8]}").strip("; ")
        ctx.map(number, requirement_iri("nist-sp-800-53-rev5", row[0]),
                [requirement_iri("nist-sp-800-53-rev4", row[0])], sheet.title, note)


def _concept_crosswalk(ctx: _Context, sheet: Any) -> None:
    for number, row in _rows(sheet, 2):
        if not row or not row[0] or len(row) < 3:
            continue
        strength = row[5] if len(row) > 5 else ""
        ctx.map(number, requirement_iri("nist-csf-2.0", row[0]),
                _controls(row[2], "nist-sp-800-53-rev5"), sheet.title,
                f"strength: {strength}" if strength else None)
