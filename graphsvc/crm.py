"""The customer responsibility matrix (CRM) of a provider's package against a baseline.

The rows come from the `crm` question; here they are written the ways a provider's
compliance team hands them out: CSV and XLSX with the columns of FedRAMP's CRM worksheet,
and an OSCAL fragment (the leveraged system's implemented requirements with their
``export``: ``provided`` and ``responsibility`` statements, with their own UUIDs) that a
leveraging SSP's ``inherited`` and ``satisfied`` statements point to.
"""

from __future__ import annotations

import io
import uuid as uuidlib
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from rdflib import URIRef

from graphsvc import __version__
from graphsvc.output import plain_rows, spreadsheet_cell
from graphsvc.questions import ask, baseline_iri, expand
from graphsvc.store import Rows, Store

# the matrix's formats (graphsvc export crm, /api/crm.{format}) and their media types
CRM_TYPES = {"csv": "text/csv",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "json": "application/json"}
# FedRAMP's CRM worksheet: control, responsibility, the customer's part, the provider's
COLUMNS = [("controlId", "Control ID"), ("title", "Control Name"),
           ("responsibility", "Responsibility"),
           ("customerPart", "Customer Responsibility"),
           ("providerPart", "Provider Implementation"),
           ("attestations", "Covering Attestation"), ("validUntil", "Valid Until")]
RESPONSIBILITY = {"provider": "Provider (inherited)", "shared": "Shared",
                  "customer": "Customer"}
EXPORTS = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?controlId ?statementId ?component ?item ?kind ?about ?text WHERE {
  ?baseline gc:includesControl ?control .
  ?impl gc:inControlSet ?provider ; gc:implementsControl ?control .
  ?control gc:identifier ?controlId .
  ?statement gc:ofImplementation ?impl ; gc:byComponent ?component .
  OPTIONAL { ?statement gc:statementId ?statementId }
  { ?item gc:exportedBy ?statement ; a gc:Provided . BIND ("provided" AS ?kind) }
  UNION
  { ?item gc:exportedBy ?statement ; a gc:ConsumerResponsibility ;
          gc:responsibilityFor ?about . BIND ("responsibility" AS ?kind) }
  OPTIONAL { ?item gc:description ?text }
}
ORDER BY ?controlId ?statementId ?component ?kind ?item
"""


def crm(store: Store, provider: str, baseline: str, as_of: date | None = None
        ) -> list[dict[str, str]]:
    """The matrix as rows of text, one per baseline control."""
    given = {"provider": provider, "baseline": baseline_iri(baseline, "baseline")}
    if as_of is not None:
        given["as_of"] = as_of.isoformat()
    rows = ask(store, "crm", given)
    assert isinstance(rows, Rows)
    return plain_rows(rows)


def crm_csv(rows: list[dict[str, str]]) -> str:
    """CSV with the worksheet's headings; no cell runs as a formula in a spreadsheet."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([heading for _, heading in COLUMNS])
    for row in rows:
        writer.writerow([spreadsheet_cell(_cell(row, key)) for key, _ in COLUMNS])
    return buffer.getvalue()


def crm_xlsx(rows: list[dict[str, str]], title: str) -> bytes:
    """An XLSX workbook: one sheet, the worksheet's headings, wrapped text."""
    book = Workbook()
    sheet = book.active
    sheet.title = "CRM"
    sheet.append([heading for _, heading in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([spreadsheet_cell(_cell(row, key)) for key, _ in COLUMNS])
    for letter, width in zip("ABCDEFG", (12, 36, 20, 60, 60, 40, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(row: dict[str, str], key: str) -> str:
    value = row.get(key) or ""
    return RESPONSIBILITY.get(value, value) if key == "responsibility" else value


def crm_oscal(store: Store, provider: str, baseline: str) -> dict[str, Any]:
    """The provider's exports for the baseline's controls as an OSCAL SSP fragment: the
    same provided and responsibility UUIDs, so a leveraging SSP's statements meet them."""
    rows = store.query(EXPORTS, {"provider": URIRef(expand(provider, "provider")),
                                 "baseline": URIRef(baseline_iri(baseline, "baseline"))})
    assert isinstance(rows, Rows)
    grouped: dict[str, dict[tuple[str, str], dict[str, list]]] = defaultdict(
        lambda: defaultdict(lambda: {"provided": [], "responsibilities": []}))
    for control, statement, component, item, kind, about, text in rows:
        export = grouped[str(control)][(str(statement or f"{control}_smt"), _uuid(component))]
        entry = {"uuid": _uuid(item), "description": str(text or "")}
        if kind is not None and str(kind) == "responsibility":
            export["responsibilities"].append({**entry, "provided-uuid": _uuid(about)})
        else:
            export["provided"].append(entry)
    requirements = [{
        "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{provider} {control}")),
        "control-id": control,
        "statements": [{
            "statement-id": statement,
            "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{provider} {statement}")),
            "by-components": [{
                "component-uuid": component,
                "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                          f"{provider} {statement} {component}")),
                "description": "Exported for leveraging systems.",
                "export": {k: v for k, v in export.items() if v}}]}
            for (statement, component), export in statements.items()],
    } for control, statements in grouped.items()]
    return {"system-security-plan": {
        "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{provider} {baseline} crm")),
        "metadata": {"title": f"Customer responsibility export of {provider}",
                     "last-modified": datetime.now(UTC).isoformat(timespec="seconds"),
                     "version": "1", "oscal-version": "1.1.2",
                     "props": [{"name": "generator", "value": f"graphsvc {__version__}"}]},
        "import-profile": {"href": f"{baseline.rsplit('/', 1)[-1]}.json"},
        "system-characteristics": {
            "system-ids": [{"id": provider.rsplit("/", 1)[-1]}],
            "system-name": f"Leveraged system {provider.rsplit('/', 1)[-1]}",
            "description": "What the leveraged system provides and leaves to its customers.",
            "system-information": {"information-types": []}, "security-impact-level": {},
            "status": {"state": "operational"},
            "authorization-boundary": {"description": "As in the provider's SSP."}},
        "system-implementation": {"users": [], "components": [{
            "uuid": uuid, "type": "this-system", "title": "Leveraged system component",
            "description": "A component of the leveraged system.",
            "status": {"state": "operational"}} for uuid in sorted(
                {c for statements in grouped.values() for _, c in statements})]},
        "control-implementation": {
            "description": f"Exports of {provider} for {baseline}.",
            "implemented-requirements": requirements}}}


def _uuid(term: object) -> str:
    """The UUID of an id/oscal/{uuid} node (what the provider's SSP called it)."""
    return str(term).rsplit("/", 1)[-1]
