"""The HTML pages: what is loaded, frameworks and controls (under /id/, where our IRIs
dereference), the crosswalk explorer, the coverage dashboard, validation, each named
question as a page, and the SPARQL editor. Every page runs named questions; none needs
JavaScript except the editor."""

from __future__ import annotations

import secrets
from collections import OrderedDict, defaultdict
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from rdflib import RDF, RDFS, Graph, URIRef

from graphsvc.errors import BadInput
from graphsvc.namespaces import GC, ID
from graphsvc.output import plain_rows
from graphsvc.questions import get_question, load_questions
from graphsvc.validation_output import REPORT_FORMATS, as_json, sarif
from graphsvc.web import check_csrf, services
from graphsvc.web.api import run_question, validate_request

blueprint = Blueprint("pages", __name__)
RDF_TYPES = {"text/turtle": "turtle", "application/ld+json": "json-ld",
             "application/n-triples": "nt"}
_REPORTS: OrderedDict[str, Any] = OrderedDict()  # recent validation reports, for download
KEEP_REPORTS = 32


@blueprint.app_template_filter("local")
def local_link(iri: str) -> str:
    """Our IRIs link to their page here; others are shown, not followed."""
    return "/id/" + iri[len(str(ID)):] if iri.startswith(str(ID)) else ""


@blueprint.get("/")
def home() -> str:
    rows, _ = run_question("inventory", {})
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in plain_rows(rows):
        groups[row["kind"]].append(row)
    graphs = services().store.graphs()
    return render_template("home.html", groups=groups, graphs=len(graphs),
                           triples=sum(g.triples for g in graphs))


@blueprint.get("/questions")
def questions() -> str:
    return render_template("questions.html", questions=load_questions())


@blueprint.get("/questions/<name>")
def question(name: str) -> str:
    q = get_question(name)
    given = {p.name: request.args.get(p.name, p.default or "") for p in q.params}
    rows, error = None, None
    try:
        rows = plain_rows(run_question(name, {k: v for k, v in given.items() if v})[0])
    except BadInput as exc:  # shown beside the form, with the status a client expects
        error = str(exc)
    query_string = request.query_string.decode()
    status = 400 if error else 200
    return render_template("question.html", q=q, given=given, rows=rows, error=error,
                           json_url=url_for("api.question", name=name) + "?" + query_string,
                           csv_url=url_for("api.question", name=name + ".csv")
                           + "?" + query_string), status


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
    return render_template("resource.html", iri=iri, triples=_triples(described, iri))


def _triples(graph: Graph, iri: URIRef) -> list[tuple[str, str]]:
    return sorted((str(p), str(o)) for p, o in graph.predicate_objects(iri))


def _release_arg() -> dict[str, str]:
    """The release a page was asked to show (?release=IRI), as a question parameter."""
    release = request.args.get("release", "")
    return {"release": release} if release else {}


def framework_page(iri: URIRef, described: Graph) -> str:
    rows, _ = run_question("framework-controls", {"framework": str(iri), **_release_arg()})
    families: dict[str, list[dict[str, str]]] = defaultdict(list)
    titles: dict[str, str] = {}
    for row in plain_rows(rows):
        family = row["family"] or "(none)"
        families[family].append(row)
        titles[family] = row["familyTitle"]
    releases = [r for r in plain_rows(run_question("inventory", {})[0])
                if r["kind"] == "release" and r["detail"] == str(described.value(
                    iri, GC.identifier))]
    shown = rows.rows[0][1] if rows.rows else described.value(iri, GC.currentRelease)
    return render_template("framework.html", iri=iri, families=families, titles=titles,
                           label=described.value(iri, RDFS.label), releases=releases,
                           shown=str(shown or ""))


def control_page(iri: URIRef, described: Graph) -> str:
    release = _release_arg()
    answers = {name: plain_rows(run_question(name, {param: str(iri), **extra})[0])
               for name, param, extra in (
                   ("control-text", "control", release),
                   ("control-parameters", "control", release),
                   ("control-releases", "control", {}),
                   ("control-baselines", "control", {}),
                   ("control-implementations", "control", {}),
                   ("crosswalk", "requirement", {}),
                   ("coverage-of-control", "control", {}))}
    params: dict[str, dict[str, Any]] = {}
    for row in answers["control-parameters"]:  # one entry per parameter, its settings under it
        entry = params.setdefault(row["param"], {**row, "settings": []})
        if row["setBy"]:
            entry["settings"].append(row)
    shown = next((r["statedIn"] for r in answers["control-text"] + answers["control-parameters"]
                  if r["statedIn"]), "")
    return render_template(
        "control.html", iri=iri, identifier=described.value(iri, GC.identifier),
        title=described.value(iri, GC.title), prose=answers["control-text"],
        params=list(params.values()), releases=answers["control-releases"], shown=shown,
        baselines=answers["control-baselines"], who=answers["control-implementations"],
        crosswalk=answers["crosswalk"], attestations=answers["coverage-of-control"])


@blueprint.get("/crosswalks")
def crosswalks() -> str:
    frameworks = [r for r in plain_rows(run_question("inventory", {})[0])
                  if r["kind"] == "framework"]
    source, target = request.args.get("source", ""), request.args.get("target", "")
    cells, families, relations, pairs, error = {}, ([], []), [], None, None
    if source and target:
        try:
            rows = plain_rows(run_question("crosswalk-matrix",
                                      {"source": source, "target": target})[0])
            for r in rows:
                key = (r["sourceFamily"], r["targetFamily"])
                cells.setdefault(key, {})[r["relation"]] = int(r["mappings"])
            families = (sorted({k[0] for k in cells}), sorted({k[1] for k in cells}))
            relations = sorted({r["relation"] for r in rows})
            if request.args.get("sourceFamily") and request.args.get("targetFamily"):
                pairs = plain_rows(run_question("crosswalk-pairs", {
                    "source": source, "target": target,
                    "sourceFamily": request.args["sourceFamily"],
                    "targetFamily": request.args["targetFamily"]})[0])
        except BadInput as exc:
            error = str(exc)
    peak = max((sum(c.values()) for c in cells.values()), default=1)
    return render_template("crosswalks.html", frameworks=frameworks, source=source,
                           target=target, cells=cells, families=families,
                           relations=relations, pairs=pairs, peak=peak, error=error)


@blueprint.get("/coverage")
def coverage() -> str:
    return coverage_page(request.args.get("controlSet", ""))


def coverage_page(control_set: str) -> Any:
    inventory = plain_rows(run_question("inventory", {})[0])
    sets = [r for r in inventory if r["kind"] == "control set"]
    baselines = [r for r in inventory if r["kind"] == "baseline"]
    control_set = control_set or (sets[0]["thing"] if sets else "")
    given = {"controlSet": control_set, "baseline": request.args.get("baseline", ""),
             "as_of": request.args.get("as_of", "")}
    rows, matrix, error = [], [], None
    try:
        rows = plain_rows(run_question("coverage", {k: v for k, v in given.items() if v})[0])
        matrix = plain_rows(run_question("responsibility-matrix", {"controlSet": control_set})[0])
    except BadInput as exc:
        error = str(exc)
    return render_template("coverage.html", sets=sets, baselines=baselines, given=given,
                           rows=rows, matrix=matrix, error=error), 400 if error else 200


@blueprint.route("/validate", methods=["GET", "POST"])
def validate_page() -> Any:
    baselines = [r for r in plain_rows(run_question("inventory", {})[0]) if r["kind"] == "baseline"]
    report, error, key = None, None, None
    if request.method == "POST":
        try:
            check_csrf()
            report = validate_request()
            key = secrets.token_urlsafe(12)
            _REPORTS[key] = report
            while len(_REPORTS) > KEEP_REPORTS:
                _REPORTS.popitem(last=False)
        except BadInput as exc:
            error = str(exc)
    groups: dict[str, list[Any]] = defaultdict(list)
    for r in report.results if report else []:
        groups[r.family.upper() or "(control set)"].append(r)
    return render_template("validate.html", baselines=baselines, report=report,
                           groups=dict(sorted(groups.items())), error=error, key=key,
                           formats=REPORT_FORMATS), 400 if error else 200


@blueprint.get("/validate/<key>.<fmt>")
def validate_download(key: str, fmt: str) -> Response:
    report = _REPORTS.get(key)
    if report is None or fmt not in ("json", "sarif"):
        abort(404, description="this report is no longer kept; validate the file again")
    body = as_json(report) if fmt == "json" else sarif(report)
    return Response(body, mimetype="application/json" if fmt == "json" else
                    "application/sarif+json",
                    headers={"Content-Disposition": f"attachment; filename=report.{fmt}"})
