"""Configuration in one place: defaults, then GRAPHSVC_* environment variables,
then command-line flags (later wins). ``graphsvc config`` prints the result."""

from __future__ import annotations

import os
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
    load_token: str | None = None  # web: bearer token for loading control sets; unset = off
    query_timeout_s: float = 10.0  # web: /sparql queries are stopped after this
    max_result_rows: int = 10_000  # web: /sparql answers are cut here
    max_query_chars: int = 20_000  # web: longer /sparql queries are refused
    max_result_bytes: int = 16 * 1024 * 1024  # web: /sparql answers are cut here (term text)
    query_memory_mb: int = 2048  # web: address-space limit of each query process; 0 = none
    query_queue: int = 4  # web: /sparql requests that may wait for a busy query process
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
        return shown


_CONVERTERS = {"store": Path, "remote_timeout_s": float, "max_load_bytes": int,
               "query_timeout_s": float, "max_result_rows": int, "max_query_chars": int,
               "max_upload_bytes": int, "max_result_bytes": int, "query_memory_mb": int,
               "query_queue": int}


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
