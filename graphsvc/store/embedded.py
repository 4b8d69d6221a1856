"""The default backend: Oxigraph embedded in the process, on disk (RocksDB) or in memory."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache
from itertools import islice
from pathlib import Path

import pyoxigraph as ox
from rdflib import XSD, Graph
from rdflib.term import BNode, Literal, URIRef

from graphsvc.errors import BadInput, StoreError
from graphsvc.store import (
    QueryResult,
    Rows,
    Store,
    Term,
    Triple,
    check_iri,
    is_staging,
    move_update,
    plan_write,
    replaced,
    term_bytes,
)
from graphsvc.store.bindings import bind_values
from graphsvc.store.guard import check_query, engine_syntax_error

_XSD_STRING = str(XSD.string)
KEPT_ANSWERS = 512  # recent SELECT / ASK answers kept until the next write


class EmbeddedStore(Store):
    """Oxigraph through pyoxigraph. ``path=None`` keeps everything in memory (tests).

    One process may write; others open the same directory with ``read_only=True``.
    """

    def __init__(self, path: Path | None = None, *, read_only: bool = False,
                 keep_answers: bool = True) -> None:
        self.path = path
        self.read_only = read_only
        try:
            if path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(path))
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
        except OSError as exc:
            hint = ("; another process writes to it (a running `graphsvc serve`?): stop it, "
                    "or load through its HTTP API" if "LOCK" in str(exc) else "")
            raise StoreError(f"cannot open the store: {exc}{hint}", where=str(path)) from exc
        # Answers are kept until this store writes. Only where this process is the one
        # writer: a read-only opener cannot know when another process writes.
        self._answers: OrderedDict[tuple[str, int | None, int | None], QueryResult] | None = (
            OrderedDict() if keep_answers and not read_only else None)
        self._answers_lock = threading.Lock()
        if not read_only:
            self._drop_leftover_staging()

    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None, *,
              limit: int | None = None, max_bytes: int | None = None) -> QueryResult:
        if bindings:  # written in as constants: the planner uses them, substitutions not
            sparql = bind_values(sparql, bindings)
        sparql = check_query(sparql).text  # the text the guard read is the one that runs
        key = (sparql, limit, max_bytes)
        if self._answers is not None:
            with self._answers_lock:
                if key in self._answers:
                    self._answers.move_to_end(key)
                    return self._answers[key]
        answer = self._evaluate(sparql, limit, max_bytes)
        if self._answers is not None and not isinstance(answer, Graph):  # graphs are mutable
            with self._answers_lock:
                self._answers[key] = answer
                while len(self._answers) > KEPT_ANSWERS:
                    self._answers.popitem(last=False)
        return answer

    def _evaluate(self, sparql: str, limit: int | None, max_bytes: int | None) -> QueryResult:
        try:
            result = self._store.query(sparql, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise engine_syntax_error(exc) from exc
        except OSError as exc:
            raise StoreError(f"query failed: {exc}") from exc
        try:
            return _converted(result, limit, max_bytes)
        finally:  # Oxigraph's result may only be dropped by the thread that made it
            del result

    def write(self, graphs: Mapping[str, Iterable[Triple]], *,
              replace: bool | Collection[str] = False, drop: Iterable[str] = ()) -> None:
        targets = {str(check_iri(g, "graph")): triples for g, triples in graphs.items()}
        dropped = [str(check_iri(g, "graph")) for g in drop if g not in targets]
        replacing = replaced(replace, targets)
        # extend() is one transaction, so adding needs no staging; replacing does, and
        # so does dropping (the drops and the moves are one update)
        existing = {t for t in targets if self._store.contains_named_graph(ox.NamedNode(t))}
        staged = existing & replacing if not dropped else existing
        first = plan_write(targets, staged)
        quads = (
            ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph)
            for target, triples in targets.items()
            for graph in [ox.NamedNode(first[target])]
            for s, p, o in triples
        )
        moves = {stage: target for target, stage in first.items() if stage != target}
        try:
            self._store.extend(quads)
        except (OSError, ValueError, TypeError) as exc:
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        try:
            if moves or dropped:
                self._update(move_update(moves, replacing=replacing, drop=dropped))
        except (OSError, ValueError, TypeError) as exc:
            self.drop(t for t in targets if t not in existing)
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        finally:
            self.drop(moves)
            self._forget_answers()

    def _update(self, update: str) -> None:
        try:
            self._store.update(update)
        finally:  # (a query running meanwhile may have kept an answer from before)
            self._forget_answers()

    def _forget_answers(self) -> None:
        if self._answers is not None:
            with self._answers_lock:
                self._answers.clear()

    def _drop_leftover_staging(self) -> None:
        """A process killed mid-load may leave a staging graph; it was never visible."""
        self.drop(str(g.value) for g in self._store.named_graphs() if is_staging(g.value))

    def close(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()
        del self._store


def _converted(result: object, limit: int | None, max_bytes: int | None) -> QueryResult:
    """Rows or triples up to ``limit``, and no further than the first past ``max_bytes``:
    the engine stops there, so a huge answer is never all in memory."""
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    size = 0
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = []
        for solution in islice(result, limit):
            rows.append(tuple(from_ox(solution[v]) for v in variables))
            size += term_bytes(rows[-1])
            if max_bytes is not None and size > max_bytes:
                break
        return Rows(variables, rows)
    graph = Graph()
    for t in islice(result, limit):  # type: ignore[call-overload]
        triple = (from_ox(t.subject), from_ox(t.predicate), from_ox(t.object))
        graph.add(triple)
        size += term_bytes(triple)
        if max_bytes is not None and size > max_bytes:
            break
    return graph


@lru_cache(maxsize=200_000)
def _named_node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def to_ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """rdflib term -> Oxigraph term (IRIs repeat a lot: predicates, types, controls)."""
    if type(term) is URIRef:
        return _named_node(term)
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise BadInput(f"not an RDF term: {term!r}")


def from_ox(term: object) -> Term | None:
    """Oxigraph term -> rdflib term (xsd:string literals become plain, as rdflib parses them)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return _uri_ref(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        return _literal(term.value, term.language, term.datatype.value)
    raise BadInput(f"RDF-star terms are not supported: {term}")


# Building rdflib terms is most of the cost of a query answer (IRI checks, casting
# literals to Python values); answers repeat the same terms, and rdflib terms are
# immutable, so they are made once.
@lru_cache(maxsize=200_000)
def _uri_ref(iri: str) -> URIRef:
    return URIRef(iri)


@lru_cache(maxsize=200_000)
def _literal(value: str, language: str | None, datatype: str) -> Literal:
    if language:
        return Literal(value, lang=language)
    return Literal(value, datatype=None if datatype == _XSD_STRING else _uri_ref(datatype))
