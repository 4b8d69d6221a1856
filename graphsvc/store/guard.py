"""Checks on query text before any engine sees it, so that what is checked is what runs.

The SPARQL spec decodes codepoint escapes (``\\u``, ``\\U``) over the whole text before
parsing; Oxigraph 0.5 decodes them only inside strings and IRIs, rdflib everywhere. A
comment could end for one reader and not for the other, and a SERVICE that one saw
inside a string ran for the other (issue 12). So the guard decodes the escapes once, as
the spec says, reads the decoded text as tokens (comments, the four kinds of strings,
IRIs, names, variables, punctuation) and gives the engine that decoded text with the
comments blanked (:attr:`QueryInfo.text`): what the guard did not read as code, no
engine reads at all. In that text a ``u`` after an escaped backslash is written
``\\u0075``, so that it reads the same to engines that decode again (the spec) and to
those that do not (Oxigraph). The grammar is checked by the engine's own parser where the query
runs (:func:`engine_syntax_error` words its errors).

Refused here, with line and column: updates, SERVICE, LOAD, malformed tokens, and texts
the engine does not survive. Oxigraph's parser and planner recurse; on an 8 MiB stack
(measured with pyoxigraph 0.5.13, one construct at a time) it crashes the process at
about 830 nested EXISTS, 950 nested function calls, 2,200 nested braces, 2,600 chained
BIND, MINUS or OPTIONAL, 6,600 UNIONs, 6,800 chained ``+`` and 9,300 chained ``&&``.
:data:`MAX_DEPTH` and :data:`MAX_OPERATORS` are set so that a query with every construct
at its limit still runs on 8 MiB (measured: 62 nested calls around 998 ``+``, 30 nested
EXISTS around 930 BINDs, 60 braces around 995 MINUS); users' queries run on a 64 MiB
stack besides (:mod:`graphsvc.store.sandbox`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin

from graphsvc.errors import BadInput

MAX_QUERY_CHARS = 100_000
MAX_DEPTH = 64  # brackets of any kind open at once
MAX_OPERATORS = 1_000  # operators and pattern keywords: each nests the engine's tree

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_AFTER_BACKSLASH = re.compile(r"(?<=\\)[uU]")  # in a string: the u of an escaped \\
_ECHAR = r"""\\[tbnrf"'\\]"""
_TOKEN = re.compile(rf"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>\"\"\"(?:(?:\"\"|\")?(?:[^"\\]|{_ECHAR}))*+\"\"\"
              |'''(?:(?:''|')?(?:[^'\\]|{_ECHAR}))*+'''
              |"(?:[^"\\\r\n]|{_ECHAR})*+"
              |'(?:[^'\\\r\n]|{_ECHAR})*+')
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[^\W\d_](?:[\w.-]*[\w-])?)?:(?:[\w:%](?:[\w.:%-]*[\w:%-])?)?)
  | (?P<bnode>_:\w(?:[\w.-]*[\w-])?)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*(?:--[A-Za-z]+)?)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>\|\||&&|!=|<=|>=|\^\^|[{{}}()\[\];,.*/+\-!=<>|^?~])
  | (?P<bad>.)
""", re.VERBOSE | re.DOTALL)

FORMS = {"SELECT": "SelectQuery", "CONSTRUCT": "ConstructQuery",
         "DESCRIBE": "DescribeQuery", "ASK": "AskQuery"}
UPDATES = {"INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
# each of these nests the engine's expression or pattern tree one level deeper
OPERATORS = {"||", "&&", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "!", "^",
             "UNION", "OPTIONAL", "MINUS", "BIND", "FILTER", "GRAPH", "EXISTS", "SELECT"}
_OPEN = {"(": ")", "{": "}", "[": "]"}
_CLOSE = {v: k for k, v in _OPEN.items()}
_OPERANDS = {"var", "iri", "pname", "bnode", "string", "number", "lang", "name"}


@dataclass(frozen=True)
class QueryInfo:
    form: str  # SelectQuery, ConstructQuery, DescribeQuery or AskQuery
    projection: frozenset[str]  # variables a SELECT names (all of the query's for *)
    datasets: frozenset[str]  # IRIs named by FROM / FROM NAMED
    text: str  # what the engine runs: escapes decoded, comments blanked


@lru_cache(maxsize=1024)
def check_query(sparql: str) -> QueryInfo:
    """What the query is and the text to run, or BadInput saying what is not allowed
    and where. Iterative: no input can exhaust Python's recursion limit."""
    if len(sparql) > MAX_QUERY_CHARS:
        raise BadInput(f"query is {len(sparql)} characters; the limit is {MAX_QUERY_CHARS}")
    text = decode_escapes(sparql)
    return _Reader(text).read()


def decode_escapes(sparql: str) -> str:
    """``\\uXXXX`` and ``\\UXXXXXXXX`` replaced by their characters, over the whole text
    and in one pass, as SPARQL 1.1 (section 19.2) says engines do before parsing."""
    def character(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise BadInput(f"{match.group()} is not a character",
                           where=position(sparql, match.start()))
        return chr(code)

    return _ESCAPE.sub(character, sparql)


def position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"query line {line}, column {offset - text.rfind(chr(10), 0, offset)}"


class _Reader:
    """One pass over the tokens: refusals, limits, and what callers need to know."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.open: list[tuple[str, int]] = []  # brackets: (character, offset)
        self.operators = 0
        self.form = ""
        self.prefixes: dict[str, str] = {}
        self.base = ""
        self.datasets: set[str] = set()
        self.variables: set[str] = set()
        self.projection: set[str] = set()
        self.risky_until = -1  # see _check_iri

    def fail(self, message: str, offset: int) -> BadInput:
        return BadInput(message, where=position(self.text, offset))

    def read(self) -> QueryInfo:
        out: list[str] = []
        words: list[tuple[str, str, int]] = []  # significant tokens: kind, text, offset
        for match in _TOKEN.finditer(self.text):
            kind, value, at = match.lastgroup or "", match.group(), match.start()
            if kind == "comment":
                out.append(" " * len(value))
                continue
            if kind == "string" and "\\" in value:  # reads the same if decoded again
                value = _AFTER_BACKSLASH.sub(lambda m: f"\\u{ord(m.group()):04X}", value)
            out.append(value)
            if kind == "space":
                continue
            if kind == "bad":
                raise self.fail(_bad(value), at)
            self._token(kind, value, at, words[-1] if words else None)
            words.append((kind, value, at))
        if self.open:
            char, at = self.open[-1]
            raise self.fail(f"'{char}' is never closed: the query ends first", at)
        if not self.form:
            raise BadInput("not a SPARQL 1.1 query: SELECT, CONSTRUCT, DESCRIBE or ASK "
                           "expected", where="query")
        self._header(words)
        projection = self.projection if self.projection else self.variables
        return QueryInfo(self.form, frozenset(projection), frozenset(self.datasets),
                         "".join(out))

    def _token(self, kind: str, value: str, at: int,
               previous: tuple[str, str, int] | None) -> None:
        if kind == "op" and value in _OPEN:
            self.open.append((value, at))
            if len(self.open) > MAX_DEPTH:
                raise self.fail(f"brackets are nested more than {MAX_DEPTH} deep; the "
                                "engine would run out of stack", at)
        elif kind == "op" and value in _CLOSE:
            if not self.open or self.open[-1][0] != _CLOSE[value]:
                raise self.fail(f"'{value}' closes nothing", at)
            self.open.pop()
        elif kind == "iri":
            self._check_iri(value, at, previous)
        elif kind == "string" and self.risky_until > at and value[:3] in ('"""', "'''") \
                and ("\n" in value or "\r" in value):
            raise self.fail("a string over several lines may not follow an IRI with '#' "
                            "on the same line inside parentheses (engines read such an "
                            "IRI differently); start the string on a new line", at)
        elif kind == "var":
            self.variables.add(value[1:])
        elif kind == "name":
            self._word(value.upper(), at)
        if (value if kind == "op" else value.upper() if kind == "name" else "") in OPERATORS:
            self.operators += 1
            if self.operators > MAX_OPERATORS:
                raise self.fail(f"more than {MAX_OPERATORS} operators and pattern keywords "
                                "(UNION, OPTIONAL, FILTER, ...); the engine would run out "
                                "of stack: use IN (...) or VALUES for long lists", at)

    def _word(self, word: str, at: int) -> None:
        if word == "SERVICE":
            raise self.fail("SERVICE is not allowed: the store never fetches remote data", at)
        if word == "LOAD":
            raise self.fail("LOAD is not allowed: the store never fetches remote data", at)
        if word in UPDATES:
            raise self.fail(f"{word} is a SPARQL update, not a SPARQL 1.1 query: updates "
                            "are not accepted here", at)
        if word in FORMS and not self.open and not self.form:
            self.form = FORMS[word]

    def _check_iri(self, value: str, at: int, previous: tuple[str, str, int] | None) -> None:
        """An IRI that can also be read as '<' (less than) must not hide a comment that
        changes how the rest of the text reads: a ' would start a string for such a
        reader, a # a comment up to the end of the line."""
        if "'" in value:
            raise self.fail("an IRI with ' is not accepted here: write it as %27", at)
        after_operand = previous is not None and (
            previous[0] in _OPERANDS or previous[1] in (")", "]"))
        if "#" in value and self.open and self.open[-1][0] == "(" and after_operand:
            ends = [e for e in (self.text.find("\n", at), self.text.find("\r", at)) if e >= 0]
            self.risky_until = min(ends, default=len(self.text))

    def _header(self, words: list[tuple[str, str, int]]) -> None:
        """PREFIX, BASE, FROM [NAMED] and the SELECT list, all at the top level."""
        depth, selecting = 0, False
        for i, (kind, value, at) in enumerate(words):
            word = value.upper() if kind == "name" else value
            if depth == 0:
                selecting = word == "SELECT" or (selecting and word not in ("WHERE", "{",
                                                                             "FROM"))
                if word in ("PREFIX", "BASE", "FROM"):
                    self._declaration(word, words[i + 1: i + 3], at)
            if selecting and kind == "var" and (
                    depth == 0 or words[i - 1][1].upper() == "AS"):
                self.projection.add(value[1:])
            depth += value in _OPEN
            depth -= value in _CLOSE

    def _declaration(self, word: str, following: list[tuple[str, str, int]],
                     at: int) -> None:
        if word == "FROM" and following and following[0][1].upper() == "NAMED":
            following = following[1:]
        if not following or (word == "PREFIX" and len(following) < 2):
            raise self.fail(f"{word} must be followed by an IRI", at)
        if word == "PREFIX":
            self.prefixes[following[0][1][:-1]] = self._iri(following[1])
        elif word == "BASE":
            self.base = self._iri(following[0])
        else:
            self.datasets.add(self._iri(following[0]))

    def _iri(self, token: tuple[str, str, int]) -> str:
        kind, value, at = token
        if kind == "iri":
            return urljoin(self.base, value[1:-1]) if self.base else value[1:-1]
        if kind == "pname":
            prefix, local = value.split(":", 1)
            if prefix not in self.prefixes:
                raise self.fail(f"the prefix {prefix!r} is not declared", at)
            return self.prefixes[prefix] + local
        raise self.fail(f"an IRI expected, not {value!r}", at)


def _bad(char: str) -> str:
    if char in "\"'":
        return (f"a string starting with {char} is not closed on its line, or has an "
                "escape other than \\t \\b \\n \\r \\f \\\" \\' \\\\")
    if char == "\\":
        return "a backslash outside a string (escapes in prefixed names are not accepted)"
    return f"unexpected character {char!r}"


_ENGINE_ERROR = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


def engine_syntax_error(exc: Exception) -> BadInput:
    """The engine's own parse error, worded with line and column."""
    found = _ENGINE_ERROR.search(str(exc))
    if not found:
        return BadInput(f"not a valid SPARQL 1.1 query: {exc}", where="query")
    line, column, detail = found.groups()
    detail = " ".join(detail.split())
    detail = detail if len(detail) <= 200 else detail[:200] + " ..."
    return BadInput(f"not a valid SPARQL 1.1 query: {detail}",
                    where=f"query line {line}, column {column}")


def check_syntax(sparql: str) -> None:
    """The engine's own parser on one of our texts (a parameter plan): BadInput if not
    valid. For our texts only: an ASK is evaluated, over an empty store."""
    import pyoxigraph as ox

    try:
        ox.Store().query(check_query(sparql).text)
    except SyntaxError as exc:
        raise engine_syntax_error(exc) from exc
