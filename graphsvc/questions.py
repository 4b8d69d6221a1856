"""Named questions: one SPARQL file each in queries/, with a grlc-style header.

    #+ summary: one line
    #+ description: what it answers and how
    #+ params:
    #+   - name: controlSet
    #+     type: iri            # iri | date | integer | enum | string
    #+     kind: gc:ControlSet  # iri: the value must be an instance of this class
    #+     default: ...
    #+     values: [...]        # enum: the allowed values
    #+ tags: [coverage]

Parameters are checked and turned into RDF terms here, then bound by the store
(:func:`graphsvc.store.bindings.bind_values`: a VALUES block plus the terms written by
rdflib in the variables' places), never the caller's text spliced into a query. The CLI, the
HTTP API and the pages all run questions through :func:`ask`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rdflib import XSD, Literal, URIRef

from graphsvc.content import data_dir
from graphsvc.errors import BadInput, NotFound
from graphsvc.identity import normalise_id
from graphsvc.namespaces import GC, ID
from graphsvc.store import QueryResult, Rows, Store, Term, check_iri

PARAM_TYPES = ("iri", "date", "integer", "enum", "string")
PREFIXES = {"gc": str(GC), "id": str(ID)}
IS_A = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
ASK { ?value a/rdfs:subClassOf* ?kind }
"""
# a short form: one word without a colon (a value with spaces is neither an IRI nor one)
SHORT_FORM = re.compile(r"[^\s:<>\"{}|^`\\]{1,200}")
# what a short form (AC-2, ac-2.1, AC-02(01), A.5.15, fedramp-rev5-moderate, HIPAA) names:
# things of the kind whose identifier, other notation or label it is
NAMED = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?thing ?framework WHERE {
  { ?thing gc:identifier ?canonical } UNION { ?thing gc:identifier ?given }
  UNION { ?thing skos:altLabel ?given } UNION { ?thing skos:altLabel ?upper }
  UNION { ?thing rdfs:label ?given }
  ?thing a/rdfs:subClassOf* ?kind .
  OPTIONAL { ?thing (gc:inFramework|gc:releaseOf)/gc:identifier ?framework }
}
ORDER BY ?thing LIMIT 20
"""


class UnknownQuestion(NotFound):
    """No question of that name."""


class NotInStore(NotFound):
    """A parameter names nothing of its kind in the store: what the question is about is
    not found (HTTP 404; still bad input, exit 2, on the command line)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str = ""
    default: str | None = None
    kind: str | None = None  # iri: class IRI the value must be an instance of
    values: tuple[str, ...] = ()  # enum
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False


@dataclass(frozen=True)
class Question:
    name: str
    summary: str
    description: str
    params: tuple[Param, ...]
    tags: tuple[str, ...]
    sparql: str = field(repr=False)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise BadInput(f"unknown parameter {name!r}; this question takes: {known}",
                       where=f"question {self.name}")


def parse_question(name: str, text: str) -> Question:
    """A question from its file text; errors name the file and the header field."""
    header = "\n".join(line[3:] if line.startswith("#+ ") else line[2:]
                       for line in text.splitlines() if line.startswith("#+"))
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"header is not valid YAML: {exc}", where=f"queries/{name}.rq") from exc
    if not isinstance(meta, dict) or not meta.get("summary"):
        raise BadInput("header needs at least '#+ summary:'", where=f"queries/{name}.rq")
    params = []
    for i, raw in enumerate(meta.get("params") or []):
        where = f"queries/{name}.rq, params[{i}]"
        if not isinstance(raw, dict) or raw.get("type") not in PARAM_TYPES:
            raise BadInput(f"each parameter needs a name and a type of {PARAM_TYPES}",
                           where=where)
        params.append(Param(
            name=str(raw["name"]), type=raw["type"], description=str(raw.get("description", "")),
            default=None if raw.get("default") is None else str(raw["default"]),
            kind=expand(str(raw["kind"]), where) if raw.get("kind") else None,
            values=tuple(str(v) for v in raw.get("values") or ()),
            minimum=raw.get("min"), maximum=raw.get("max"), required=bool(raw.get("required")),
        ))
    tags = meta.get("tags") or []
    return Question(name, str(meta["summary"]).strip(), str(meta.get("description", "")).strip(),
                    tuple(params), tuple(str(t) for t in tags), text)


@lru_cache(maxsize=1)
def load_questions(folder: str | None = None) -> dict[str, Question]:
    """All questions of queries/, by file name without .rq."""
    root = Path(folder) if folder else data_dir("queries")
    return {p.stem: parse_question(p.stem, p.read_text()) for p in sorted(root.glob("*.rq"))}


def get_question(name: str) -> Question:
    questions = load_questions()
    if name not in questions:
        raise UnknownQuestion(f"no question {name!r}; known: {', '.join(questions)}")
    return questions[name]


def expand(value: str, where: str) -> str:
    """A full IRI, or a prefixed name with a prefix of ours (gc:, id:)."""
    prefix, _, local = value.partition(":")
    if prefix in PREFIXES and not local.startswith("//"):
        value = PREFIXES[prefix] + local
    return str(check_iri(value, where))


def baseline_iri(given: str, where: str) -> str:
    """A baseline given as an IRI, id:baseline/... or its slug (fedramp-rev5-high)."""
    return expand(given if ":" in given else f"id:baseline/{given}", where)


def bind(question: Question, given: dict[str, str], store: Store,
         today: date | None = None) -> dict[str, Term]:
    """Checked RDF terms for the question's parameters (defaults filled in)."""
    for name in given:
        question.param(name)  # unknown names are errors, not ignored
    terms: dict[str, Term] = {}
    for p in question.params:
        raw = given.get(p.name, p.default)
        where = f"parameter {p.name}"
        if raw is None or raw == "":
            if p.required:
                raise BadInput("is required", where=where)
            continue
        terms[p.name] = _term(p, str(raw), where, store, today or date.today())
    return terms


def _term(p: Param, raw: str, where: str, store: Store, today: date) -> Term:
    if len(raw) > 2000:
        raise BadInput("value is too long", where=where)
    if p.type == "iri":
        if p.kind and SHORT_FORM.fullmatch(raw):
            return resolve(raw, p.kind, store, where)
        iri = URIRef(expand(raw, where))
        found = p.kind and store.query(IS_A, bindings={"value": iri, "kind": URIRef(p.kind)})
        if p.kind and found is not True:
            raise NotInStore(f"<{iri}> is not a {p.kind.rsplit('#', 1)[-1]} in the store",
                             where=where)
        return iri
    if p.type == "date":
        day = today if raw == "today" else parse_day(raw, where)
        return Literal(day.isoformat(), datatype=XSD.date)
    if p.type == "integer":
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):  # \d would take any script's digits
            raise BadInput(f"not a whole number: {raw!r}", where=where)
        number = int(raw)
        if (p.minimum is not None and number < p.minimum) or (
                p.maximum is not None and number > p.maximum):
            raise BadInput(f"must be between {p.minimum} and {p.maximum}", where=where)
        return Literal(number)
    if p.type == "enum":
        if raw not in p.values:
            raise BadInput(f"must be one of {', '.join(p.values)}, not {raw!r}", where=where)
        return URIRef(expand(raw, where)) if ":" in raw else Literal(raw)
    return Literal(raw)


def resolve(short: str, kind: str, store: Store, where: str) -> URIRef:
    """The one thing of ``kind`` a short form names: an identifier in any notation
    (AC-2, ac-2.1, AC-2(1), AC-02(01), A.5.15, GV.RM-02), a slug or a one-word label
    (HIPAA), optionally
    after its framework (``nist-sp-800-53-rev5/AC-2``). Unknown is a 404 (NotInStore),
    more than one a 400 naming them."""
    text = short.strip()
    framework, _, local = text.rpartition("/") if "/" in text else ("", "", text)
    answer = store.query(NAMED, bindings={
        "kind": URIRef(kind), "canonical": Literal(normalise_id(local)),
        "given": Literal(local), "upper": Literal(local.upper())})
    assert isinstance(answer, Rows)
    found = [(iri, str(fw or "")) for iri, fw in answer if not framework or
             str(fw or "") == framework]
    noun = kind.rsplit("#", 1)[-1]
    if not found:
        raise NotInStore(f"{text!r} names no {noun} in the store: give an identifier "
                         "(AC-2, ac-2.1, A.5.15), a slug or an IRI", where=where)
    if len(found) > 1:
        named = ", ".join(f"{fw}/{local}" if fw else f"<{iri}>" for iri, fw in found)
        raise BadInput(f"{text!r} names {len(found)} {noun}s: {named}; write one of them "
                       "(framework/identifier) or give the IRI", where=where)
    return URIRef(str(found[0][0]))


def parse_day(raw: str, where: str) -> date:
    """A YYYY-MM-DD day, or BadInput naming where it came from. Only that form (RFC 3339
    full-date, what the API documents): fromisoformat alone also takes 20261231 and
    week dates such as 2026-W01-1."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"not a date (YYYY-MM-DD): {raw!r}", where=where) from None


def ask(store: Store, name: str, given: dict[str, str] | None = None,
        today: date | None = None) -> QueryResult:
    """Run a named question with checked parameters."""
    question = get_question(name)
    return store.query(question.sparql, bindings=bind(question, given or {}, store, today))


def describe(question: Question) -> dict[str, Any]:
    """The question as plain data (for listings and OpenAPI)."""
    return {
        "name": question.name, "summary": question.summary,
        "description": question.description, "tags": list(question.tags),
        "params": [{k: v for k, v in p.__dict__.items() if v not in (None, (), "")}
                   for p in question.params],
    }
