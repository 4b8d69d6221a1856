"""``/sparql``: the SPARQL 1.1 Protocol, read-only and bounded.

Queries are checked before anything runs (length, tokens, no update, no SERVICE, FROM
only with graphs of the store), then run in a query process that is killed at the time
limit and bounded in memory; answers are cut at the row or the byte limit (headers
``X-Graphsvc-Truncated: true`` and ``X-Graphsvc-Truncated-By: rows|bytes``). When the
queue in front of the query processes is full the answer is 503 with ``Retry-After``.
CORS is allowed here, and only here, without credentials.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template, request
from rdflib import Graph

from graphsvc.errors import BadInput, TooLarge
from graphsvc.output import delimited, sparql_json, sparql_xml, tsv
from graphsvc.store import Rows
from graphsvc.store.guard import check_query
from graphsvc.web import services
from graphsvc.web.worker import QueryBusy

blueprint = Blueprint("sparql", __name__)

ROW_TYPES = {
    "application/sparql-results+json": sparql_json,
    "application/sparql-results+xml": sparql_xml,
    "text/csv": delimited,
    "text/tab-separated-values": tsv,
    "application/json": sparql_json,
}
GRAPH_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt",
               "application/ld+json": "json-ld"}
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Accept, Content-Type", "Access-Control-Max-Age": "600"}


@blueprint.after_request
def _cors(response: Response) -> Response:
    response.headers.update(CORS)
    return response


@blueprint.errorhandler(QueryBusy)
def _busy(exc: QueryBusy) -> Response:
    response = jsonify(error=exc.message, status=exc.http_status, where=exc.where)
    response.status_code = exc.http_status
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204)
    query, default_graphs, named_graphs = _request_query()
    if query is None:
        offered = ["text/html", "text/turtle"]  # the editor for browsers
        if request.accept_mimetypes.best_match(offered) == "text/html":
            return Response(render_template("sparql.html"))
        return Response(service_description(), mimetype="text/turtle")
    config = services().config
    if len(query) > config.max_query_chars:
        raise TooLarge(f"the query has {len(query)} characters; the limit is "
                       f"{config.max_query_chars}", where="query")
    named = check_query(query).datasets | set(default_graphs) | set(named_graphs)
    known = {g.iri for g in services().store.graphs()} if named else set()
    for iri in sorted(named):
        if iri not in known:
            raise BadInput(f"<{iri}> is not a graph of this store; FROM and graph "
                           "parameters may only name its graphs (nothing is fetched)",
                           where="query dataset")
    if default_graphs or named_graphs:
        raise BadInput("default-graph-uri and named-graph-uri are not supported; use "
                       "FROM / FROM NAMED in the query", where="query dataset")
    answer = services().pool.run(query)  # the query process checks the same text again
    headers = ({"X-Graphsvc-Truncated": "true", "X-Graphsvc-Truncated-By": answer.truncated}
               if answer.truncated else {})
    if answer.kind == "graph":
        mimetype = request.accept_mimetypes.best_match(list(GRAPH_TYPES)) or "text/turtle"
        graph = Graph()
        for t in answer.rows:
            graph.add(t)
        body = graph.serialize(format=GRAPH_TYPES[mimetype])
        return Response(body, mimetype=mimetype, headers=headers)
    mimetype = request.accept_mimetypes.best_match(list(ROW_TYPES)) or (
        "application/sparql-results+json")
    if answer.kind == "boolean":
        if mimetype.endswith("xml"):
            return Response(sparql_xml(answer.boolean), mimetype=mimetype)
        return Response(json.dumps({"head": {}, "boolean": answer.boolean}),
                        mimetype="application/sparql-results+json")
    rows = Rows(answer.variables, answer.rows)
    return Response(ROW_TYPES[mimetype](rows), mimetype=mimetype, headers=headers)


def _request_query() -> tuple[str | None, list[str], list[str]]:
    """The query and dataset parameters of a GET, a form POST or a direct POST."""
    if request.method == "GET":
        args = request.args
    elif request.mimetype == "application/x-www-form-urlencoded":
        args = request.form
    elif request.mimetype == "application/sparql-query":
        return (request.get_data(as_text=True), request.args.getlist("default-graph-uri"),
                request.args.getlist("named-graph-uri"))
    elif request.mimetype == "application/sparql-update" or "update" in request.form:
        raise BadInput("updates are not accepted: this endpoint is read-only", where="request")
    else:
        raise BadInput(f"unsupported content type {request.mimetype!r}: POST a form "
                       "(application/x-www-form-urlencoded) or application/sparql-query",
                       where="Content-Type")
    if "update" in args:
        raise BadInput("updates are not accepted: this endpoint is read-only", where="update")
    return (args.get("query"), args.getlist("default-graph-uri"),
            args.getlist("named-graph-uri"))


def service_description() -> str:
    url = request.base_url
    formats = " ".join(f"<http://www.w3.org/ns/formats/{f}>" for f in (
        "SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
        "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD"))
    return f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
[] a sd:Service ;
   sd:endpoint <{url}> ;
   sd:supportedLanguage sd:SPARQL11Query ;
   sd:feature sd:UnionDefaultGraph ;
   sd:resultFormat {formats.replace(' ', ' , ')} .
"""
