"""Configuration in one place: defaults, then GRAPHSVC_* environment variables,
then command-line flags (later wins). ``graphsvc config`` prints the result."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from graphsvc.errors import BadInput


def default_store_dir() -> Path:
    """Per-user data directory (XDG), so that two users never share one store."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "graphsvc" / "store"


@dataclass(frozen=True)
class Config:
    """Everything that can be configured. Secrets are never printed."""

    store: Path | None = None  # embedded store directory; None = the per-user default
    remote: str | None = None  # SPARQL query endpoint; set = use the remote backend
    remote_update: str | None = None  # SPARQL Update endpoint (default: derived from remote)
    remote_gsp: str | None = None  # Graph Store Protocol endpoint (default: derived)
    remote_user: str | None = None
    remote_password: str | None = None
    remote_timeout_s: float = 60.0
    max_load_bytes: int = 256 * 1024 * 1024  # per input file
    # untrusted documents are refused past these, before they cost time or memory
    max_input_depth: int = 64  # nesting of JSON, YAML and XML
    max_input_rows: int = 100_000  # rows of a CSV file or of a workbook sheet
    max_cell_chars: int = 131_072  # one CSV field or workbook cell
    max_xml_namespaces: int = 1_000  # namespace declarations in one XML document
    max_unpacked_bytes: int = 256 * 1024 * 1024  # a workbook's parts, unpacked
    max_control_set_triples: int = 100_000  # a control set to validate or load
    max_implementations: int = 10  # of one control in one control set
    load_token: str | None = None  # web: bearer token for loading control sets; unset = off
    tokens_file: Path | None = None  # web: named bearer tokens with scopes (see api_tokens)
    query_timeout_s: float = 10.0  # web: /sparql queries are stopped after this
    max_result_rows: int = 10_000  # web: /sparql answers are cut here
    max_query_chars: int = 20_000  # web: longer /sparql queries are refused
    max_result_bytes: int = 16 * 1024 * 1024  # web: /sparql answers are cut here (term text)
    query_memory_mb: int = 2048  # web: address space of a /sparql query (see worker); 0 = none
    query_queue: int = 4  # web: /sparql requests that may wait for a busy query process
    # web: each serving and query process answers from an in-memory copy of the store
    # when it holds at most this many quads (about 0.7 KB each per process); 0 = never
    memory_copy_quads: int = 250_000
    max_upload_bytes: int = 16 * 1024 * 1024  # web: request bodies
    secret_key: str | None = None  # web: signs the CSRF session cookie (default: random)

    @property
    def store_dir(self) -> Path:
        return self.store or default_store_dir()

    def describe(self) -> dict[str, Any]:
        """The settings as plain values, with the password masked."""
        shown = asdict(self)
        shown["store"] = str(self.store_dir)
        for secret in ("remote_password", "load_token", "secret_key"):
            if shown[secret]:
                shown[secret] = "***"
        shown["tokens"] = [f"{t.name} ({','.join(sorted(t.scopes))})" for t in api_tokens(self)]
        return shown


_CONVERTERS = {"store": Path, "remote_timeout_s": float, "max_load_bytes": int,
               "query_timeout_s": float, "max_result_rows": int, "max_query_chars": int,
               "max_upload_bytes": int, "tokens_file": Path, "max_result_bytes": int,
               "query_memory_mb": int, "query_queue": int, "max_input_depth": int,
               "max_input_rows": int, "max_cell_chars": int, "max_xml_namespaces": int,
               "max_unpacked_bytes": int, "max_control_set_triples": int,
               "max_implementations": int, "memory_copy_quads": int}


def load_config(environ: dict[str, str] | None = None, **flags: Any) -> Config:
    """Build the configuration: defaults < GRAPHSVC_<FIELD> variables < flags (not None)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in fields(Config):
        raw = environ.get("GRAPHSVC_" + field.name.upper())
        if raw:
            values[field.name] = _convert(field.name, raw, f"GRAPHSVC_{field.name.upper()}")
    values.update({name: value for name, value in flags.items() if value is not None})
    return replace(Config(), **values)


def _convert(name: str, raw: str, where: str) -> Any:
    try:
        return _CONVERTERS.get(name, str)(raw)
    except ValueError as exc:
        raise BadInput(f"cannot read {raw!r}: {exc}", where=where) from exc


SCOPES = ("load", "drop")  # load control sets; drop graphs
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ApiToken:
    """A bearer token of the web API, known by the SHA-256 of its text: the text itself is
    neither kept nor printed, so a leaked configuration or log gives no token away."""

    name: str  # who: written in the log of every write
    scopes: frozenset[str]
    digest: bytes


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def api_tokens(config: Config) -> tuple[ApiToken, ...]:
    """The tokens the web API accepts: GRAPHSVC_LOAD_TOKEN as "default" (scope load), then
    each line ``name scope[,scope] sha256-hex-of-token`` of GRAPHSVC_TOKENS_FILE (``#``
    starts a comment). Errors name the file and line."""
    tokens: list[ApiToken] = []
    if config.load_token:
        tokens.append(ApiToken("default", frozenset({"load"}), token_digest(config.load_token)))
    if config.tokens_file:
        tokens += _read_tokens(config.tokens_file)
    for i, token in enumerate(tokens):
        for earlier in tokens[:i]:
            if token.name == earlier.name or token.digest == earlier.digest:
                same = "name" if token.name == earlier.name else "token"
                raise BadInput(f"tokens {earlier.name!r} and {token.name!r} have the same {same}",
                               where=str(config.tokens_file))
    return tuple(tokens)


def _read_tokens(path: Path) -> list[ApiToken]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read the tokens file: {exc}", where="GRAPHSVC_TOKENS_FILE") from exc
    tokens = []
    for number, line in enumerate(lines, 1):
        fields_ = line.split("#", 1)[0].split()
        if not fields_:
            continue
        where = f"{path}:{number}"
        if len(fields_) != 3:
            raise BadInput("want 'name scope[,scope] sha256-of-token'", where=where)
        name, scopes, digest = fields_
        if not _TOKEN_NAME.fullmatch(name):
            raise BadInput(f"a token name is letters, digits and _.@-, not {name!r}", where=where)
        wanted = frozenset(scopes.split(","))
        if not wanted <= set(SCOPES):
            raise BadInput(f"scopes are {', '.join(SCOPES)}, not {scopes!r}", where=where)
        if not _SHA256_HEX.fullmatch(digest.lower()):
            raise BadInput("the third field is the token's SHA-256 in hex (64 digits), "
                           "never the token itself", where=where)
        tokens.append(ApiToken(name, wanted, bytes.fromhex(digest)))
    return tokens
