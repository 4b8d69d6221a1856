"""Giving query variables values before evaluation, the same way on every backend.

A remote endpoint has no substitution API, and Oxigraph's substitutions (much faster)
need the variable in a SELECT's projection; otherwise a VALUES block goes at the start
of the top-level WHERE group. The values are RDF terms written by rdflib from
checked terms, never text of the caller's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rdflib.term import Literal, URIRef

from graphsvc.errors import BadInput
from graphsvc.store import Term, check_iri

_TOKEN = re.compile(
    r"""(?P<skip>\#[^\n]*|"{3}.*?"{3}|'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'
        |<[^<>"{}|^`\\\s]*>)
      |(?P<word>[A-Za-z_][\w.:-]*)
      |(?P<brace>[{}])""",
    re.VERBOSE | re.DOTALL,
)


def bind_values(sparql: str, bindings: Mapping[str, Term]) -> str:
    """The query with a VALUES block binding ``bindings`` at the start of its WHERE group."""
    check_bindings(bindings)
    names = list(bindings)
    cells = " ".join(_term_text(bindings[n], n) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({cells}) }} "
    depth, seen_where, insert_at = 0, False, None
    for match in _TOKEN.finditer(sparql):
        if match.group("word") and depth == 0 and match.group("word").upper() == "WHERE":
            seen_where = True
        elif match.group("brace") == "{":
            if depth == 0 and (seen_where or insert_at is None):
                insert_at = match.end()
                if seen_where:
                    break
            depth += 1
        elif match.group("brace") == "}":
            depth -= 1
    if insert_at is None:
        raise BadInput("query has no WHERE group to bind values in")
    return sparql[:insert_at] + block + sparql[insert_at:]


def check_bindings(bindings: Mapping[str, Term]) -> None:
    """Variable names are plain names; values are IRIs safe in <...> or literals."""
    for name, term in bindings.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise BadInput(f"not a variable name: {name!r}", where="bindings")
        _term_text(term, name)


def _term_text(term: Term, name: str) -> str:
    if isinstance(term, URIRef):
        return f"<{check_iri(str(term), f'value of ?{name}')}>"
    if isinstance(term, Literal):
        return term.n3()
    raise BadInput(f"?{name} must be an IRI or a literal, not {term!r}", where="bindings")
