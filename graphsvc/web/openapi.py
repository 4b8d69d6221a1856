"""The OpenAPI 3 document of ``/api`` and ``/healthz``, built from the questions' headers.

A contract both ways: a request the document calls valid is never refused for a reason
it does not state, and one it calls invalid is refused (the contract test fuzzes both).
So a parameter's schema is what :mod:`graphsvc.questions` accepts, not merely its type.
"""

from __future__ import annotations

from typing import Any

from graphsvc import __version__
from graphsvc.crm import CRM_TYPES
from graphsvc.questions import Param, Question

MAX_VALUE_CHARS = 2000  # questions refuse longer values
MAX_DIGITS = 999_999_999  # questions take at most nine digits
# RFC 3987, what the engine parses; a prefixed name (id:fw/..., gc:...) is one too.
IRI = {"type": "string", "format": "iri"}
DAY = {"type": "string", "format": "date"}
SLUG = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$"}
_NAME = r"(https?://|id:)?[A-Za-z0-9][A-Za-z0-9/._-]*"
_DATE = r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
CHANGE = {"type": "string", "pattern": (
    f"^(lapse:{_NAME}(@{_DATE})?|renew:{_NAME}@{_DATE}|drop-program:{_NAME}"
    f"|service-out:{_NAME}@{_NAME}|baseline:{_NAME})$")}


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def document(questions: dict[str, Question]) -> dict[str, Any]:
    """The whole document: every question twice (JSON and .csv), then the fixed routes."""
    paths: dict[str, Any] = {"/api/questions": {"get": LIST_QUESTIONS}}
    for name, question in questions.items():
        paths[f"/api/questions/{name}"] = {"get": question_operation(question, csv=False)}
        paths[f"/api/questions/{name}.csv"] = {"get": question_operation(question, csv=True)}
    paths.update(FIXED_PATHS)
    return {
        "openapi": "3.0.3",
        "info": {"title": "graphsvc", "version": __version__, "description": DESCRIPTION},
        "paths": paths,
        "components": COMPONENTS,
    }


DESCRIPTION = (
    "Compliance questions over one knowledge graph, validation of control sets, and "
    "(with a bearer token) loading control sets and dropping graphs. Every error is the "
    "Error object with the status. A path answers a method it does not declare with 405, "
    "an Allow header and the Error object. /sparql is the SPARQL 1.1 Protocol endpoint "
    "(its own standard, not described here)."
)


def question_operation(question: Question, *, csv: bool) -> dict[str, Any]:
    name = question.name
    answer = {"text/csv": {"schema": {"type": "string"}}}
    if not csv:
        answer = {"application/json": {"schema": ref("schemas", "Answer")}, **answer}
    return {
        "operationId": f"question_{name.replace('-', '_')}" + ("_csv" if csv else ""),
        "summary": question.summary + (" (CSV for spreadsheets)" if csv else ""),
        "description": question.description + (
            "\n\nCells a spreadsheet would run as formulas start with a single quote."
            if csv else "\n\nCSV instead with Accept: text/csv."),
        "tags": list(question.tags) or ["questions"],
        "parameters": [parameter(p) for p in question.params],
        "responses": {
            "200": {"description": "The answer", "content": answer},
            **errors(400, 404, 503),
        },
    }


def parameter(p: Param) -> dict[str, Any]:
    """Left out, a parameter takes its default (so only one without a default is
    required); empty, it takes its default too, unless it is required (then a 400)."""
    described = {"name": p.name, "in": "query", "required": p.required and p.default is None,
                 "description": describe_parameter(p), "schema": value_schema(p)}
    if not p.required:
        described["allowEmptyValue"] = True
    return described


def describe_parameter(p: Param) -> str:
    text = p.description or f"A {p.type} value."
    if p.kind:
        text += (f" Names a {p.kind.rsplit('#', 1)[-1]} in the store, as an IRI (prefixed "
                 "names id:... and gc:... are IRIs too); one that is not there is a 404.")
    if p.default is not None:
        text += f" Default: {p.default}"
        text += " (a 404 when that is not loaded)." if p.kind else "."
    if p.required and p.default is not None:
        text += " Cannot be empty."
    return text


def value_schema(p: Param) -> dict[str, Any]:
    if p.type == "integer":
        schema: dict[str, Any] = {
            "type": "integer",
            "minimum": -MAX_DIGITS if p.minimum is None else p.minimum,
            "maximum": MAX_DIGITS if p.maximum is None else p.maximum}
    elif p.type == "date":
        schema = {"anyOf": [DAY, {"type": "string", "enum": ["today"]}]}
    elif p.type == "enum":
        schema = {"type": "string", "enum": list(p.values)}
    elif p.type == "iri":
        schema = {**IRI, "maxLength": MAX_VALUE_CHARS}
    else:
        schema = {"type": "string", "maxLength": MAX_VALUE_CHARS}
    if p.default is not None:
        schema["default"] = int(p.default) if p.type == "integer" else p.default
    return schema


ERRORS = {400: "BadInput", 401: "Unauthorized", 403: "Forbidden", 404: "NotInStore",
          413: "TooLarge", 503: "Unavailable"}


def errors(*statuses: int) -> dict[str, Any]:
    """The shared error responses of these statuses (components/responses)."""
    return {str(s): ref("responses", ERRORS[s]) for s in statuses}


def error_response(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, **extra,
            "content": {"application/json": {"schema": ref("schemas", "Error")}}}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def upload_form(**fields: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "OSCAL SSP (.json, .yaml, .xml) or RDF "
                                               "(.ttl, .jsonld, .nt, .nq, .trig, .rdf)"},
                       **fields}}}}}


STRING_OBJECT = {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
STRINGS = {"type": "array", "items": {"type": "string"}}

LIST_QUESTIONS = {
    "operationId": "questions", "summary": "The named questions and their parameters",
    "tags": ["questions"],
    "responses": {"200": json_body(
        {"type": "array", "items": ref("schemas", "QuestionInfo")}, "The questions")},
}

FIXED_PATHS: dict[str, Any] = {
    "/api/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document", "tags": ["meta"],
        "responses": {"200": json_body({"type": "object"}, "OpenAPI 3.0")}}},
    "/healthz": {"get": {
        "operationId": "health", "summary": "Whether the store answers", "tags": ["meta"],
        "responses": {
            "200": json_body({"type": "object", "required": ["status"],
                              "properties": {"status": {"type": "string", "enum": ["ok"]}}},
                             "The store answers"),
            **errors(503)}}},
    "/api/crm.{format}": {"get": {
        "operationId": "crm", "tags": ["questions"],
        "summary": "Customer responsibility matrix of a provider's package",
        "description": "Per baseline control: provider / shared / customer, the customer's "
                       "part and what the provider does in the package's words, the "
                       "covering attestation. csv and xlsx carry the FedRAMP CRM worksheet's "
                       "columns; json is the leveraged system's OSCAL export (provided and "
                       "responsibility statements) a leveraging SSP points to.",
        "parameters": [
            {"name": "format", "in": "path", "required": True,
             "schema": {"type": "string", "enum": list(CRM_TYPES)}},
            {"name": "provider", "in": "query", "required": True, "schema": IRI,
             "description": "The provider package's control set"},
            {"name": "baseline", "in": "query", "required": True,
             "schema": {"anyOf": [IRI, SLUG]}},
            {"name": "as_of", "in": "query", "schema": DAY,
             "description": "Attestations valid on this day (default: today)"}],
        "responses": {
            "200": {"description": "The matrix", "content": {
                media: {"schema": {"json": {"type": "object"},
                                   "xlsx": {"type": "string", "format": "binary"}
                                   }.get(fmt, {"type": "string"})}
                for fmt, media in CRM_TYPES.items()}},
            **errors(400, 404, 503)}}},
    "/api/what-if": {"get": {
        "operationId": "what_if", "tags": ["questions"],
        "summary": "Coverage before and after a scenario (nothing is written)",
        "description": "Per family, the coverage question's figures before and after; each "
                       "control whose state changes, with why. Changes: lapse:ARTIFACT[@DAY] "
                       "(valid until the day before DAY, default as_of), renew:ARTIFACT@DAY "
                       "(valid until DAY), drop-program:PROGRAMME, "
                       "service-out:SERVICE@PROGRAMME, baseline:BASELINE; names are IRIs or "
                       "id:... forms (demo/artifact-aws-soc-2).",
        "parameters": [
            {"name": "controlSet", "in": "query", "required": True, "schema": IRI},
            {"name": "change", "in": "query", "required": True, "style": "form",
             "explode": True, "schema": {"type": "array", "minItems": 1, "maxItems": 8,
                                         "items": CHANGE}},
            {"name": "baseline", "in": "query", "schema": {"anyOf": [IRI, SLUG]},
             "description": "Default: the control set's target baseline"},
            {"name": "as_of", "in": "query", "schema": DAY,
             "description": "Default: today"}],
        "responses": {
            "200": json_body({"type": "object", "required": [
                "controlSet", "baseline", "as_of", "changes", "families", "controls"],
                "properties": {"controlSet": {"type": "string"},
                               "baseline": {"type": "string"},
                               "as_of": {"type": "string"}, "changes": STRINGS,
                               "families": {"type": "array", "items": {"type": "object"}},
                               "controls": {"type": "array", "items": STRING_OBJECT}}},
                             "Coverage before and after"),
            **errors(400, 404, 503)}}},
    "/api/validate": {"post": {
        "operationId": "validate", "summary": "Validate a control set against a baseline",
        "description": "Nothing is written to the store. The file must parse and hold one "
                       "control set; a schema cannot say that, so other files are a 400.",
        "tags": ["validation"],
        "requestBody": upload_form(
            baseline={"type": "string",
                      "description": "Slug (fedramp-rev5-high), id:baseline/... or IRI of a "
                                     "baseline in the store; empty: the one the control set "
                                     "targets"},
            framework={"type": "string",
                       "description": "Read an SSP's control ids as this framework's (slug, "
                                      "e.g. nist-sp-800-53-rev5); empty: the baseline's, else "
                                      "the one the SSP's profile names"},
            as_of={"anyOf": [DAY, {"type": "string", "enum": [""]}],
                   "description": "Day on which attestations must be valid; empty: today"},
            format={"type": "string", "enum": ["json", "sarif", ""],
                    "description": "Report format; empty: json"}),
        "responses": {
            "200": {"description": "The validation report", "content": {
                "application/json": {"schema": ref("schemas", "Report")},
                "application/sarif+json": {"schema": {"type": "object"}}}},
            **errors(400, 413, 503)}}},
    "/api/control-sets": {"post": {
        "operationId": "load_control_set", "tags": ["writes"],
        "summary": "Load (replace) a control set's graph; token scope: load",
        "security": [{"bearer": []}],
        "requestBody": upload_form(),
        "responses": {
            "201": json_body({"type": "object", "required": ["graph", "controlSet", "triples"],
                              "properties": {"graph": {"type": "string"},
                                             "controlSet": {"type": "string"},
                                             "triples": {"type": "integer"}}},
                             "Loaded"),
            **errors(400, 401, 403, 413, 503)}}},
    "/api/migrations": {"post": {
        "operationId": "migrate", "tags": ["writes"],
        "summary": "Carry a control set to another revision or release; token scope: load",
        "description": "Kept where the mapping is equal or equivalent-to, flagged for review "
                       "where it is weaker, dropped with the reason where the control was "
                       "withdrawn or no mapping reaches it; the target baseline's other "
                       "controls are listed as work. Unless dry_run, the new control set "
                       "is written to its own graph. The answer carries it as an OSCAL SSP.",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["controlSet", "to"], "properties": {
                "controlSet": {**IRI, "description": "The control set to carry (IRI or "
                                                     "id:controlset/...)"},
                "to": {**SLUG, "description": "Target framework slug, e.g. "
                                              "nist-sp-800-53-rev5"},
                "release": {**IRI, "description": "Target release IRI (default: the "
                                                  "framework's current one)"},
                "baseline": {"anyOf": [IRI, SLUG], "description": "Target baseline slug or "
                                                                  "IRI (default: the same "
                                                                  "level)"},
                "dry_run": {"type": "string", "enum": ["", "true", "false"]}}}}}},
        "responses": {
            "200": json_body({"type": "object", "required": [
                "controlSet", "newControlSet", "graph", "counts", "steps", "ssp"],
                "properties": {"controlSet": {"type": "string"},
                               "newControlSet": {"type": "string"},
                               "graph": {"type": ["string", "null"]},
                               "counts": {"type": "object",
                                          "additionalProperties": {"type": "integer"}},
                               "steps": {"type": "array", "items": STRING_OBJECT},
                               "ssp": {"type": "object"}}}, "The migration"),
            **errors(400, 401, 403, 404, 503)}}},
    "/api/graphs": {"delete": {
        "operationId": "drop_graphs", "tags": ["writes"],
        "summary": "Drop named graphs in one transaction; token scope: drop",
        "security": [{"bearer": []}],
        "parameters": [{
            "name": "graph", "in": "query", "required": True, "style": "form",
            "explode": True, "description": "A graph to drop (repeat for more)",
            "schema": {"type": "array", "minItems": 1, "items": IRI}}],
        "responses": {
            "200": json_body({"type": "object", "required": ["dropped"],
                              "properties": {"dropped": STRINGS}}, "Dropped"),
            **errors(400, 401, 403, 503),
            "404": error_response("A graph named is not in the store (the message names "
                                  "it); nothing was dropped")}}},
}

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "Authorization: Bearer <token>. Tokens are named and have scopes "
                       "(load, drop); see GRAPHSVC_TOKENS_FILE."}},
    "schemas": {
        "Error": {"type": "object", "required": ["error", "status"], "properties": {
            "error": {"type": "string", "description": "What is wrong"},
            "status": {"type": "integer", "description": "The HTTP status"},
            "where": {"type": "string", "description": "Parameter, field, file, line"}}},
        "Answer": {"type": "object", "required": ["question", "parameters", "columns", "rows"],
                   "properties": {"question": {"type": "string"},
                                  "parameters": STRING_OBJECT, "columns": STRINGS,
                                  "rows": {"type": "array", "items": STRING_OBJECT}}},
        "QuestionInfo": {"type": "object", "required": ["name", "summary", "params", "url"],
                         "properties": {"name": {"type": "string"},
                                        "summary": {"type": "string"},
                                        "description": {"type": "string"}, "tags": STRINGS,
                                        "params": {"type": "array",
                                                   "items": {"type": "object"}},
                                        "url": {"type": "string"}}},
        "Report": {"type": "object",
                   "required": ["controlSet", "baseline", "asOf", "conforms", "passed",
                                "counts", "results"],
                   "properties": {"controlSet": {"type": "string"},
                                  "baseline": {"type": "string"},
                                  "asOf": {"type": "string", "format": "date"},
                                  "source": {"type": "string"},
                                  "conforms": {"type": "boolean"},
                                  "passed": {"type": "boolean"},
                                  "counts": {"type": "object",
                                             "additionalProperties": {"type": "integer"}},
                                  "results": {"type": "array", "items": {"type": "object"}}}},
    },
    "responses": {
        "BadInput": error_response(
            "The request is malformed: a value of the wrong form or too long, an unknown "
            "parameter, a file that does not parse or is not a control set (where says "
            "which)"),
        "NotInStore": error_response(
            "A parameter, or its default, names nothing of its kind in the store (where "
            "says which)"),
        "Unauthorized": error_response(
            "No 'Authorization: Bearer <token>', or not a token of ours",
            headers={"WWW-Authenticate": {"schema": {"type": "string"},
                                          "description": 'Bearer realm="graphsvc"'}}),
        "Forbidden": error_response("The token lacks the scope, or no token has it"),
        "TooLarge": error_response("The body is larger than GRAPHSVC_MAX_UPLOAD_BYTES"),
        "Unavailable": error_response("The store cannot be reached or read"),
        "MethodNotAllowed": error_response(
            "Any method a path does not declare",
            headers={"Allow": {"schema": {"type": "string"},
                               "description": "The methods the path takes"}}),
    },
}
