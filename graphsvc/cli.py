"""The command line: parses input, calls the core, formats output. No logic of its own.

Each command imports what it needs when it runs (the importers, SHACL, the web server
are most of a start-up's time), so that ``graphsvc ask`` starts quickly.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from graphsvc.config import Config, load_config
from graphsvc.errors import BadInput, GraphsvcError
from graphsvc.output import ROW_FORMATS, render
from graphsvc.store import Store, open_store

if TYPE_CHECKING:
    from graphsvc.importers.model import ImportReport

# as graphsvc.validation_output.REPORT_FORMATS and graphsvc.validation.ENGINES (tested)
REPORT_FORMATS = ("text", "json", "turtle", "sarif", "junit")
ENGINES = ("fast", "pyshacl")
# as graphsvc.importers.crosswalk.FORMATS (tested)
CROSSWALK_FORMATS = ("ciso-yaml", "csv", "prowler-json", "fedramp-frmr", "xlsx")


class _Group(click.Group):
    """Maps our errors once to a message on stderr and an exit code (2 = bad input)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraphsvcError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="graphsvc", prog_name="graphsvc")
@click.option("--store", "store", type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the embedded store (env GRAPHSVC_STORE; "
                   "default ~/.local/share/graphsvc/store).")
@click.option("--remote", help="Use a SPARQL 1.1 endpoint instead, e.g. "
                               "http://127.0.0.1:7878/query (env GRAPHSVC_REMOTE).")
@click.pass_context
def main(ctx: click.Context, store: Path | None, remote: str | None) -> None:
    """graphsvc: ask compliance questions of one graph of frameworks, controls,
    provider assurance and your control sets.

    \b
    First steps:
      graphsvc init                  create the store and load the shipped content
      graphsvc graphs                see what is loaded
      graphsvc query -f queries/responsibility.rq
    """
    ctx.obj = load_config(store=store, remote=remote)


def _store(ctx: click.Context, *, read_only: bool = False) -> Store:
    config: Config = ctx.obj
    return open_store(config, read_only=read_only)


@main.command()
@click.option("--no-demo", is_flag=True, help="Leave out the fictional demo customer (and "
                                              "remove it if an earlier init loaded it).")
@click.pass_context
def init(ctx: click.Context, no_demo: bool) -> None:
    """Create the store and load the ontology, the AWS programme, the FedRAMP rev5
    baselines (release 5.1.1 of SP 800-53 rev5) and the demo customer.

    Safe to run again: each shipped graph is replaced, not duplicated.
    """
    from graphsvc.content import init_store

    with _store(ctx) as store:
        report = init_store(store, demo=not no_demo, max_bytes=ctx.obj.max_load_bytes)
        for graph, count in report.items():
            click.echo(f"loaded {count:>7} triples into {graph}")
        click.echo(f"store: {ctx.obj.remote or ctx.obj.store_dir}")


@main.command()
@click.pass_context
def graphs(ctx: click.Context) -> None:
    """List the named graphs of the store with their triple counts."""
    with _store(ctx, read_only=True) as store:
        infos = store.graphs()
    for info in infos:
        click.echo(f"{info.triples:>9}  {info.iri}")
    click.echo(f"({len(infos)} graphs, {sum(i.triples for i in infos)} triples)")


@main.command()
@click.argument("sparql", required=False)
@click.option("-f", "--file", "query_file", type=click.File("r"),
              help="Read the query from a file ('-' for standard input).")
@click.option("--format", "fmt", type=click.Choice(ROW_FORMATS), default="table",
              show_default=True, help="Output format (CONSTRUCT gives Turtle, or JSON-LD "
                                      "with json).")
@click.pass_context
def query(ctx: click.Context, sparql: str | None, query_file, fmt: str) -> None:
    """Run a read-only SPARQL query over all graphs (their union is the default graph).

    \b
    Example:
      graphsvc query 'SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g'
    """
    if (sparql is None) == (query_file is None):
        raise BadInput("give the query as an argument or with -f FILE, not both or neither")
    text = sparql if sparql is not None else query_file.read()
    with _store(ctx, read_only=True) as store:
        if ctx.obj.remote:  # the endpoint is reached over the network
            result = store.query(text)
        else:  # the engine itself cannot call out, whatever the text says
            from graphsvc.store.sandbox import without_network

            result = without_network(store.query, text)
        output = render(result, fmt)
    click.echo(output, nl=not output.endswith("\n"))


@main.command()
@click.argument("graphs", nargs=-1, required=True)
@click.pass_context
def drop(ctx: click.Context, graphs: tuple[str, ...]) -> None:
    """Remove named graphs (IRIs, or names such as demo-customer), all or none.

    \b
    Example:
      graphsvc drop oscal/ssp/cff8385f-108e-40a5-8f7a-82f3dc0eaba8
    """
    from graphsvc.writes import drop_graphs

    with _store(ctx) as store:
        for graph in drop_graphs(store, graphs):
            click.echo(f"dropped {graph}")


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", help="Load into this named graph (default: one graph per file, "
                              "https://w3id.org/graphsvc/graph/file/NAME).")
@click.option("--replace", is_flag=True, help="Replace the graphs' content instead of adding.")
@click.pass_context
def load(ctx: click.Context, files: tuple[Path, ...], graph: str | None, replace: bool) -> None:
    """Load RDF files (Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML).

    All files are checked and parsed first, then written in one transaction: on any
    error nothing is written. Nothing the files point to is ever fetched.
    """
    from graphsvc.importers.rdf import load_files
    from graphsvc.importers.safety import InputLimits

    with _store(ctx) as store:
        report = load_files(store, [(f, graph) for f in files], replace=replace,
                            max_bytes=ctx.obj.max_load_bytes, limits=InputLimits.of(ctx.obj))
    for name, count in report.graphs.items():
        click.echo(f"loaded {count:>7} triples into {name}")


@main.group("import")
def import_group() -> None:
    """Import compliance content: OSCAL documents (catalogs, profiles, ...)."""


def _show(totals: Counter[str]) -> Callable[[ImportReport], None]:
    def show(report: ImportReport) -> None:
        totals.update(report.counts)
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        graphs = report.graph if report.release in (None, report.graph) else \
            f"{report.graph} and release graph {report.release}"
        click.echo(f"{report.source}: {report.model} -> {graphs} ({counts})", err=True)
        for warning in report.warnings:
            click.echo(f"warning: {report.source}: {warning}", err=True)

    return show


def _summary(totals: Counter[str]) -> None:
    click.echo("imported: " + ", ".join(f"{v} {k}" for k, v in sorted(totals.items())))


@import_group.command("oscal")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--framework", help="Framework slug for a catalog whose title we do not "
                                  "recognise, e.g. nist-sp-800-53-rev5.")
@click.option("--catalog", help="Framework slug of the loaded catalog a profile resolves "
                                "against (default: found from the profile's import).")
@click.option("--release", help="For a catalog: the release it states (default: from its "
                                "version, 5.1.1+u4 is 5.1.1). For a profile: the release it "
                                "selects from (default: the newest loaded).")
@click.pass_context
def import_oscal_cmd(ctx: click.Context, files: tuple[Path, ...], framework: str | None,
                     catalog: str | None, release: str | None) -> None:
    """Import OSCAL files (JSON, YAML or XML): catalogs, resolved-profile catalogs,
    profiles, component definitions, SSPs and mapping collections. Each file becomes one
    named graph; importing it again replaces it. All files go in one transaction.

    Import catalogs before (or with) the profiles that select from them; nothing is
    ever fetched.
    """
    from graphsvc.importers.oscal.importer import import_oscal
    from graphsvc.importers.safety import InputLimits

    totals: Counter[str] = Counter()
    with _store(ctx) as store:
        import_oscal(store, files, max_bytes=ctx.obj.max_load_bytes, framework=framework,
                     catalog=catalog, release=release, progress=_show(totals),
                     limits=InputLimits.of(ctx.obj))
    _summary(totals)


@import_group.command("crosswalk")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(CROSSWALK_FORMATS)),
              help="Default: from the file name (.csv, .yaml, .json, .xlsx) and, for "
                   ".json, its content (Prowler or FedRAMP 20x).")
@click.pass_context
def import_crosswalk_cmd(ctx: click.Context, files: tuple[Path, ...], fmt: str | None) -> None:
    """Import crosswalk tables: CISO Assistant library YAML (frameworks and mappings),
    CSV (IR 8477 columns, compliance-trestle's csv-to-mapping-collection columns, or
    AWS Security Hub control -> 800-53 r5 with Config rules), Prowler compliance
    JSON (requirement -> checks), FedRAMP 20x documentation (FRMR JSON: the Key Security
    Indicators and their related 800-53 controls) and NIST's crosswalk workbooks (xlsx).
    A row without a relationship is recorded as unspecified, never guessed."""
    from graphsvc.importers.crosswalk import import_crosswalks
    from graphsvc.importers.safety import InputLimits

    totals: Counter[str] = Counter()
    with _store(ctx) as store:
        import_crosswalks(store, files, max_bytes=ctx.obj.max_load_bytes, fmt=fmt,
                          progress=_show(totals), limits=InputLimits.of(ctx.obj))
    _summary(totals)


@main.command("questions")
def questions_cmd() -> None:
    """List the named questions with their summaries and parameters."""
    from graphsvc.questions import load_questions

    for question in load_questions().values():
        click.echo(f"{question.name}: {question.summary}")
        for p in question.params:
            extra = f" = {p.default}" if p.default is not None else ""
            values = f" ({'|'.join(p.values)})" if p.values else ""
            click.echo(f"    --param {p.name}=<{p.type}{values}>{extra}  {p.description}")


@main.command("ask")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the question (see 'graphsvc questions').")
@click.option("--format", "fmt", type=click.Choice(ROW_FORMATS), default="table",
              show_default=True)
@click.pass_context
def ask_cmd(ctx: click.Context, name: str, params: tuple[str, ...], fmt: str) -> None:
    """Ask a named question, e.g.

    \b
      graphsvc ask coverage --param as_of=2026-06-30
    """
    from graphsvc.questions import ask

    given: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadInput(f"--param needs NAME=VALUE, not {item!r}")
        given[key.strip()] = value.strip()
    with _store(ctx, read_only=True) as store:
        output = render(ask(store, name, given), fmt)
    click.echo(output, nl=not output.endswith("\n"))


@main.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--graph", help="Validate the control set in this named graph of the store.")
@click.option("--baseline", help="Baseline: slug (fedramp-rev5-high), id:baseline/... or IRI "
                                 "(default: the one the control set targets).")
@click.option("--framework", help="Read an SSP's control ids as this framework's, e.g. "
                                  "nist-sp-800-53-rev5 (default: the baseline's, else the "
                                  "one its profile names).")
@click.option("--as-of", "as_of", help="Day on which attestations and agreements must be "
                                       "valid (YYYY-MM-DD, default today).")
@click.option("--review-months", type=int, default=12, show_default=True,
              help="Review cadence of implementations.")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default="text",
              show_default=True)
@click.option("--engine", type=click.Choice(list(ENGINES)), default="fast", show_default=True,
              help="fast (Oxigraph, all focus nodes at once) or pyshacl (the reference).")
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=True)
@click.pass_context
def validate_cmd(ctx: click.Context, file: Path | None, graph: str | None,
                 baseline: str | None, framework: str | None, as_of: str | None,
                 review_months: int, fmt: str, engine: str, output) -> None:
    """Check a control set (OSCAL SSP as JSON/YAML/XML, Turtle, JSON-LD) against the
    shapes of shapes/: completeness against the baseline (inheritance and as-of
    included), well-formed statements, shared-responsibility rules, legal agreements,
    the risk programme. Nothing is written to the store.

    Exit 0: no violations (warnings allowed); 1: violations; 2: bad input.
    """
    from graphsvc.importers.safety import InputLimits, read_limited
    from graphsvc.questions import parse_day
    from graphsvc.validation import validate
    from graphsvc.validation_output import render_report

    day = parse_day(as_of, "--as-of") if as_of is not None else None
    data = read_limited(file, ctx.obj.max_load_bytes) if file is not None else None
    with _store(ctx, read_only=True) as store:
        report = validate(store, path=file, data=data, graph=graph, baseline=baseline,
                          framework=framework, as_of=day, review_months=review_months,
                          engine=engine, limits=InputLimits.of(ctx.obj))
    output.write(render_report(report, fmt))
    if not report.passed:
        sys.exit(1)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int,
              help="Request threads of each serving process.")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Serving processes (default: the cores this process may use). One "
                   "of them writes; every one reads the newest state.")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str, port: int, threads: int,
              workers: int | None) -> None:
    """Serve the pages, the question API and /sparql with waitress (a production WSGI
    server) in one or more processes. The store is the one --store / --remote name
    (read-only over HTTP, except loading control sets and dropping graphs with a bearer
    token that has the scope). SIGTERM or Ctrl-C stops it."""
    from graphsvc.web.serving import serve

    serve(ctx.obj, host=host, port=port, threads=threads,
          workers=workers or len(os.sched_getaffinity(0)))


@main.command("derive-crosswalks")
@click.pass_context
def derive_crosswalks_cmd(ctx: click.Context) -> None:
    """Compose stated one-to-one mappings along two-step paths between frameworks (RCC-5
    composition). Each derived mapping keeps the set of relations it may have and the
    mappings it came from, in graph https://w3id.org/graphsvc/graph/derived/crosswalks,
    which is replaced each time."""
    from graphsvc.crosswalks import derive_crosswalks

    with _store(ctx) as store:
        counts = derive_crosswalks(store)
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()) or "no paths")


@main.command("what-if")
@click.argument("control_set")
@click.option("--change", "changes", multiple=True, required=True,
              help="lapse:ARTIFACT[@DAY], renew:ARTIFACT@DAY, drop-program:PROGRAMME, "
                   "service-out:SERVICE@PROGRAMME or baseline:BASELINE (repeatable; "
                   "IRIs or id:... names, e.g. lapse:demo/artifact-aws-soc-2@2026-12-15).")
@click.option("--baseline", help="Slug or IRI (default: the control set's target).")
@click.option("--as-of", "as_of", help="YYYY-MM-DD (default: today).")
@click.option("--format", "fmt", type=click.Choice(ROW_FORMATS), default="table",
              show_default=True)
@click.pass_context
def what_if_cmd(ctx: click.Context, control_set: str, changes: tuple[str, ...],
                baseline: str | None, as_of: str | None, fmt: str) -> None:
    """Coverage if something changed: an attestation lapses or is renewed, a programme
    goes, a service leaves a programme's scope, the control set moves to another
    baseline. Prints coverage per family before and after, then each control whose
    state changes and why. Nothing is written.

    \b
    Example:
      graphsvc what-if id:demo/controlset-claims-portal \\
          --change lapse:demo/artifact-aws-fedramp-moderate@2026-12-01
    """
    from graphsvc.questions import parse_day
    from graphsvc.store import Rows
    from graphsvc.whatif import (
        as_json,
        control_rows,
        family_rows,
        parse_change,
        summary_rows,
        what_if,
    )

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    scenario = [parse_change(c) for c in changes]
    with _store(ctx, read_only=True) as store:
        result = what_if(store, control_set, baseline, day, scenario)
    if fmt == "json":
        click.echo(json.dumps(as_json(result), indent=2))
        return
    click.echo(f"{result.control_set} against {result.baseline} as of {day}, if "
               + "; ".join(c.describe() for c in scenario) + ":", err=True)
    if fmt != "table":
        click.echo(render(family_rows(result), fmt), nl=False)
        click.echo(render(control_rows(result), fmt), nl=False)
        return
    click.echo(render(summary_rows(result), fmt))
    if not result.controls:
        click.echo("\nNo control changes state.")
        return
    click.echo(f"\n{len(result.controls)} controls change state:")
    shown = control_rows(result)
    click.echo(render(Rows(shown.variables[:-1], [r[:-1] for r in shown.rows]), fmt))


@main.command("migrate")
@click.argument("control_set")
@click.option("--to", "framework", required=True,
              help="Framework slug to carry the control set to, e.g. nist-sp-800-53-rev5.")
@click.option("--release", help="Release of that framework (default: its current release).")
@click.option("--baseline", help="Target baseline (default: the one of the same level, e.g. "
                                 "nist-sp-800-53-rev4-low -> nist-sp-800-53-rev5-low).")
@click.option("-o", "--output", type=click.File("w"),
              help="Also write the new control set as an OSCAL SSP (JSON) to this file.")
@click.option("--dry-run", is_flag=True, help="Report only; write nothing to the store.")
@click.option("--format", "fmt", type=click.Choice(ROW_FORMATS), default="table",
              show_default=True)
@click.pass_context
def migrate_cmd(ctx: click.Context, control_set: str, framework: str, release: str | None,
                baseline: str | None, output, dry_run: bool, fmt: str) -> None:
    """Carry a control set to another revision or release: kept where the mapping is
    equal or equivalent-to, flagged for review where it is weaker, dropped with the
    reason where the control was withdrawn or no mapping reaches it; the target
    baseline's other controls are listed as work. The new control set goes to its own
    graph (unless --dry-run).

    \b
    Example:
      graphsvc migrate id:controlset/... --to nist-sp-800-53-rev5 -o rev5-ssp.json
    """
    from graphsvc.export import dumps
    from graphsvc.migration import migrate, oscal_ssp, report_rows
    from graphsvc.writes import commit

    with _store(ctx, read_only=dry_run) as store:
        result = migrate(store, control_set, framework, release=release, baseline=baseline)
        if not dry_run:
            commit(store, {result.graph: result.triples})
    click.echo(render(report_rows(result), fmt), nl=fmt == "table")
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.counts().items()))
    where = "not written (--dry-run)" if dry_run else f"written to {result.graph}"
    click.echo(f"{result.new_control_set}: {counts}; {where}", err=True)
    if output is not None:
        output.write(dumps(oscal_ssp(result)))


@main.group("export")
def export_group() -> None:
    """Export what the graph knows in standard formats."""


@export_group.command("oscal-mapping")
@click.option("--source", "source", required=True,
              help="Framework slug of the mapping sources, e.g. nist-csf-2.0.")
@click.option("--target", "target", required=True,
              help="Framework slug of the mapping targets, e.g. nist-sp-800-53-rev5.")
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=True,
              help="Where to write the JSON.")
@click.option("--reconciled", is_flag=True,
              help="One map per pair, with the relation every loaded source allows, each "
                   "source's statement and the agreement as its confidence.")
@click.pass_context
def export_oscal_mapping(ctx: click.Context, source: str, target: str, output,
                         reconciled: bool) -> None:
    """Write an OSCAL 1.2 mapping-collection (JSON) of the mappings from one framework
    to another, whatever source they were imported from. Mappings whose relation was
    never stated are left out (and counted), not given one; with --reconciled, pairs
    whose sources conflict or allow several relations are."""
    from graphsvc.export import dumps, oscal_mapping_collection, reconciled_mapping_collection

    build = reconciled_mapping_collection if reconciled else oscal_mapping_collection
    with _store(ctx, read_only=True) as store:
        document, counts = build(store, source, target)
    output.write(dumps(document))
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()), err=True)


@export_group.command("crm")
@click.option("--provider", required=True,
              help="The provider's package: the leveraged system's control set (IRI or "
                   "id:controlset/...).")
@click.option("--baseline", required=True, help="Baseline: IRI or id:baseline/...")
@click.option("--as-of", "as_of", help="Day the covering attestations must be valid "
                                       "(YYYY-MM-DD, default today).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "oscal"]), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (required for xlsx; default: standard output).")
@click.pass_context
def export_crm(ctx: click.Context, provider: str, baseline: str, as_of: str | None, fmt: str,
               output: Path | None) -> None:
    """Write the customer responsibility matrix of a provider's package against a
    baseline: per control, provider / shared / customer, the customer's part and what the
    provider does in the package's words, the covering attestation and its validity.
    CSV and XLSX carry the columns of FedRAMP's CRM worksheet; oscal writes the
    leveraged system's export (provided and responsibility statements, their own UUIDs)
    that a leveraging SSP's inherited and satisfied statements point to."""
    from graphsvc.crm import crm, crm_csv, crm_oscal, crm_xlsx
    from graphsvc.export import dumps
    from graphsvc.questions import parse_day

    if fmt == "xlsx" and output is None:
        raise BadInput("an XLSX workbook needs a file: give -o FILE.xlsx", where="--output")
    day = parse_day(as_of, "--as-of") if as_of else None
    with _store(ctx, read_only=True) as store:
        if fmt == "oscal":
            body: str | bytes = dumps(crm_oscal(store, provider, baseline))
        else:
            rows = crm(store, provider, baseline, day)
            body = crm_csv(rows) if fmt == "csv" else crm_xlsx(rows, f"CRM {provider}")
    if output is None:
        click.echo(body, nl=False)
    elif isinstance(body, bytes):
        output.write_bytes(body)
    else:
        output.write_text(body)


@main.command("config")
@click.pass_context
def show_config(ctx: click.Context) -> None:
    """Print the configuration in force (defaults < GRAPHSVC_* variables < flags)."""
    click.echo(json.dumps(ctx.obj.describe(), indent=2, default=str))
