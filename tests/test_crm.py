"""The customer responsibility matrix: rows, parts and responsibilities read from the
provider packages' own files (json / ElementTree), the XLSX read back with openpyxl, and
the OSCAL export met by the leveraging example's inherited and satisfied statements."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl

from graphsvc.content import init_store
from graphsvc.crm import COLUMNS, crm, crm_csv, crm_oscal, crm_xlsx
from graphsvc.export import dumps
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store.embedded import EmbeddedStore
from tests.helpers import baseline_ids

NS = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}
LEVERAGED = "oscal-examples/oscal_leveraged-example_ssp.json"
LEVERAGING = "oscal-examples/oscal_leveraging-example_ssp.json"
REV4 = ["nist-800-53-rev4/NIST_SP-800-53_rev4_catalog.json",
        "nist-800-53-rev4/NIST_SP-800-53_rev4_LOW-baseline_profile.json"]
FEDRAMP_SSP = "fedramp-rev5/examples/fedramp-ssp-example.oscal.xml"


def exports_in_json(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """control -> (what is provided, what is the customer's), from the SSP's JSON."""
    ssp = json.loads(path.read_text())["system-security-plan"]
    out: dict[str, tuple[list[str], list[str]]] = {}
    for req in ssp["control-implementation"]["implemented-requirements"]:
        provided, owed = out.setdefault(req["control-id"], ([], []))
        for statement in req.get("statements", [req]):
            for by in statement.get("by-components", []):
                export = by.get("export", {})
                provided += [p["description"] for p in export.get("provided", [])]
                owed += [r["description"] for r in export.get("responsibilities", [])]
    return out


def exports_in_xml(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    for req in ET.parse(path).getroot().iter(f"{{{NS['o']}}}implemented-requirement"):
        provided, owed = out.setdefault(req.get("control-id"), ([], []))
        for kind, texts in (("provided", provided), ("responsibility", owed)):
            texts += [" ".join(item.find("o:description", NS).itertext()).strip()
                      for item in req.iter(f"{{{NS['o']}}}{kind}")]
    return out


def expected_rows(exports: dict, members: list[str]) -> list[tuple[str, str, int, int]]:
    """(control, responsibility, length of what is provided, of the customer's part): each
    distinct statement once, whatever the order they are joined in."""
    rows = []
    for control in members:
        provided, owed = ({bare(t) for t in texts} for texts in exports.get(control, ([], [])))
        kind = "customer" if not provided else "shared" if owed else "provider"
        rows.append((control, kind, len("".join(provided)), len("".join(owed))))
    return sorted(rows)


def bare(text: str) -> str:
    """Text without its whitespace and markup (XML prose and the graph's Markdown differ
    there: <q> becomes quotes, <em> asterisks)."""
    return re.sub(r"[\s*\"]+", "", text)


def got_rows(rows: list[dict[str, str]]) -> list[tuple[str, str, int, int]]:
    return sorted((r["controlId"], r["responsibility"], len(bare(r["providerPart"] or "")),
                   len(bare(r["customerPart"] or ""))) for r in rows)


def texts_match(rows: list[dict[str, str]], exports: dict) -> bool:
    """Every statement the file makes is in the row of its control, in its column."""
    return all(bare(text) in bare(row["providerPart"] or "") for row in rows
               for text in exports.get(row["controlId"], ([], []))[0]) and all(
        bare(text) in bare(row["customerPart"] or "") for row in rows
        for text in exports.get(row["controlId"], ([], []))[1])


def joined_cleanly(rows: list[dict[str, str]]) -> bool:
    """Statements are joined by one blank line, with no empty one among them and nothing
    around them (what bare() cannot see)."""
    return all("\n\n\n" not in text and text == text.strip() for row in rows
               for text in (row["providerPart"] or "", row["customerPart"] or ""))


def test_crm_of_the_nist_leveraged_example(shared_data: Path, tmp_path: Path) -> None:
    with EmbeddedStore() as store:
        import_oscal(store, [shared_data / name for name in REV4] + [shared_data / LEVERAGED],
                     max_bytes=10**8)
        ssp = json.loads((shared_data / LEVERAGED).read_text())["system-security-plan"]
        provider = f"id:controlset/{ssp['uuid']}"
        baseline = "id:baseline/nist-sp-800-53-rev4-low"
        rows = crm(store, provider, baseline)
        members = baseline_ids(shared_data / REV4[1])
        assert got_rows(rows) == expected_rows(exports_in_json(shared_data / LEVERAGED),
                                               sorted(set(members) | {
                                                   r["controlId"] for r in rows}))
        assert len(rows) == len({r["controlId"] for r in rows})  # one row per control
        assert texts_match(rows, exports_in_json(shared_data / LEVERAGED))
        assert joined_cleanly(rows)
        shared = [r for r in rows if r["responsibility"] == "shared"]
        assert [r["controlId"] for r in shared] == ["ac-2"]
        # the workbook holds the same rows, read back with openpyxl
        path = tmp_path / "crm.xlsx"
        path.write_bytes(crm_xlsx(rows, "CRM"))
        sheet = openpyxl.load_workbook(path, read_only=True).active
        cells = [["" if c is None else str(c) for c in row]
                 for row in sheet.iter_rows(values_only=True)]
        assert cells[0] == [heading for _, heading in COLUMNS]
        assert cells[1:] == list(csv.reader(io.StringIO(crm_csv(rows))))[1:]
        assert {c[2] for c in cells[1:]} == {"Customer", "Shared"}
        # the OSCAL export: the leveraging example's statements meet its items
        fragment = tmp_path / "exports.json"
        fragment.write_text(dumps(crm_oscal(store, provider, baseline)))
    leveraging = shared_data / LEVERAGING
    with EmbeddedStore() as fresh:
        import_oscal(fresh, [shared_data / name for name in REV4], max_bytes=10**8)
        [alone] = import_oscal(fresh, [leveraging], max_bytes=10**8)
        assert alone.counts["dangling references"] > 0  # nothing provides what it inherits
    with EmbeddedStore() as fresh:
        import_oscal(fresh, [shared_data / name for name in REV4] + [fragment],
                     max_bytes=10**8)
        [met] = import_oscal(fresh, [leveraging], max_bytes=10**8)
        assert met.counts["dangling references"] == 0
        assert met.counts["inherited"] and met.counts["satisfied"]


def test_crm_of_the_fedramp_example_ssp(shared_data: Path) -> None:
    with EmbeddedStore() as store:
        init_store(store, demo=False, max_bytes=10**9)
        [_report] = import_oscal(store, [shared_data / FEDRAMP_SSP], max_bytes=10**9)
        uuid = ET.parse(shared_data / FEDRAMP_SSP).getroot().get("uuid")
        rows = crm(store, f"id:controlset/{uuid}", "id:baseline/fedramp-rev5-moderate")
    members = baseline_ids(shared_data / "fedramp-rev5/FedRAMP_rev5_MODERATE-baseline_profile.json")
    assert len(rows) == len(members) == 323
    exports = exports_in_xml(shared_data / FEDRAMP_SSP)
    assert got_rows(rows) == expected_rows(exports, members)
    assert texts_match(rows, exports)
    assert joined_cleanly(rows)
    assert any(r["responsibility"] != "customer" for r in rows)


def test_the_matrix_over_http_and_from_the_coverage_page(client) -> None:
    """/api/crm.{csv,xlsx,json} serve what `graphsvc export crm` writes, for the demo's
    leveraged AWS package; the coverage page links to them."""
    given = {"provider": "id:controlset/a0a0a0a0-0000-4000-8000-000000000000",
             "baseline": "fedramp-rev5-moderate", "as_of": "2026-12-01"}
    rows = client.get("/api/questions/crm", query_string=given).get_json()["rows"]
    assert rows and len(rows) == len({r["controlId"] for r in rows})
    answer = client.get("/api/crm.csv", query_string=given)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(answer.data.decode())))
    assert table == list(csv.reader(io.StringIO(crm_csv(rows))))
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/api/crm.xlsx", query_string=given
                                                         ).data), read_only=True).active
    assert [["" if c is None else str(c) for c in row]
            for row in sheet.iter_rows(values_only=True)] == table
    exported = client.get("/api/crm.json", query_string=given).get_json()
    provided = [p for req in exported["system-security-plan"]["control-implementation"][
        "implemented-requirements"] for st in req.get("statements", [req])
        for by in st.get("by-components", []) for p in by.get("export", {}).get("provided", [])]
    assert len(provided) == sum(1 for r in rows if r["providerPart"]) > 0
    assert client.get("/api/crm.pdf", query_string=given).status_code == 404
    assert client.get("/api/crm.csv", query_string={"provider": given["provider"]}
                      ).status_code == 400
    page = client.get("/coverage", query_string={"controlSet": given["provider"]}).data.decode()
    assert "/api/crm.csv?" in page and "/api/crm.xlsx?" in page
