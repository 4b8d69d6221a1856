"""CSV meant for spreadsheets never carries a cell that runs as a formula; the SPARQL
results formats for programs keep every value exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import RDF, RDFS, Literal, URIRef

from graphsvc.cli import main
from graphsvc.config import Config
from graphsvc.namespaces import GC
from graphsvc.output import spreadsheet_cell
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.web import close_app, create_app

# what an uploaded control set may call itself (OWASP CSV injection payloads)
HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x.example")']
HARMLESS = ["plain", "a=b", "", "-5", "+1.5", "-1e3", "'quoted"]
LABELS_QUERY = f"SELECT ?label WHERE {{ ?s a <{GC.ControlSet}> ; <{RDFS.label}> ?label }}"


@pytest.fixture
def hostile_store(tmp_path: Path) -> Path:
    """An on-disk store whose control sets are named with formulas (and harmless names)."""
    path = tmp_path / "store"
    triples = []
    for i, label in enumerate(HOSTILE + [h for h in HARMLESS if h]):
        node = URIRef(f"https://example.org/controlset/{i}")
        triples += [(node, RDF.type, GC.ControlSet), (node, RDFS.label, Literal(label))]
    with EmbeddedStore(path) as store:
        store.write({"https://example.org/graph/hostile": triples})
    return path


def labels(text: str, column: str = "label") -> set[str]:
    return {row[column] for row in csv.DictReader(io.StringIO(text, newline=""))}


def test_spreadsheet_cells() -> None:
    for text in HOSTILE:
        assert spreadsheet_cell(text) == "'" + text
    for text in HARMLESS:
        assert spreadsheet_cell(text) == text


def test_downloads_are_escaped_and_sparql_csv_is_exact(hostile_store: Path) -> None:
    expected = {"'" + h for h in HOSTILE} | {h for h in HARMLESS if h}
    app = create_app(Config(store=hostile_store), pool_size=1)
    try:
        client = app.test_client()
        download = client.get("/api/questions/inventory.csv")
        assert download.status_code == 200 and download.mimetype == "text/csv"
        assert labels(download.data.decode()) == expected
        negotiated = client.get("/api/questions/inventory", headers={"Accept": "text/csv"})
        assert labels(negotiated.data.decode()) == expected
        # the SPARQL 1.1 CSV results format is for programs: values exactly as stored
        sparql = client.get("/sparql", query_string={"query": LABELS_QUERY},
                            headers={"Accept": "text/csv"})
        assert sparql.status_code == 200, sparql.data
        assert labels(sparql.data.decode()) == set(HOSTILE) | {h for h in HARMLESS if h}
    finally:
        close_app(app)


def test_cli_csv_is_escaped(hostile_store: Path) -> None:
    expected = {"'" + h for h in HOSTILE} | {h for h in HARMLESS if h}
    store = ["--store", str(hostile_store)]
    asked = CliRunner().invoke(main, [*store, "ask", "inventory", "--format", "csv"])
    assert asked.exit_code == 0, asked.output
    assert labels(asked.output) == expected
    queried = CliRunner().invoke(main, [*store, "query", LABELS_QUERY, "--format", "csv"])
    assert queried.exit_code == 0, queried.output
    assert labels(queried.output) == expected
