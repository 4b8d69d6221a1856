"""Search across every loaded framework: identifiers in any notation, titles and text.

The index is a SQLite FTS5 database (the standard library's), derived from the
framework index and each requirement's current text. It is kept in step with the
store by :func:`graphsvc.writes.commit`, which calls :func:`refresh` after every write
that changes requirements. Where it lives:

* embedded store on disk: a file beside the store directory (``store.search.sqlite``),
  rebuilt by the writing process and swapped in with one rename, so any number of
  reading processes (``serve`` workers, ``graphsvc`` commands) see the old file or
  the new one, never half of one;
* remote store: a file in the user's cache directory, named after the endpoint,
  rebuilt by each process when it first searches and after each of its writes (other
  writers of the endpoint are not seen before that);
* in-memory store (tests): in memory, rebuilt on the first search after a write.

Ranking: an identifier given in any notation (AC-2, AC-2(1), ac-2.1, AC-02, A.5.15,
GV.RM-02) comes first; then requirements whose title matches, then those whose
statement matches, then those whose guidance does (BM25 within each tier). An
enhancement's hits count for its control (SC-28 is found through SC-28(1)
"Cryptographic Protection"), which lists them. Results are grouped by framework.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from graphsvc.identity import normalise_id, notation
from graphsvc.store import Rows, Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore

log = logging.getLogger(__name__)
FORMAT = "graphsvc-search 3"  # stored in the index; another value means rebuild
MAX_TERMS = 12
PREFIXES = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
INDEX = "<https://w3id.org/graphsvc/graph/derived/frameworks>"
REQUIREMENTS = PREFIXES + f"""
SELECT ?r ?fw ?fwLabel ?id ?title ?base ?withdrawn ?sort WHERE {{ GRAPH {INDEX} {{
  ?r a gc:Requirement ; gc:identifier ?id ; gc:inFramework ?fw .
  OPTIONAL {{ ?fw rdfs:label ?fwLabel }}
  OPTIONAL {{ ?r gc:title ?title }}
  OPTIONAL {{ ?r gc:enhances ?base }}
  OPTIONAL {{ ?r gc:withdrawn ?withdrawn }}
  OPTIONAL {{ ?r gc:sortKey ?sort }}
}} }}
"""
NOTATIONS = PREFIXES + f"SELECT ?r ?alt WHERE {{ GRAPH {INDEX} {{ ?r skos:altLabel ?alt }} }}"
# every part of the current text, in reading order: a part belongs to the section of
# the top-level part (depth 0) before it
PARTS = PREFIXES + f"""
SELECT ?r ?order ?depth ?name ?prose WHERE {{
  GRAPH {INDEX} {{ ?r gc:currentVersion ?v }}
  ?v gc:hasPart/gc:hasPart* ?part . ?part gc:order ?order ; gc:depth ?depth .
  OPTIONAL {{ ?part gc:partName ?name }} OPTIONAL {{ ?part gc:prose ?prose }}
}}
"""
DESCRIPTIONS = PREFIXES + f"""
SELECT ?r ?prose WHERE {{ GRAPH {INDEX} {{ ?r gc:currentVersion ?v }} ?v gc:description ?prose }}
"""
PARAMETERS = PREFIXES + f"""
SELECT ?r ?pid ?label ?choice WHERE {{
  GRAPH {INDEX} {{ ?r gc:currentVersion ?v }}
  ?v gc:hasParameter ?vp . ?vp gc:identifier ?pid .
  OPTIONAL {{ ?vp rdfs:label ?label }} OPTIONAL {{ ?vp gc:choice ?choice }}
}}
"""
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE requirement (id INTEGER PRIMARY KEY, iri TEXT, framework TEXT,
  framework_label TEXT, identifier TEXT, notation TEXT, title TEXT, base TEXT,
  withdrawn INTEGER, sort TEXT);
CREATE TABLE notation (key TEXT, requirement INTEGER);
CREATE INDEX notation_key ON notation (key);
CREATE VIRTUAL TABLE text USING fts5 (title, statement, guidance,
  tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE typed USING fts5 (title, statement, guidance,
  tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
"""
# "typed": the same text unstemmed, for typing ahead: a stemmer turns the half-typed
# "encry" into "encri", which no word starts with
PLACEHOLDER = re.compile(r"\{\{\s*insert:\s*param,\s*([^}\s]+)\s*\}\}")
TIERS = ("identifier", "title", "statement", "guidance")
WEIGHTS = (10.0, 3.0, 1.0)  # BM25 weights of title, statement, guidance
HIT, END = "\x02", "\x03"  # marks around matched words in snippets


# ------------------------------------------------------------------ results


@dataclass
class Hit:
    """A requirement found, with the enhancements of it that matched."""

    iri: str
    framework: str
    framework_label: str
    notation: str
    title: str
    snippet: str = ""
    matched: str = ""  # identifier, title, statement, guidance or enhancements
    enhancements: list[Hit] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"iri": self.iri, "notation": self.notation, "title": self.title,
                "matched": self.matched, "snippet": self.snippet.replace(HIT, "")
                .replace(END, ""), "enhancements": [e.as_json() for e in self.enhancements]}


@dataclass
class FrameworkHits:
    framework: str
    label: str
    hits: list[Hit]
    total: int


@dataclass
class Results:
    query: str
    frameworks: list[FrameworkHits]
    all_words: bool = True  # False: no requirement has every word, these have some

    @property
    def total(self) -> int:
        return sum(f.total for f in self.frameworks)

    def as_json(self) -> dict[str, object]:
        return {"query": self.query, "total": self.total, "allWords": self.all_words,
                "frameworks": [{"framework": f.framework, "label": f.label, "total": f.total,
                                "results": [h.as_json() for h in f.hits]}
                               for f in self.frameworks]}


# ------------------------------------------------------------------ where the index lives


_lock = threading.Lock()
_memory: weakref.WeakKeyDictionary[Store, sqlite3.Connection] = weakref.WeakKeyDictionary()
_built_here: set[Path] = set()  # remote indexes this process has built since it started
_open: dict[Path, tuple[tuple[int, int], sqlite3.Connection]] = {}


def location(store: Store) -> Path | None:
    """The index file of a store (None: kept in memory)."""
    if isinstance(store, EmbeddedStore):
        path = store.path
        return None if path is None else path.parent / f"{path.name}.search.sqlite"
    if isinstance(store, RemoteStore):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        name = hashlib.sha256(store.query_url.encode()).hexdigest()[:16]
        return cache / "graphsvc" / f"search-{name}.sqlite"
    return None


def refresh(store: Store) -> None:
    """Bring the index in step after a write (called by graphsvc.writes.commit). A
    failure is logged and the index removed, so that the next search rebuilds it: the
    write itself stands."""
    path = location(store)
    with _lock:
        if path is None:
            _memory.pop(store, None)  # rebuilt by the next search
            return
        try:
            _build_file(store, path)
        except (sqlite3.Error, OSError) as exc:
            log.warning("search index not rebuilt (%s); the next search rebuilds it", exc)
            path.unlink(missing_ok=True)


def _connection(store: Store) -> sqlite3.Connection:
    """The current index of the store, built first if there is none yet."""
    path = location(store)
    with _lock:
        if path is None:
            if store not in _memory:
                _memory[store] = _fill(sqlite3.connect(":memory:", check_same_thread=False),
                                       store)
            return _memory[store]
        remote = isinstance(store, RemoteStore)
        if not _usable(path) or (remote and path not in _built_here):
            _build_file(store, path)
        stat = path.stat()
        seen = (stat.st_ino, stat.st_mtime_ns)
        if path not in _open or _open[path][0] != seen:  # another process swapped it in
            if path in _open:
                _open[path][1].close()
            _open[path] = (seen, sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                 check_same_thread=False))
        return _open[path][1]


def _usable(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        return row is not None and row[0] == FORMAT
    except sqlite3.Error:
        return False


def _build_file(store: Store, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".new")
    os.close(fd)
    try:
        db = sqlite3.connect(name)
        try:
            _fill(db, store)
        finally:
            db.close()
        os.replace(name, path)  # readers see the old file or the new one
    finally:
        Path(name).unlink(missing_ok=True)
    if isinstance(store, RemoteStore):
        _built_here.add(path)


# ------------------------------------------------------------------ building


def _rows(store: Store, query: str) -> Iterator[tuple[str | None, ...]]:
    result = store.query(query)
    assert isinstance(result, Rows)
    for row in result:
        yield tuple(None if term is None else str(term) for term in row)


def _fill(db: sqlite3.Connection, store: Store) -> sqlite3.Connection:
    """Write the index of what the store holds into an empty database."""
    db.executescript(SCHEMA)
    ids: dict[str, int] = {}
    for n, (iri, fw, fw_label, ident, title, base, withdrawn, sort) in enumerate(
            sorted(_rows(store, REQUIREMENTS)), start=1):
        if iri in ids:
            continue
        ids[iri] = n
        db.execute("INSERT INTO requirement VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (n, iri, fw, fw_label or fw.rsplit("/", 1)[-1], ident, notation(ident),
                    title or "", base, withdrawn == "true", sort or ""))
    keys = [(ident.lower(), n) for iri, n in ids.items()
            for ident in [iri.rsplit("/", 1)[-1]]]
    keys += [(alt.lower(), ids[r]) for r, alt in _rows(store, NOTATIONS) if r in ids]
    keys += [(normalise_id(n_.lower()), n) for n_, n in
             db.execute("SELECT identifier, id FROM requirement").fetchall()]
    db.executemany("INSERT INTO notation VALUES (?, ?)", sorted(set(keys)))
    labels: dict[str, dict[str, str]] = defaultdict(lambda: defaultdict(str))
    for r, pid, label, choice in _rows(store, PARAMETERS):  # a label, else the choices
        labels[r][pid] = label or " ".join(filter(None, (labels[r][pid], choice)))
    descriptions = ((r, "-1", "0", "statement", prose) for r, prose in _rows(store, DESCRIPTIONS))
    sections = _sections([*_rows(store, PARTS), *descriptions], labels)
    for iri, n in ids.items():  # a title that only repeats the identifier (CSF 2.0):
        text = " ".join(sections[iri]["statement"])  # the statement says what it is
        db.execute("UPDATE requirement SET title = ? WHERE id = ? AND (title = '' OR "
                   "lower(title) = identifier)", (_first_sentence(text), n))
    titles = dict(db.execute("SELECT iri, title FROM requirement").fetchall())
    texts = [(n, titles[iri], " ".join(sections[iri]["statement"]),
              " ".join(sections[iri]["guidance"])) for iri, n in ids.items()]
    for table in ("text", "typed"):
        db.executemany(f"INSERT INTO {table} (rowid, title, statement, guidance) "
                       "VALUES (?, ?, ?, ?)", texts)
    db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
    db.commit()
    return db


def _sections(rows: Iterable[tuple[str | None, ...]], labels: dict[str, dict[str, str]]
              ) -> dict[str, dict[str, list[str]]]:
    """Per requirement, its statement and guidance text (parameters by their labels)."""
    parts: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
    for r, order, depth, name, prose in rows:
        parts[r].append((int(order), int(depth), name or "", prose or ""))
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"statement": [], "guidance": []})
    for r, found in parts.items():
        section = "statement"
        for _, depth, name, prose in sorted(found):
            if depth == 0:
                section = name
            if prose and section in ("statement", "guidance", "description"):
                text = fill_placeholders(prose, lambda pid, r=r: labels[r][pid])
                out[r]["guidance" if section == "guidance" else "statement"].append(text)
    return out


def _first_sentence(text: str, most: int = 160) -> str:
    sentence = re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0]
    return sentence if len(sentence) <= most else sentence[: most - 1].rstrip() + "…"


def fill_placeholders(prose: str, value) -> str:
    """The prose with each ``{{ insert: param, ID }}`` replaced by ``value(ID)``."""
    return PLACEHOLDER.sub(lambda m: value(m.group(1)), prose)


# ------------------------------------------------------------------ searching


@lru_cache(maxsize=1)
def synonyms() -> tuple[tuple[str, ...], ...]:
    """The groups of web/search-synonyms.txt."""
    from graphsvc.content import data_dir  # content imports the importers, which import us

    lines = (data_dir("web") / "search-synonyms.txt").read_text().splitlines()
    return tuple(tuple(line.split()) for line in lines if line.strip() and not
                 line.startswith("#"))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())[:MAX_TERMS]


def match_expression(text: str, *, prefix: bool = False, any_word: bool = False) -> str:
    """An FTS5 query from the user's words: every word a quoted string (never FTS5
    syntax), a word of a synonym group widened to its group; the last word a prefix
    when typing ahead."""
    words = _words(text)
    clauses = []
    for i, word in enumerate(words):
        group = next((g for g in synonyms() if any(word.startswith(s) for s in g)), None)
        if group:
            alternatives = [" ".join(s.split("-")) for s in group]
            clauses.append("(" + " OR ".join(f'"{a}"*' for a in alternatives) + ")")
        else:
            star = "*" if prefix and i == len(words) - 1 else ""
            clauses.append(f'"{word}"{star}')
    return (" OR " if any_word else " AND ").join(clauses)


def search(store: Store, text: str, *, framework: str | None = None, limit: int = 20,
           prefix: bool = False) -> Results:
    """Requirements matching ``text``, best first, grouped by framework (at most
    ``limit`` per framework; ``framework`` keeps one)."""
    db = _connection(store)
    with _lock:
        named = _identifier_hits(db, text, prefix)
        words, all_words = {}, True
        if 0 not in named.values():  # a query that names a requirement is not prose
            words = _text_hits(db, text, prefix, any_word=False)
        if not words and not named:
            words, all_words = _text_hits(db, text, prefix, any_word=True), False
        rows = _describe(db, set(named) | set(words))
    by_framework: dict[str, list[Hit]] = defaultdict(list)
    for hit in _ranked(rows, named, words):
        if framework in (None, hit.framework):
            by_framework[hit.framework].append(hit)
    frameworks = [FrameworkHits(fw, hits[0].framework_label, hits[:limit], len(hits))
                  for fw, hits in by_framework.items()]  # in the order of their best hit
    return Results(text, frameworks, all_words)


def titles(store: Store) -> dict[str, str]:
    """Each requirement's title as search shows it (a statement's first sentence where
    the title only repeats the identifier, as in CSF 2.0)."""
    db = _connection(store)
    with _lock:
        return dict(db.execute("SELECT iri, title FROM requirement").fetchall())


def _identifier_hits(db: sqlite3.Connection, text: str, prefix: bool) -> dict[int, int]:
    """Requirements the text names in any notation: 0 for the one it names, 1 for the
    enhancements of it (``ac-2`` gives ``ac-2.1``) or, typing ahead, for every
    identifier that starts with it."""
    given = text.strip().lower()
    if not given or " " in given or len(given) > 40:
        return {}
    keys = {given, normalise_id(given)}
    hits: dict[int, int] = {}
    for key in keys:
        for (n,) in db.execute("SELECT requirement FROM notation WHERE key = ?", (key,)):
            hits[n] = 0
        for start in ([key] if prefix else [key + ".", key + "("]):
            for (n,) in db.execute("SELECT requirement FROM notation WHERE key > ? AND "
                                   "key < ? ORDER BY key LIMIT 200", (start, start + "\uffff")):
                hits.setdefault(n, 1)
    return hits


def _text_hits(db: sqlite3.Connection, text: str, prefix: bool, any_word: bool
               ) -> dict[int, tuple[int, float, str]]:
    """rowid -> (tier, BM25 score, snippet) of the requirements whose text matches:
    tier 1 the title has the words, 2 title and statement have them, 3 only with the
    guidance."""
    expression = match_expression(text, prefix=prefix, any_word=any_word)
    if not expression:
        return {}
    weights = ", ".join(str(w) for w in WEIGHTS)
    table = "typed" if prefix else "text"
    try:
        in_title, in_statement = (
            {n for (n,) in db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ?",
                                      (f"{columns} : ({expression})",))}
            for columns in ("{title}", "{title statement}"))
        hits = {}
        for n, score, snippet in db.execute(
                f"SELECT rowid, bm25({table}, {weights}), "
                f"snippet({table}, 1, ?, ?, '…', 24) FROM {table} WHERE {table} MATCH ?",
                (HIT, END, expression)):
            tier = 1 if n in in_title else 2 if n in in_statement else 3
            hits[n] = (tier, score, snippet)
    except sqlite3.OperationalError:  # a word FTS5 cannot take even quoted: no text hits
        return {}
    return hits


_COLUMNS = "id, iri, framework, framework_label, notation, title, base, withdrawn"


def _describe(db: sqlite3.Connection, ids: set[int]) -> dict[str, tuple]:
    """iri -> the index's row, for the hits and the controls their enhancements enhance."""
    rows = {row[1]: row for row in db.execute(
        f"SELECT {_COLUMNS} FROM requirement WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(ids)),))}
    bases = sorted({row[6] for row in rows.values() if row[6] and row[6] not in rows})
    rows.update({row[1]: row for row in db.execute(
        f"SELECT {_COLUMNS} FROM requirement WHERE iri IN (SELECT value FROM json_each(?))",
        (json.dumps(bases),))})
    return rows


def _ranked(rows: dict[str, tuple], named: dict[int, int],
            words: dict[int, tuple[int, float, str]]) -> list[Hit]:
    """Hits in rank order: named ones; then by the best tier of the requirement or its
    enhancements (those matching themselves first), then by the best BM25 score plus a
    fifth of the others' (an enhancement's hit counts for and is listed under its
    control)."""
    heads: dict[str, Hit] = {}
    scores: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def head(iri: str) -> Hit:
        if iri not in heads:
            _, _, fw, fw_label, note, title, _, _ = rows[iri]
            heads[iri] = Hit(iri, fw, fw_label, note, title, matched="enhancements")
        return heads[iri]

    for n, iri, fw, fw_label, note, title, base, withdrawn in rows.values():
        if n in named:
            head(iri).matched = "identifier"
        elif n in words and not withdrawn:
            tier, score, snippet = words[n]
            owner = base if base in rows else iri
            if owner == iri:
                head(iri).matched, head(iri).snippet = TIERS[tier], snippet
            else:
                head(owner).enhancements.append(
                    Hit(iri, fw, fw_label, note, title, snippet, TIERS[tier]))
            scores[owner].append((tier, score))

    def rank(hit: Hit) -> tuple:
        n = rows[hit.iri][0]
        if n in named:
            return (0, named[n], 0, 0.0)
        tiers = sorted(scores[hit.iri])
        best = tiers[0]
        own = hit.matched != "enhancements" and TIERS.index(hit.matched) == best[0]
        return (1, best[0], 0 if own else 1, best[1] + sum(s for _, s in tiers[1:]) / 5)

    for hit in heads.values():
        hit.enhancements.sort(key=lambda h: (TIERS.index(h.matched), natural_key(h.notation)))
    return sorted((h for h in heads.values() if rows[h.iri][0] in named or scores[h.iri]),
                  key=lambda h: (*rank(h), natural_key(h.notation)))


def natural_key(text: str) -> tuple:
    """Sorts ac-2 before ac-10 and a.5.9 before a.5.15."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text.lower()) if part)
