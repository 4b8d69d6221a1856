"""The HTML pages: search, what is loaded, frameworks as trees and controls as an auditor
reads them (under /id/, where our IRIs dereference), the coverage dashboard, the
crosswalk explorer, validation, each named question as a Datasette-like table, and the
SPARQL editor's configuration. Every page runs named questions and works without
JavaScript except the editor; scripts only add typeahead and live filters."""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for
from rdflib import RDF, RDFS, Graph, URIRef

from graphsvc import search as search_index
from graphsvc import whatif
from graphsvc.errors import BadInput
from graphsvc.identity import notation
from graphsvc.namespaces import GC, ID
from graphsvc.output import plain_rows
from graphsvc.questions import (
    Question,
    bind,
    expand,
    get_question,
    load_questions,
    parse_day,
)
from graphsvc.store.bindings import bind_values
from graphsvc.validation import baseline_framework
from graphsvc.validation_output import REPORT_FORMATS, as_json, sarif
from graphsvc.web import check_csrf, dashboards, services, tables
from graphsvc.web import control_page as control
from graphsvc.web.api import run_question, validate_request

blueprint = Blueprint("pages", __name__)
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld",
             "application/n-triples": "nt"}
_REPORTS: OrderedDict[str, Any] = OrderedDict()  # recent validation reports, for download
KEEP_REPORTS = 32
EXPORTS = ("json", "csv")
# question parameters whose few values are offered as a list (from the inventory)
LISTED_KINDS = {"Baseline": "baseline", "ControlSet": "control set",
                "Framework": "framework", "FrameworkRelease": "release"}
SEARCH_LIMIT, SEARCH_MORE = 10, 500

blueprint.add_app_template_filter(tables.local_link, "local")
blueprint.add_app_template_filter(notation, "notation")


# ------------------------------------------------------------------ shared look-ups


def rows_of(name: str, given: dict[str, str] | None = None) -> list[dict[str, str]]:
    """A named question's rows as plain text (empty values dropped from ``given``)."""
    return plain_rows(run_question(name, {k: v for k, v in (given or {}).items() if v})[0])


def inventory() -> list[dict[str, str]]:
    return rows_of("inventory")


def labels() -> dict[str, str]:
    """Labels of what the inventory lists (frameworks, releases, baselines, sets)."""
    return {r["thing"]: r["label"] for r in inventory() if r["label"]}


def label_of(iri: str, known: dict[str, str] | None = None) -> str:
    return (known if known is not None else labels()).get(iri) or tables.short_label(iri)


def default_of(question: str, param: str) -> str:
    """A question's default IRI for a parameter: the one place pages take defaults
    from, so that pages and questions agree (one default control set everywhere)."""
    raw = get_question(question).param(param).default or ""
    return expand(raw, f"queries/{question}.rq") if raw else ""


def today() -> str:
    return date.today().isoformat()


# ------------------------------------------------------------------ home and search


@blueprint.get("/")
def home() -> str:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in inventory():
        groups[row["kind"]].append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: tables.sort_key(r["label"] or r["thing"]))
    graphs = services().store.graphs()
    return render_template("home.html", groups=groups, graphs=len(graphs),
                           triples=sum(g.triples for g in graphs),
                           control_set=default_of("coverage", "controlSet"))


def _search_args() -> tuple[str, str | None, int, bool]:
    text = request.args.get("q", "").strip()[:200]
    framework = request.args.get("framework") or None
    limit = tables.bounded_int(request.args.get("limit"), SEARCH_LIMIT, 1, SEARCH_MORE)
    return text, framework, limit, request.args.get("prefix") == "1"


@blueprint.get("/search")
def search_page() -> str:
    text, framework, limit, prefix = _search_args()
    results = search_index.search(services().store, text, framework=framework, limit=limit,
                                  prefix=prefix) if text else None
    return render_template("search.html", q=text, search_q=text, framework=framework,
                           results=results,
                           frameworks=[r for r in inventory() if r["kind"] == "framework"],
                           more=SEARCH_MORE)


@blueprint.get("/search.json")
def search_json() -> Response:
    """The search as JSON (also what the search boxes' typeahead asks, with prefix=1)."""
    text, framework, limit, prefix = _search_args()
    if not text:
        raise BadInput("say what to search for: ?q=words or an identifier", where="q")
    results = search_index.search(services().store, text, framework=framework, limit=limit,
                                  prefix=prefix)
    return Response(json.dumps(results.as_json()), mimetype="application/json")


# ------------------------------------------------------------------ questions as tables


@blueprint.get("/questions")
def questions() -> str:
    return render_template("questions.html", questions=load_questions())


@blueprint.get("/questions/<name>")
def question(name: str) -> Any:
    """A question as a page: its form, the inputs it used, its answer as a table; with
    .json or .csv, the table's rows (filters and sort applied, every column)."""
    stem, _, fmt = name.rpartition(".")
    name, fmt = (stem, fmt) if fmt in EXPORTS and stem else (name, "")
    q = get_question(name)
    given = {p.name: request.args.get(p.name, "") for p in q.params}
    rows, columns, error = [], [], None
    try:
        answer, _ = run_question(name, {k: v for k, v in given.items() if v})
        rows, columns = plain_rows(answer), answer.variables
    except BadInput as exc:  # shown beside the form, with the status a client expects
        if fmt:
            raise
        error = str(exc)
    order = tables.order_columns(q.sparql, columns)
    if fmt:
        return _export(name, tables.ordered(tables.filtered(rows, request.args),
                                            request.args, order), columns, fmt)
    known = labels()
    table = tables.build(rows, columns, request.args, hidden={p.name for p in q.params},
                         order=order, label=lambda iri: label_of(iri, known))
    inputs = [(p, _input_shown(p.name, given[p.name], rows, known)) for p in q.params]
    return render_template("question.html", q=q, given=given, inputs=inputs, table=table,
                           error=error, options=_options(q), rows=rows,
                           export=_export_links(f"/questions/{name}", request.args),
                           api=url_for("api.question", name=name),
                           sparql=_bound_text(name, given)), 400 if error else 200


def _input_shown(name: str, given: str, rows: list[dict[str, str]],
                 known: dict[str, str]) -> str:
    """What the question was asked with: the value its answer echoes, else the input."""
    value = rows[0].get(name, "") if rows else ""
    value = value or given
    return label_of(value, known) if value.startswith(tables.OURS) else value


def _options(q: Question) -> dict[str, list[tuple[str, str]]]:
    """For parameters of a kind with few things, those things (value, label)."""
    kinds = {p.name: LISTED_KINDS.get((p.kind or "").rsplit("#", 1)[-1]) for p in q.params}
    if not any(kinds.values()):
        return {}
    things = inventory()
    return {name: [(r["thing"], r["label"] or r["thing"]) for r in things if r["kind"] == kind]
            for name, kind in kinds.items() if kind}


def _bound_text(name: str, given: dict[str, str]) -> str:
    """The question's SPARQL with this page's parameters written in: what ran."""
    try:
        terms = bind(get_question(name), {k: v for k, v in given.items() if v},
                     services().store)
    except BadInput:
        return get_question(name).sparql
    return bind_values(get_question(name).sparql, terms) if terms else get_question(name).sparql


def _export(name: str, rows: list[dict[str, str]], columns: list[str], fmt: str) -> Response:
    if fmt == "csv":
        return Response(tables.export_csv(rows, columns), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    return Response(json.dumps({"question": name, "columns": columns, "rows": rows}),
                    mimetype="application/json")


def _export_links(path: str, args: Mapping[str, str]) -> dict[str, str]:
    """JSON and CSV of a table: its rows with the same filters and sort, every page."""
    kept = tables.with_args(args, _page=None, _size=None)
    query = ("?" + urlencode(kept)) if kept else ""
    return {fmt: f"{path}.{fmt}{query}" for fmt in EXPORTS}


# ------------------------------------------------------------------ our IRIs


@blueprint.get("/id/<path:rest>")
def resource(rest: str) -> Any:
    """Our IRIs dereference: HTML for browsers, Turtle / JSON-LD / N-Triples by Accept."""
    iri = URIRef(str(ID) + rest)
    store = services().store
    described = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {"s": iri})
    assert isinstance(described, Graph)
    if not len(described):
        abort(404, description=f"nothing is known about <{iri}>")
    best = request.accept_mimetypes.best_match(["text/html", *RDF_TYPES]) or "text/html"
    if best in RDF_TYPES:
        return Response(described.serialize(format=RDF_TYPES[best]), mimetype=best)
    types = set(described.objects(iri, RDF.type))
    if GC.Framework in types:
        return framework_page(iri, described)
    if GC.ControlSet in types:
        return coverage_page(str(iri))
    if types & {GC.Control, GC.ControlEnhancement, GC.Requirement}:
        return control_page(iri, described)
    known = labels()
    triples = [(str(p), str(o), label_of(str(o), known))
               for p, o in sorted(described.predicate_objects(iri))]
    return render_template("resource.html", iri=iri, triples=triples,
                           label=described.value(iri, RDFS.label))


def _release_arg() -> dict[str, str]:
    """The release a page was asked to show (?release=IRI), as a question parameter."""
    release = request.args.get("release", "")
    return {"release": release} if release else {}


def framework_page(iri: URIRef, described: Graph) -> str:
    rows = rows_of("framework-tree", {"framework": str(iri), **_release_arg()})
    known = labels()
    tree, opened = dashboards.framework_tree(rows, request.args.get("q", ""),
                                             search_index.titles(services().store))
    baselines = sorted({b for r in rows for b in r["baselines"].split()},
                       key=lambda b: tables.sort_key(label_of(b, known)))
    releases = [r for r in inventory() if r["kind"] == "release"
                and r["detail"] == str(described.value(iri, GC.identifier))]
    shown = rows[0]["statedIn"] if rows else str(described.value(iri, GC.currentRelease) or "")
    return render_template(
        "framework.html", iri=iri, label=described.value(iri, RDFS.label), tree=tree,
        opened=opened,
        baselines=[(b, label_of(b, known)) for b in baselines], releases=releases,
        shown=shown, q=request.args.get("q", ""), total=len(rows),
        export=_export_links("/questions/framework-tree",
                             {"framework": str(iri), **_release_arg()}))


def control_page(iri: URIRef, described: Graph) -> str:
    release = _release_arg()
    sets = rows_of("control-sets")
    chosen = request.args.get("controlSet") or default_of("coverage", "controlSet")
    as_of = request.args.get("as_of") or today()
    answers = {name: rows_of(name, {param: str(iri), **extra})
               for name, param, extra in (
                   ("control-text", "control", release),
                   ("control-parameters", "control", release),
                   ("control-releases", "control", {}),
                   ("control-baselines", "control", {}),
                   ("control-implementations", "control", {}),
                   ("crosswalk", "requirement", {}),
                   ("coverage-of-control", "control", {"as_of": as_of}))}
    known = labels()
    status, error = control.status(iri, chosen, as_of, sets, rows_of)
    params = control.parameters(answers["control-parameters"], chosen, status)
    shown = next((r["statedIn"] for r in answers["control-text"] + answers["control-parameters"]
                  if r["statedIn"]), "")
    identifier = str(described.value(iri, GC.identifier) or tables.short_label(str(iri)))
    return render_template(
        "control.html", iri=iri, notation=notation(identifier),
        title=described.value(iri, GC.title), sections=control.sections(
            answers["control-text"], params), params=params,
        releases=answers["control-releases"], shown=shown,
        baselines=[(b["baseline"], label_of(b["baseline"], known))
                   for b in answers["control-baselines"]],
        who=answers["control-implementations"],
        crosswalk=control.crosswalk_groups(answers["crosswalk"], known),
        attestations=answers["coverage-of-control"], sets=sets, chosen=chosen, as_of=as_of,
        status=status, error=error, breadcrumb=control.breadcrumb(iri, described, known))


# ------------------------------------------------------------------ crosswalks


@blueprint.get("/crosswalks")
def crosswalks() -> str:
    frameworks = [r for r in inventory() if r["kind"] == "framework"]
    pairs = rows_of("crosswalk-frameworks")
    source, target = request.args.get("source", ""), request.args.get("target", "")
    if not source and not target and pairs:  # open on the pair with the most mappings
        source, target = pairs[0]["source"], pairs[0]["target"]
    view, error = None, None
    if source and target:
        try:
            view = dashboards.crosswalk_view(source, target, request.args, rows_of)
        except BadInput as exc:
            error = str(exc)
    return render_template("crosswalks.html", frameworks=frameworks, pairs=pairs,
                           source=source, target=target, view=view, error=error,
                           relations=control.RELATIONS), 400 if error else 200


@blueprint.get("/crosswalks/agreement")
def crosswalk_agreement() -> Any:
    """Beside the heatmap: where the loaded sources agree on a pair and where they
    conflict (conflicts first), per family and pair by pair."""
    frameworks = [r for r in inventory() if r["kind"] == "framework"]
    given = {k: request.args.get(k, "") for k in ("source", "target")}
    pairs = rows_of("crosswalk-frameworks")
    if not any(given.values()) and pairs:  # as the heatmap: the pair with most mappings
        given = {"source": pairs[0]["source"], "target": pairs[0]["target"]}
    family = request.args.get("family", "")
    asked = {**given, **({"family": family} if family else {})}
    view, error = None, None
    try:
        if pairs or any(given.values()):  # (with none loaded, the page says so instead)
            view = dashboards.agreement_view(rows_of("crosswalk-agreement", asked))
    except BadInput as exc:
        error = str(exc)
    return render_template(
        "agreement.html", frameworks=frameworks, given=given, family=family, view=view,
        error=error, loaded=bool(pairs),
        links=_export_links("/questions/crosswalk-agreement", asked)), 400 if error else 200


# ------------------------------------------------------------------ coverage


@blueprint.get("/coverage")
def coverage() -> Any:
    return coverage_page(request.args.get("controlSet", ""))


def coverage_page(control_set: str) -> Any:
    sets = rows_of("control-sets")
    control_set = control_set or default_of("coverage", "controlSet")
    target = next((s["baseline"] for s in sets if s["controlSet"] == control_set), "")
    given = {"controlSet": control_set,
             "baseline": request.args.get("baseline") or target
             or default_of("coverage", "baseline"),
             "as_of": request.args.get("as_of") or today()}
    family = request.args.get("family", "")
    view, error = None, None
    try:
        view = dashboards.coverage_view(rows_of("control-coverage", given), family)
    except BadInput as exc:
        error = str(exc)
    known = labels()
    baselines = [r for r in inventory() if r["kind"] == "baseline"]
    links = {"coverage": _export_links("/questions/coverage", given),
             "controls": _export_links("/questions/control-coverage", given),
             "family": _export_links("/questions/control-coverage", {**given, "family": family}),
             "crm": "/api/crm", "crm_args": urlencode({
                 "provider": given["controlSet"], "baseline": given["baseline"],
                 "as_of": given["as_of"]})}
    return render_template(
        "coverage.html", sets=sets, baselines=baselines, given=given, family=family,
        view=view, error=error, links=links, target=target,
        set_label=label_of(control_set, known), baseline_label=label_of(given["baseline"],
                                                                        known),
        today=today()), 400 if error else 200


# ------------------------------------------------------------------ what-if

# the scenario form's fields -> a change (graphsvc.whatif.parse_change)
SCENARIO_FIELDS = ("lapse", "lapse_on", "drop_program", "service_out", "service_program",
                   "move_to")


def scenario_changes(args: Mapping[str, str], raw: list[str]) -> list[str]:
    """The changes a what-if page asks for: its form's fields, and ``change`` as the API
    takes them (a link from the CLI or another page)."""
    out = list(raw)
    if args.get("lapse"):
        out.append(f"lapse:{args['lapse']}" + (f"@{args['lapse_on']}"
                                                if args.get("lapse_on") else ""))
    if args.get("drop_program"):
        out.append(f"drop-program:{args['drop_program']}")
    if args.get("service_out"):
        if not args.get("service_program"):
            raise BadInput("say which programme's scope the service leaves",
                           where="service_program")
        out.append(f"service-out:{args['service_out']}@{args['service_program']}")
    if args.get("move_to"):
        out.append(f"baseline:{args['move_to']}")
    return out


@blueprint.get("/what-if")
def what_if_page() -> Any:
    sets = rows_of("control-sets")
    control_set = request.args.get("controlSet") or default_of("coverage", "controlSet")
    target = next((s["baseline"] for s in sets if s["controlSet"] == control_set), "")
    baseline = request.args.get("baseline") or target or default_of("coverage", "baseline")
    as_of = request.args.get("as_of") or today()
    result, error, changes, options = None, None, [], {}
    try:
        options = whatif.scenario_options(services().store, control_set)
        changes = scenario_changes(request.args, request.args.getlist("change"))
        if changes:
            result = whatif.what_if(services().store, control_set, baseline,
                                    parse_day(as_of, "as_of"),
                                    [whatif.parse_change(c) for c in changes])
    except BadInput as exc:
        error = str(exc)
    known = labels()
    baselines = [r for r in inventory() if r["kind"] == "baseline"]
    api_link = "/api/what-if?" + urlencode(
        [("controlSet", control_set), ("baseline", baseline), ("as_of", as_of)]
        + [("change", c) for c in changes])
    return render_template(
        "what-if.html", sets=sets, baselines=baselines, control_set=control_set,
        baseline=baseline, as_of=as_of, target=target, options=options, args=request.args,
        baseline_choices=[(b["thing"], b["label"] or b["thing"]) for b in baselines],
        result=result, error=error, api_link=api_link, today=today(),
        set_label=label_of(control_set, known), baseline_label=label_of(baseline, known)
    ), 400 if error else 200


# ------------------------------------------------------------------ FedRAMP 20x

@blueprint.get("/ksi")
def ksi_page() -> Any:
    """FedRAMP 20x Key Security Indicators: what a control set's related controls give
    each indicator (ksi-coverage), and which the provider's checks could validate
    automatically (ksi-automation) against FedRAMP's 70% goal."""
    sets = rows_of("control-sets")
    given = {"controlSet": request.args.get("controlSet")
             or default_of("ksi-coverage", "controlSet"),
             "as_of": request.args.get("as_of") or today()}
    view, error = None, None
    try:
        view = dashboards.ksi_view(rows_of("ksi-coverage", given), rows_of("ksi-automation"))
    except BadInput as exc:
        error = str(exc)
    links = {"coverage": _export_links("/questions/ksi-coverage", given),
             "automation": _export_links("/questions/ksi-automation", {})}
    return render_template("ksi.html", sets=sets, given=given, view=view, error=error,
                           links=links, today=today(),
                           set_label=label_of(given["controlSet"])), 400 if error else 200


# ------------------------------------------------------------------ validation


@blueprint.route("/validate", methods=["GET", "POST"])
def validate_page() -> Any:
    baselines = [r for r in inventory() if r["kind"] == "baseline"]
    report, error, key, file_name = None, None, None, ""
    if request.method == "POST":
        upload = request.files.get("file")
        file_name = upload.filename if upload is not None else ""
        try:
            check_csrf()
            report = validate_request()
            key = secrets.token_urlsafe(12)
            _REPORTS[key] = report
            while len(_REPORTS) > KEEP_REPORTS:
                _REPORTS.popitem(last=False)
        except BadInput as exc:
            error = str(exc)
    view = None
    if report is not None:
        framework = baseline_framework(services().store, report.baseline) or ""
        view = dashboards.validation_view(report, framework)
    return render_template(
        "validate.html", baselines=baselines, report=report, view=view, error=error, key=key,
        formats=REPORT_FORMATS, file_name=file_name,
        chosen=request.form.get("baseline", ""), as_of=request.form.get("as_of", ""),
        baseline_label=label_of(str(report.baseline)) if report else ""
    ), 400 if error else 200


@blueprint.get("/validate/<key>.<fmt>")
def validate_download(key: str, fmt: str) -> Response:
    report = _REPORTS.get(key)
    if report is None or fmt not in ("json", "sarif", "csv"):
        abort(404, description="this report is no longer kept; validate the file again")
    if fmt == "csv":
        return Response(dashboards.validation_csv(report), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=report.csv"})
    body = as_json(report) if fmt == "json" else sarif(report)
    return Response(body, mimetype="application/json" if fmt == "json" else
                    "application/sarif+json",
                    headers={"Content-Disposition": f"attachment; filename=report.{fmt}"})


# ------------------------------------------------------------------ the SPARQL editor


@blueprint.app_template_global()
def editor_config() -> str:
    """What the SPARQL editor needs, as JSON in its page: our prefixes, the vocabulary
    for autocompletion (no remote look-ups) and the named questions as examples, each
    with its default parameters written in so that it runs as it is."""
    text = json.dumps(dashboards.editor_config(services().store, rows_of))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
