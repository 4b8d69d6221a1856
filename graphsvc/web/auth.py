"""Who may write over HTTP: bearer tokens with scopes (RFC 6750), and one log line per
write attempt saying who, what, which graphs and the outcome."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from werkzeug.exceptions import HTTPException

from graphsvc.config import ApiToken, token_digest
from graphsvc.errors import GraphsvcError

# Writes are the service's audit trail: logged at INFO even where the root logger is set
# to WARNING (waitress's default).
log = logging.getLogger("graphsvc.writes")
log.setLevel(logging.INFO)

REALM = 'Bearer realm="graphsvc"'
_BEARER = re.compile(r"Bearer +([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)  # RFC 6750 b64token


class AuthError(GraphsvcError):
    """Credentials refused: 401 (none, malformed, unknown) or 403 (not allowed), with the
    Bearer challenge a client needs."""

    def __init__(self, status: int, message: str, challenge: str | None = None) -> None:
        super().__init__(message, where="Authorization")
        self.http_status = status
        self.headers = {"WWW-Authenticate": challenge} if challenge else {}


def authorize(tokens: tuple[ApiToken, ...], header: str | None, scope: str) -> ApiToken:
    """The token this ``Authorization`` header presents, if it has ``scope``.

    Only ``Bearer <token>``; the token's SHA-256 is compared with every known digest in
    constant time, so neither the answer's timing nor the configuration gives a token away.
    """
    if not any(scope in t.scopes for t in tokens):
        raise AuthError(403, f"no token has scope {scope!r}, so this is off over HTTP: "
                             "add one to GRAPHSVC_TOKENS_FILE (or set GRAPHSVC_LOAD_TOKEN "
                             "for loading)")
    match = _BEARER.fullmatch((header or "").strip())
    if match is None:
        raise AuthError(401, "send 'Authorization: Bearer <token>'", REALM)
    digest = token_digest(match.group(1))
    found = [t for t in tokens if hmac.compare_digest(t.digest, digest)]
    if not found:
        raise AuthError(401, "the bearer token is not valid", f'{REALM}, error="invalid_token"')
    if scope not in found[0].scopes:
        raise AuthError(403, f"token {found[0].name!r} does not have scope {scope!r}",
                        f'{REALM}, error="insufficient_scope", scope="{scope}"')
    return found[0]


@dataclass
class Write:
    """One write as the log tells it; the view fills in who and which graphs."""

    what: str
    who: str = "-"
    graphs: list[str] = field(default_factory=list)


@contextmanager
def authorized_write(scope: str, tokens: tuple[ApiToken, ...],
                     header: str | None) -> Iterator[Write]:
    """Authorize the write done in the block and log it once, whatever its outcome
    (refusals included)."""
    write = Write(scope)
    try:
        write.who = authorize(tokens, header, scope).name
        yield write
    except (GraphsvcError, HTTPException) as exc:
        status = exc.http_status if isinstance(exc, GraphsvcError) else exc.code
        message = exc.message if isinstance(exc, GraphsvcError) else exc.description
        _log(logging.WARNING, write, f"refused {status}: {message!r}")
        raise
    except Exception as exc:
        _log(logging.ERROR, write, f"failed: {type(exc).__name__}")
        raise
    _log(logging.INFO, write, "ok")


def _log(level: int, write: Write, outcome: str) -> None:
    log.log(level, "write who=%s what=%s graphs=%s outcome=%s", write.who, write.what,
            ",".join(write.graphs) or "-", outcome)
