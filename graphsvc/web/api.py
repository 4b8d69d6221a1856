"""``/api``: the named questions (JSON or CSV), their OpenAPI 3 document, validation
of an uploaded control set; with a bearer token, loading one into the store and dropping
graphs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, url_for

from graphsvc.crm import CRM_TYPES, crm, crm_csv, crm_oscal, crm_xlsx
from graphsvc.errors import BadInput, NotFound
from graphsvc.importers.safety import InputLimits
from graphsvc.migration import migrate, oscal_ssp, report_rows
from graphsvc.output import plain_rows, spreadsheet_csv
from graphsvc.questions import ask, describe, get_question, load_questions, parse_day
from graphsvc.store import Rows, check_iri
from graphsvc.validation import Report, control_set_of, read_control_set, validate
from graphsvc.validation_output import as_json, sarif
from graphsvc.web import services
from graphsvc.web.auth import authorized_write
from graphsvc.web.openapi import document
from graphsvc.whatif import as_json as whatif_json
from graphsvc.whatif import parse_change, what_if

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/questions")
def questions() -> Response:
    return jsonify([{**describe(q), "url": url_for("api.question", name=name)}
                    for name, q in load_questions().items()])


@blueprint.get("/questions/<name>")
def question(name: str) -> Response:
    """The answer as JSON, or as CSV for spreadsheets (NAME.csv or ``Accept: text/csv``)."""
    csv = name.endswith(".csv") or (
        request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv")
    name = name.removesuffix(".csv")
    rows, bound = run_question(name, request.args.to_dict())
    if csv:
        return Response(spreadsheet_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    return jsonify(question=name, parameters=bound, columns=rows.variables,
                   rows=plain_rows(rows))


def run_question(name: str, given: dict[str, str]) -> tuple[Rows, dict[str, str]]:
    """A named question with the caller's parameters (checked, bound as terms)."""
    question_ = get_question(name)
    result = ask(services().store, name, given)
    if not isinstance(result, Rows):
        raise BadInput(f"question {name} does not return rows")
    known = {p.name for p in question_.params}
    return result, {k: v for k, v in given.items() if k in known}


@blueprint.get("/what-if")
def what_if_route() -> Response:
    """Coverage before and after a scenario (graphsvc what-if); nothing is written."""
    args = request.args
    if not args.get("controlSet"):
        raise BadInput("give controlSet", where="controlSet")
    changes = [parse_change(c) for c in args.getlist("change")]
    if not changes:
        raise BadInput("give at least one change", where="change")
    as_of = args.get("as_of")
    day = parse_day(as_of, "as_of") if as_of else date.today()
    return jsonify(whatif_json(what_if(services().store, args["controlSet"],
                                       args.get("baseline") or None, day, changes)))


@blueprint.get("/crm.<fmt>")
def crm_route(fmt: str) -> Response:
    """The customer responsibility matrix of a provider's package against a baseline
    (graphsvc export crm): CSV and XLSX with the FedRAMP CRM worksheet's columns, or
    JSON, the leveraged system's OSCAL export."""
    if fmt not in CRM_TYPES:
        raise NotFound(f"the matrix comes as {', '.join('.' + f for f in CRM_TYPES)}, not "
                       f".{fmt}", where="path")
    args = request.args
    missing = [f for f in ("provider", "baseline") if not args.get(f)]
    if missing:
        raise BadInput(f"give {' and '.join(missing)}", where=missing[0])
    provider, baseline = args["provider"], args["baseline"]
    store = services().store
    if fmt == "json":
        return jsonify(crm_oscal(store, provider, baseline))
    as_of = args.get("as_of")
    rows = crm(store, provider, baseline, parse_day(as_of, "as_of") if as_of else None)
    body: str | bytes = crm_csv(rows) if fmt == "csv" else crm_xlsx(rows, "CRM")
    return Response(body, mimetype=CRM_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=crm.{fmt}"})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(load_questions()))


@blueprint.post("/validate")
def validate_upload() -> Response:
    fmt = request.form.get("format") or "json"
    if fmt not in ("json", "sarif"):
        raise BadInput(f"format is json or sarif, not {fmt!r}", where="format")
    report = validate_request()
    if fmt == "sarif":
        return Response(sarif(report), mimetype="application/sarif+json")
    return Response(as_json(report), mimetype="application/json")


def validate_request() -> Report:
    """The upload of this request validated (shared with the validation page)."""
    name, data = uploaded_file()
    as_of = request.form.get("as_of")
    day = parse_day(as_of, "as_of") if as_of else None
    return validate(services().store, path=Path(name), data=data,
                    baseline=request.form.get("baseline") or None,
                    framework=request.form.get("framework") or None, as_of=day,
                    limits=InputLimits.of(services().config))


def uploaded_file() -> tuple[str, bytes]:
    """The name (without folders) and bytes of the form field ``file``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadInput("attach the control set as the form field 'file'", where="file")
    return Path(upload.filename).name, upload.read()


@blueprint.post("/control-sets")
def load_control_set() -> Response:
    """Load (replace) a control set's graph; needs a bearer token with scope ``load``."""
    with authorized_write("load", services().tokens,
                          request.headers.get("Authorization")) as write:
        name, data = uploaded_file()
        store = services().store
        triples = read_control_set(Path(name), data, store,  # checks it is a control set
                                   limits=InputLimits.of(services().config))
        control_set = control_set_of(triples, name)
        graph = f"https://w3id.org/graphsvc/graph/upload/{control_set.rsplit('/', 1)[-1]}"
        write.graphs = [graph]
        services().writes.commit({graph: list(triples)})
    return jsonify(graph=graph, controlSet=str(control_set), triples=len(triples)), 201


@blueprint.post("/migrations")
def migrate_control_set() -> Response:
    """Carry a control set to another revision or release (graphsvc migrate); writes the
    new control set unless ``dry_run``, so it needs a token with scope ``load``."""
    with authorized_write("load", services().tokens,
                          request.headers.get("Authorization")) as write:
        form = request.form
        missing = [f for f in ("controlSet", "to") if not form.get(f)]
        if missing:
            raise BadInput(f"give {' and '.join(missing)}", where=missing[0])
        store = services().store
        result = migrate(store, form["controlSet"], form["to"],
                         release=form.get("release") or None,
                         baseline=form.get("baseline") or None)
        dry_run = form.get("dry_run") == "true"
        write.graphs = [] if dry_run else [result.graph]
        if not dry_run:
            services().writes.commit({result.graph: result.triples})
    return jsonify(controlSet=str(result.control_set),
                   newControlSet=str(result.new_control_set),
                   graph=None if dry_run else result.graph, counts=result.counts(),
                   steps=plain_rows(report_rows(result)), ssp=oscal_ssp(result))


@blueprint.delete("/graphs")
def drop_graphs() -> Response:
    """Drop the named graphs ``?graph=IRI`` (repeatable) in one transaction; needs a bearer
    token with scope ``drop``. If any is unknown, nothing is dropped."""
    with authorized_write("drop", services().tokens,
                          request.headers.get("Authorization")) as write:
        graphs = list(dict.fromkeys(str(check_iri(g, "graph"))
                                    for g in request.args.getlist("graph")))
        if not graphs:
            raise BadInput("name the graphs to drop: ?graph=IRI (repeatable)", where="graph")
        write.graphs = graphs
        services().writes.drop(graphs)  # all or nothing; an unknown graph is a 404
    return jsonify(dropped=graphs)
