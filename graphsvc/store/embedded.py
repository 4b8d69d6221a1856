"""The default backend: Oxigraph embedded in the process, on disk (RocksDB) or in memory."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sized
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox
from rdflib import RDF, XSD, Graph
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
    replaced,
    term_bytes,
    views,
)
from graphsvc.store.bindings import bind_values
from graphsvc.store.guard import check_query, engine_syntax_error

_XSD_STRING = str(XSD.string)  # (text: Oxigraph's terms; rdflib's compare as URIRef)
KEPT_ANSWERS = 512  # recent SELECT / ASK answers kept per state of the store
BULK_QUADS = 10_000  # on disk, writes this big go through Oxigraph's bulk loader
COPY_BYTES = 1024  # address space an in-memory copy takes per quad (~0.7 KB resident)
JOURNAL = "graphsvc-write.json"  # in the store directory while a write is under way
CONTENT = "graphsvc-write.nq"  # what a replacement writes, until it is in
_MISSING = object()
_log = logging.getLogger(__name__)


class _State:
    """What queries read (the writer's store, a published view, or a reader's in-memory
    copy of that view) and the answers kept for that state: a write or a move to a newer
    view starts a new one (a copy does not: it holds the same quads)."""

    def __init__(self, store: ox.Store, view: views.View | None, keep: bool) -> None:
        self.store = store
        self.view = view  # holds the view's lock while a query may read it
        self.answers: OrderedDict[tuple[Any, ...], QueryResult] | None = (
            OrderedDict() if keep else None)
        self.lock = threading.Lock()

    def kept(self, key: tuple[Any, ...]) -> object:
        if self.answers is None:
            return _MISSING
        with self.lock:
            if key not in self.answers:
                return _MISSING
            self.answers.move_to_end(key)
            return self.answers[key]

    def keep(self, key: tuple[Any, ...], answer: QueryResult) -> None:
        if self.answers is None or isinstance(answer, Graph):  # graphs are mutable
            return
        with self.lock:
            self.answers[key] = answer
            while len(self.answers) > KEPT_ANSWERS:
                self.answers.popitem(last=False)


class EmbeddedStore(Store):
    """Oxigraph through pyoxigraph. ``path=None`` keeps everything in memory (tests).

    On disk, the process that opens the directory read-write is its one writer: after
    every write it publishes a view (:mod:`graphsvc.store.views`). With ``read_only=True``
    a process reads the newest view instead and moves to a newer one at its next query,
    so readers in any process see a write as soon as the writer has returned from it,
    and never touch the writer's files. Recent answers are kept until the state they
    were computed on changes (a write, or a newer view).

    A reader given ``copy_quads`` also copies each view of at most that many quads into
    memory, in the background, and answers from the copy once it is made (the view's
    files answer meanwhile, so a write is still seen at once): RocksDB's look-ups made
    listings 3-8x slower than Oxigraph's in-memory store on the same quads.
    """

    def __init__(self, path: Path | None = None, *, read_only: bool = False,
                 keep_answers: bool = True, copy_quads: int = 0) -> None:
        self.path = path
        self.read_only = read_only
        self._keep = keep_answers
        self._moving = threading.Lock()
        self._copy_quads = copy_quads
        self._copying = False
        self._copy_ended = threading.Condition(self._moving)
        if read_only:
            if path is None:
                raise ValueError("an in-memory store has no readers")
            with self._moving:
                self._move_to(self._newest_view(path))
            return
        self._store = _open_writer(path)
        self._now = _State(self._store, None, keep_answers)
        if path is not None:
            try:
                self._recover()
            except OSError as exc:
                raise StoreError(f"cannot recover the store: {exc}", where=str(path)) from exc

    def query(self, sparql: str, bindings: Mapping[str, Term] | None = None, *,
              limit: int | None = None, max_bytes: int | None = None) -> QueryResult:
        state = self._state()
        key = (sparql, tuple(sorted(bindings.items())) if bindings else (), limit, max_bytes)
        answer = state.kept(key)  # only texts the guard passed have answers kept
        if answer is not _MISSING:
            return answer  # type: ignore[return-value]
        if bindings:  # written in as constants: the planner uses them, substitutions not
            sparql = bind_values(sparql, bindings)
        sparql = check_query(sparql).text  # the text the guard read is the one that runs
        answer = _evaluate(state.store, sparql, limit, max_bytes)
        state.keep(key, answer)
        return answer

    def _state(self) -> _State:
        """The state to read: a reader moves to the newest view (one readlink to know)."""
        now = self._now
        if not self.read_only or views.newest(self.path) in (now.view.name, None):
            return now
        with self._moving:
            if views.newest(self.path) not in (self._now.view.name, None):
                self._move_to(self._newest_view(self.path))
            return self._now

    def _move_to(self, view: views.View) -> None:
        """Read ``view`` from now on, and copy it (called holding ``_moving``)."""
        self._now = _State(view.store, view, self._keep)
        self._copy_soon()

    @property
    def in_memory(self) -> bool:
        """Whether queries read memory (an in-memory store, or a reader's copy)."""
        now = self._now
        return self.path is None or (now.view is not None and now.store is not now.view.store)

    def wait_for_copy(self, timeout_s: float) -> bool:
        """Move to the newest view, wait for its copy to be made (or refused: past the
        bound); whether queries now read memory. For benchmarks and tests: serving
        never waits, the view's files answer meanwhile."""
        self._state()
        with self._moving:
            self._copy_ended.wait_for(lambda: not self._copying, timeout_s)
        return self.in_memory

    def _copy_soon(self) -> None:
        """Start copying the newest view into memory, unless a copy is under way: that
        one goes on to the newest view when it ends, so writes in quick succession cost
        one copy at a time."""
        if self._copy_quads <= 0 or self._copying:
            return
        thread = threading.Thread(target=self._copy_views, args=(self._now,),
                                  name="graphsvc-copy", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to be had: the files answer
            _log.warning("no in-memory copy of the store: %s", exc)
            return
        self._copying = True

    def _copy_views(self, state: _State) -> None:
        """Copy ``state``'s view, then the newest one if the reader moved meanwhile."""
        try:
            while True:
                self._copy(state)
                with self._moving:
                    if self._copy_quads == 0 or self._now is state:  # closed, or newest
                        return
                    state = self._now
        finally:
            with self._moving:
                self._copying = False
                self._copy_ended.notify_all()

    def _copy(self, state: _State) -> None:
        try:
            on_disk = state.view.store
            if len(on_disk) <= self._copy_quads:  # (counting: 0.02 s at 1x, 0.8 s at 100x)
                copy = ox.Store()
                copy.extend(on_disk)  # keeps blank nodes' labels, unlike a load
                state.store = copy  # queries under way finish on the files
        except Exception as exc:  # whatever failed, the files answer, as without a copy
            _log.warning("no in-memory copy of view %s: %s", state.view.name, exc)

    @staticmethod
    def _newest_view(path: Path) -> views.View:
        """The newest view; a store that has none yet (made before views existed) gets
        one from a writer: ours if nobody else writes, else the one that does."""
        try:
            view = views.open_newest(path)
            if view is None:
                if not (path / "CURRENT").is_file():
                    raise StoreError("there is no store here; `graphsvc init` makes one",
                                     where=str(path))
                try:
                    EmbeddedStore(path).close()
                except StoreError as exc:  # another writer: it publishes when it starts
                    if "another process writes" not in exc.message:
                        raise
                for _ in range(600):
                    view = views.open_newest(path)
                    if view is not None:
                        break
                    time.sleep(0.1)
                else:
                    raise StoreError("no view of the store was published; is its writer "
                                     "stuck?", where=str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the store: {exc}", where=str(path)) from exc
        return view

    def write(self, graphs: Mapping[str, Iterable[Triple]], *,
              replace: bool | Collection[str] = False, drop: Iterable[str] = ()) -> None:
        self._check_writer()
        self._complete_pending()
        targets = {str(check_iri(g, "graph")): triples for g, triples in graphs.items()}
        gone = [*replaced(replace, targets),
                *(str(check_iri(g, "graph")) for g in drop if g not in targets)]
        cleared = [g for g in gone if self._store.contains_named_graph(ox.NamedNode(g))]
        size = sum(len(t) if isinstance(t, Sized) else BULK_QUADS for t in targets.values())
        if self.path is None:
            self._write_in_memory(targets, cleared)
            return
        content = self.path / CONTENT
        try:  # every term is checked here, before anything changes
            with open(content, "wb") as out:
                write_nquads(targets, out)
            _sync(content)
        except (OSError, ValueError, TypeError) as exc:
            content.unlink(missing_ok=True)
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        if cleared:
            self._replace(cleared, size)
        else:  # adding only: one load, all or nothing
            journal = self._begin({})
            try:
                self._load(size)
            except (OSError, SyntaxError) as exc:
                self._end(journal, written=False)
                raise StoreError(f"write failed, nothing was changed: {exc}") from exc
            self._end(journal, written=True)

    def _replace(self, cleared: list[str], size: int) -> None:
        """Graphs go and content comes in two steps, so the content is first written to
        a file and the journal says so: whatever happens after that, the write is
        completed (by the next write, or by the next writer after a crash)."""
        journal = self._begin({"clear": cleared, "size": size})
        try:
            self._drop_now(cleared)
        except (OSError, ValueError) as exc:
            self._end(journal, written=False)
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        self._load_content(size)
        self._end(journal, written=True)

    def _load_content(self, size: int) -> None:
        """The second step of a replacement; done again after a crash (adding the same
        quads twice changes nothing)."""
        try:
            self._load(size)
        except (OSError, SyntaxError) as exc:  # the journal stays: the next write or start
            raise StoreError(f"write interrupted; it is completed when the store is next "
                             f"written or opened: {exc}", where=str(self.path)) from exc

    def _load(self, size: int) -> None:
        """Load the content file (checked when it was written)."""
        content = str(self.path / CONTENT)
        if size >= BULK_QUADS:
            self._store.bulk_load(path=content, format=ox.RdfFormat.N_QUADS)
        else:
            self._store.load(path=content, format=ox.RdfFormat.N_QUADS)

    def _write_in_memory(self, targets: Mapping[str, Iterable[Triple]],
                         cleared: list[str]) -> None:
        text = io.BytesIO()
        try:
            write_nquads(targets, text)  # every term is checked before anything changes
        except (ValueError, TypeError) as exc:
            raise StoreError(f"write failed, nothing was changed: {exc}") from exc
        if cleared:
            self._drop_now(cleared)
        self._store.load(text.getvalue(), format=ox.RdfFormat.N_QUADS)
        self._now = _State(self._store, None, self._keep)

    def drop(self, graphs: Iterable[str]) -> None:
        self._check_writer()
        self._complete_pending()
        journal = self._begin({})
        try:
            self._drop_now(graphs)
        except (OSError, ValueError) as exc:
            self._end(journal, written=False)
            raise StoreError(f"drop failed, nothing was changed: {exc}") from exc
        self._end(journal, written=True)

    def _drop_now(self, graphs: Iterable[str]) -> None:
        super().drop(graphs)  # one update

    def _update(self, update: str) -> None:
        self._store.update(update)

    def _check_writer(self) -> None:
        if self.read_only:
            raise StoreError("this process reads the store (read-only); writes go through "
                             "its writer", where=str(self.path))

    def _complete_pending(self) -> None:
        """A replacement that failed half way (its content could not be loaded) is
        completed before the next write."""
        if self.path is not None and (self.path / JOURNAL).exists():
            self._complete()

    def _begin(self, work: dict[str, Any]) -> Path | None:
        """Note the write in the journal before it changes anything: if it is cut short,
        the next writer publishes its view (and completes a replacement)."""
        if self.path is None:
            return None
        journal, written = self.path / JOURNAL, self.path / (JOURNAL + ".new")
        with open(written, "w", encoding="utf-8") as out:
            json.dump(work, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(written, journal)  # there whole, or not at all
        return journal

    def _end(self, journal: Path | None, *, written: bool) -> None:
        if written:
            self._now = _State(self._store, None, self._keep)  # answers start afresh
            if self.path is not None:
                try:
                    views.publish(self._store, self.path)
                except OSError as exc:  # the journal stays: the next writer publishes
                    raise StoreError(f"written, but not yet visible to readers: {exc}",
                                     where=str(self.path)) from exc
        if journal is not None:
            journal.unlink()
            (journal.parent / CONTENT).unlink(missing_ok=True)

    def _recover(self) -> None:
        """At the writer's start: complete a write a crash cut short, drop the staging
        graphs of older versions' loads, and publish a view if the newest may be behind."""
        assert self.path is not None
        Store.drop(self, [str(g.value) for g in self._store.named_graphs()
                          if is_staging(g.value)])
        if (self.path / JOURNAL).exists() or views.newest(self.path) is None:
            self._complete()
        else:
            views.remove_unused(self.path)

    def _complete(self) -> None:
        journal = self.path / JOURNAL
        work = json.loads(journal.read_text(encoding="utf-8")) if journal.exists() else {}
        if "clear" in work:
            self._drop_now(work["clear"])
            self._load_content(work["size"])
        self._end(journal if journal.exists() else None, written=True)

    def close(self) -> None:
        if self.read_only:
            with self._moving:
                self._copy_quads = 0  # a copy under way is the last
                del self._now
            return
        if self.path is not None:
            self._store.flush()
            views.remove_unused(self.path)
        del self._now, self._store


def copy_room_mb(copy_quads: int) -> int:
    """The address space a reader's copies may take: the current view's, and the next
    one's while it is made."""
    return 2 * copy_quads * COPY_BYTES // 2**20


def _sync(path: Path) -> None:
    with open(path, "rb") as written:
        os.fsync(written.fileno())


def _open_writer(path: Path | None) -> ox.Store:
    try:
        if path is None:
            return ox.Store()
        path.mkdir(parents=True, exist_ok=True)
        return ox.Store(str(path))
    except OSError as exc:
        hint = ("; another process writes to it (a running `graphsvc serve`?): stop it, "
                "or load through its HTTP API" if "LOCK" in str(exc) else "")
        raise StoreError(f"cannot open the store: {exc}{hint}", where=str(path)) from exc


def _evaluate(store: ox.Store, sparql: str, limit: int | None, max_bytes: int | None
              ) -> QueryResult:
    try:
        result = store.query(sparql, use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise engine_syntax_error(exc) from exc
    except OSError as exc:
        raise StoreError(f"query failed: {exc}") from exc
    try:
        return _converted(result, limit, max_bytes)
    finally:  # Oxigraph's result may only be dropped by the thread that made it
        del result


def _converted(result: object, limit: int | None, max_bytes: int | None) -> QueryResult:
    """Rows or triples up to ``limit``, and no further than the first past ``max_bytes``:
    the engine stops there, so a huge answer is never all in memory."""
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    size = 0
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = []
        for solution in islice(result, limit):  # (by position: by name cost a third more)
            rows.append(tuple(map(from_ox, solution)))
            if max_bytes is not None:
                size += term_bytes(rows[-1])
                if size > max_bytes:
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


def write_nquads(graphs: Mapping[str, Iterable[Triple]], out: BinaryIO) -> None:
    """The graphs as N-Quads (see :func:`ntriples`). Text rather than Oxigraph terms: a
    term object per quad cost three times as much as its line, and the bulk loader reads
    a file. (Blank nodes get new labels in the store, as any N-Quads load gives them.)"""
    for graph, triples in graphs.items():
        lines = ntriples(triples, f" {_iri(graph)} .\n")
        while chunk := "".join(islice(lines, 20_000)):
            out.write(chunk.encode())


def ntriples(triples: Iterable[Triple], end: str = " .\n") -> Iterator[str]:
    """N-Triples lines (N-Quads with ``end`` naming the graph), every term checked as
    Oxigraph's parser checks it (ValueError), so that a store loading the text cannot
    fail half way; every backend writes through here. Encode as UTF-8: a lone surrogate
    fails there (UnicodeEncodeError, a ValueError too)."""
    return (f"{_nt(s)} {_nt(p)} {_nt(o)}{end}" for s, p, o in triples)


@lru_cache(maxsize=200_000)
def _iri(iri: str) -> str:
    """``<iri>``; IRIs repeat a lot (predicates, types, controls), so each is checked once."""
    ox.NamedNode(iri)  # ValueError if it is not an absolute IRI
    return f"<{iri}>"


_quoted = json.JSONEncoder(ensure_ascii=False).encode  # N-Triples escapes strings as JSON does


def _nt(term: Term) -> str:
    """One rdflib term in N-Triples. A string is written without its datatype: the same
    literal in RDF 1.1, but Virtuoso 7 keeps ``"x"^^xsd:string`` and ``"x"`` apart (and
    sorts one kind after the other)."""
    kind = type(term)
    if kind is URIRef:
        return _iri(term)
    if kind is Literal or isinstance(term, Literal):
        if term.language:
            return f"{_quoted(str(term))}@{_language(term.language)}"
        if term.datatype and term.datatype != XSD.string:  # (URIRef: a str never equals one)
            if term.datatype == RDF.langString:
                raise ValueError(f"a literal typed rdf:langString has no language: {term!r}")
            return f"{_quoted(str(term))}^^{_iri(term.datatype)}"
        return _quoted(str(term))
    if isinstance(term, URIRef):
        return _iri(str(term))
    if isinstance(term, BNode):
        ox.BlankNode(str(term))  # ValueError if the label is not one N-Triples allows
        return f"_:{term}"
    raise BadInput(f"not an RDF term: {term!r}")


@lru_cache(maxsize=1000)
def _language(tag: str) -> str:
    ox.Literal("", language=tag)  # ValueError if it is not a language tag
    return tag


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
