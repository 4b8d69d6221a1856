"""The command line over a real on-disk store: init, graphs, query, load, config."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from rdflib import Graph
from rdflib.namespace import RDF, RDFS

from graphsvc.cli import main
from graphsvc.control_states import is_states_graph
from graphsvc.namespaces import GC
from tests.conftest import ROOT

DEMO = ROOT / "ontology" / "demo-customer.ttl"


def still_mine_from_file() -> set[tuple[str, str, str]]:
    """Independently of SPARQL: (control set, control id, status id) of customer and
    shared controls, from the Turtle demo and from the demo OSCAL SSPs (a control is
    still the owner's when some statement is not only inherited)."""
    g = Graph().parse(DEMO)
    ontology = Graph().parse(ROOT / "ontology" / "compliance.ttl")
    out = set()
    for impl in g.subjects(RDF.type, GC.ControlImplementation):
        if g.value(impl, GC.responsibility) in (GC.CustomerResponsibility,
                                                GC.SharedResponsibility):
            control = str(g.value(impl, GC.implementsControl)).rsplit("/", 1)[1]
            label = str(g.value(g.value(impl, GC.inControlSet), RDFS.label))
            out.add((label, control, str(ontology.value(g.value(impl, GC.status),
                                                        GC.identifier))))
    for name in ("demo-aws-leveraged.oscal.json", "demo-customer-ssp.oscal.json"):
        ssp = json.loads((ROOT / "ontology" / name).read_text())["system-security-plan"]
        for ir in ssp["control-implementation"]["implemented-requirements"]:
            bys = [b for st in ir["statements"] for b in st["by-components"]]
            if any("inherited" not in b or "satisfied" in b for b in bys):
                states = {b["implementation-status"]["state"] for b in bys}
                status = states.pop() if len(states) == 1 else "partial"
                out.add((ssp["metadata"]["title"], ir["control-id"], status))
    return out


def test_init_is_repeatable_and_graphs_lists_counts(runner: CliRunner) -> None:
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0
    listing = runner.invoke(main, ["graphs"]).output
    counted = {}
    for line in listing.splitlines()[:-1]:
        count, iri = line.split()
        if not is_states_graph(iri):  # the derived control states follow the control sets
            counted[iri] = int(count)
    base = "https://w3id.org/graphsvc/graph/"
    assert set(counted) == {base + g for g in ("ontology", "aws-program", "demo-customer")} | {
        f"{base}oscal/baseline/fedramp-rev5-{level}"
        for level in ("low", "li-saas", "moderate", "high")} | {
        f"{base}oscal/ssp/{uuid}-0000-4000-8000-000000000000"
        for uuid in ("a0a0a0a0", "c0c0c0c0")} | {
        f"{base}oscal/catalog/nist-sp-800-53-rev5/5.1.1", f"{base}derived/frameworks"}
    # each graph holds its file's triples plus a five-triple provenance record
    assert counted["https://w3id.org/graphsvc/graph/demo-customer"] == len(
        Graph().parse(DEMO)) + 5


def test_the_readme_question_matches_the_demo_file(runner: CliRunner) -> None:
    runner.invoke(main, ["init"])
    result = runner.invoke(
        main, ["query", "-f", str(ROOT / "queries" / "responsibility.rq"), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    got = {(r["controlSetName"], r["control"], r["status"]) for r in rows}
    assert got == still_mine_from_file()
    assert len(rows) == len(still_mine_from_file())


def test_query_formats(runner: CliRunner) -> None:
    runner.invoke(main, ["init", "--no-demo"])
    text = ("PREFIX gc: <https://w3id.org/graphsvc/compliance#> "
            "SELECT ?s WHERE { ?s a gc:ResponsibilityType } ORDER BY ?s")
    as_json = json.loads(runner.invoke(main, ["query", text, "--format", "json"]).output)
    values = [b["s"]["value"] for b in as_json["results"]["bindings"]]
    assert values == sorted(str(GC[n]) for n in (
        "CustomerResponsibility", "ProviderResponsibility", "SharedResponsibility"))
    tsv = runner.invoke(main, ["query", text, "--format", "tsv"]).output.splitlines()
    assert tsv[0] == "?s" and tsv[1:] == [f"<{v}>" for v in values]
    table = runner.invoke(main, ["query", text]).output
    assert "(3 rows)" in table
    ask = runner.invoke(main, ["query", f"ASK {{ <{GC.IaaS}> a ?t }}"]).output.strip()
    assert ask == "true"
    construct = runner.invoke(
        main, ["query", f"CONSTRUCT {{ <{GC.IaaS}> ?p ?o }} WHERE {{ <{GC.IaaS}> ?p ?o }}"])
    assert len(Graph().parse(data=construct.output, format="turtle")) >= 3


def test_query_refuses_updates_with_exit_2(runner: CliRunner) -> None:
    runner.invoke(main, ["init", "--no-demo"])
    before = runner.invoke(main, ["graphs"]).output
    result = runner.invoke(main, ["query", "DROP ALL"])
    assert result.exit_code == 2 and "updates are not accepted" in result.output
    assert runner.invoke(main, ["graphs"]).output == before


def test_load_then_replace(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mine.ttl"
    path.write_text("<http://example.org/a> <http://example.org/p> 1 .")
    for _ in range(2):
        assert runner.invoke(main, ["load", str(path), "--graph", "http://example.org/g"]
                             ).exit_code == 0
    path.write_text("<http://example.org/b> <http://example.org/p> 2 .")
    runner.invoke(main, ["load", str(path), "--graph", "http://example.org/g", "--replace"])
    text = "SELECT ?s WHERE { GRAPH <http://example.org/g> { ?s <http://example.org/p> ?o } }"
    subjects = runner.invoke(main, ["query", text, "--format", "csv"]).output.split()
    assert subjects == ["s", "http://example.org/b"]


def test_missing_file_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["load", str(tmp_path / "absent.ttl")])
    assert result.exit_code == 2 and "absent.ttl" in result.output


def test_config_precedence_and_secret_masking(
    runner: CliRunner, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GRAPHSVC_REMOTE_PASSWORD", "s3cret")
    monkeypatch.setenv("GRAPHSVC_STORE", str(tmp_path / "from-env"))
    shown = json.loads(runner.invoke(main, ["--store", str(tmp_path / "flag"), "config"]).output)
    assert shown["store"] == str(tmp_path / "flag")
    assert shown["remote_password"] == "***"
    monkeypatch.setenv("GRAPHSVC_MAX_LOAD_BYTES", "lots")
    result = runner.invoke(main, ["config"])
    assert result.exit_code == 2 and "GRAPHSVC_MAX_LOAD_BYTES" in result.output


def test_cli_against_the_remote_backend(oxigraph_server: str, tmp_path: Path) -> None:
    runner = CliRunner()
    remote = ["--remote", oxigraph_server + "/query"]
    assert runner.invoke(main, [*remote, "init"]).exit_code == 0
    result = runner.invoke(main, [*remote, "query", "-f",
                                  str(ROOT / "queries" / "responsibility.rq"), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    got = {(r["controlSetName"], r["control"], r["status"]) for r in rows}
    assert got == still_mine_from_file()


def test_serve_runs_the_web_service(loaded_server, tmp_path: Path) -> None:
    """`graphsvc serve` (the README's main job) in its own process: it prints its URL
    and answers on it until stopped."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "graphsvc"), "--remote", loaded_server.query_url,
         "serve", "--port", str(port)], stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "GRAPHSVC_REMOTE_UPDATE": loaded_server.update_url,
             "GRAPHSVC_REMOTE_GSP": loaded_server.gsp_url})
    try:
        assert f"http://127.0.0.1:{port}/" in process.stderr.readline()
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                    assert json.load(r) == {"status": "ok"}
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("graphsvc serve did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            assert "What is loaded" in r.read().decode()
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0  # SIGTERM: a clean stop


def test_the_cli_s_choice_lists_are_those_of_the_modules_it_does_not_import() -> None:
    """The CLI keeps copies so that ``ask`` does not import the importers and validators."""
    from graphsvc import cli
    from graphsvc.importers.crosswalk import FORMATS
    from graphsvc.validation import ENGINES
    from graphsvc.validation_output import REPORT_FORMATS

    copies = (cli.CROSSWALK_FORMATS, cli.ENGINES, cli.REPORT_FORMATS)
    assert copies == (FORMATS, tuple(ENGINES), REPORT_FORMATS)
