"""The web service: a Flask app factory and the blueprints ``sparql`` (the SPARQL 1.1
Protocol endpoint), ``api`` (questions, validation, loading) and ``pages`` (HTML).

Every view calls the same core functions as the CLI; errors are our typed errors,
mapped once here to a status and to JSON (on /api and /sparql) or an HTML page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, session
from werkzeug.exceptions import HTTPException

from graphsvc.config import ApiToken, Config, api_tokens, load_config
from graphsvc.content import data_dir
from graphsvc.errors import BadInput, GraphsvcError
from graphsvc.store import Store, open_store
from graphsvc.web.serving import Writes
from graphsvc.web.worker import QueryPool

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"),
}


@dataclass
class Services:
    """What the views use: the configuration, the store they read, the one way they
    write, the query processes, the API's bearer tokens (read once at start, so a bad
    tokens file stops the start)."""

    config: Config
    store: Store
    writes: Writes
    pool: QueryPool
    owns_store: bool  # opened by create_app, so closed by close_app
    tokens: tuple[ApiToken, ...] = ()


def services() -> Services:
    return current_app.extensions["graphsvc"]


def create_app(config: Config | None = None, *, store: Store | None = None,
               writes: Writes | None = None, pool_size: int = 2) -> Flask:
    """The app over the configured store. Without ``store`` it opens the store's writer
    and reads what the writer publishes (on the embedded store, its newest view); a given
    ``store`` is read and written as it is, unless ``writes`` sends writes elsewhere."""
    config = config or load_config()
    web = data_dir("web")
    app = Flask(__name__, template_folder=str(web / "templates"),
                static_folder=str(web / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=config.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
        JSON_SORT_KEYS=False,
    )
    tokens = api_tokens(config)
    if store is None:
        writer = open_store(config)
        writes = writes or Writes(writer, owns_store=True)
        store = (writer if config.remote
                 else open_store(config, read_only=True, serving=True))
        owns = not config.remote
    else:
        writes, owns = writes or Writes(store), False
    app.extensions["graphsvc"] = Services(config, store, writes,
                                          QueryPool(config, size=pool_size),
                                          owns_store=owns, tokens=tokens)

    from graphsvc.web import api, pages, sparql

    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)

    @app.get("/healthz")
    def healthz() -> Response:
        services().store.query("ASK { }")
        return jsonify(status="ok")

    app.after_request(_headers)
    app.register_error_handler(GraphsvcError, _error)
    app.register_error_handler(HTTPException, _error)
    app.jinja_env.globals["csrf_token"] = csrf_token
    return app


def close_app(app: Flask) -> None:
    """Stop the query processes, wait for a write under way, close what create_app
    opened (the embedded store's lock)."""
    services_ = app.extensions["graphsvc"]
    services_.pool.close()
    services_.writes.close()
    if services_.owns_store:
        services_.store.close()


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/sparql", "/healthz"))


def _error(exc: Exception) -> Any:
    """One error body for every status, keeping the headers the status needs (``Allow`` on
    405, ``WWW-Authenticate`` on 401)."""
    if isinstance(exc, GraphsvcError):
        status, message, where = exc.http_status, exc.message, exc.where
        headers = dict(getattr(exc, "headers", {}))
    else:
        assert isinstance(exc, HTTPException)
        status, message, where = exc.code or 500, exc.description, None
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if status == 413:
            limit = current_app.config["MAX_CONTENT_LENGTH"]
            message = f"the request body is larger than the limit of {limit} bytes"
    if wants_json():
        body: dict[str, Any] = {"error": message, "status": status}
        if where:
            body["where"] = where
        return jsonify(body), status, headers
    return (render_template("error.html", status=status, message=message, where=where),
            status, headers)


def csrf_token() -> str:
    """The form token of this browser session (double submit: session and form)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        raise BadInput("the form is stale or not ours (CSRF check failed); reload the page",
                       where="csrf_token")
