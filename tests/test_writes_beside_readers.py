"""Writes beside readers, with real processes: a writer killed with -9 at any moment,
restarted (it recovers), while other processes read the whole time. Readers never
open the writer's files (they read the views it publishes), so they never fail, never
replay its log, never see half a write; every acknowledged write is kept; a write that
a crash cut short is, once the next writer starts, whole or absent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import BNode, Literal, URIRef

from graphsvc.errors import StoreError
from graphsvc.store import views
from graphsvc.store.embedded import JOURNAL, EmbeddedStore
from tests.helpers import BAD_TERMS, copied

TRIPLES = 12_000  # per graph: past the bulk loader's threshold, and a move of seconds
ROUNDS_AT_MOST = 16  # writers started and killed (a busy machine makes hits rarer)
EX = "https://example.org/rounds/"

# Each round adds graph new-R and replaces graph shared with round R's content, in one
# write: both or neither must ever be seen.
WRITER = f"""
import sys
from pathlib import Path
from rdflib import Literal, URIRef
from graphsvc.store.embedded import EmbeddedStore

EX, TRIPLES = {EX!r}, {TRIPLES}

def content(tag):
    return [(URIRef(f"{{EX}}s{{i // 6}}"), URIRef(f"{{EX}}p{{i % 6}}"), Literal(f"{{tag}} {{i}}"))
            for i in range(TRIPLES)]

store = EmbeddedStore(Path(sys.argv[1]))
first = int(sys.argv[2])
print("open", flush=True)
for r in range(first, first + 1000):
    store.write({{EX + f"new-{{r}}": content(r), EX + "shared": content(r)}}, replace=True)
    print(f"ack {{r}}", flush=True)
"""

READER = """
import json, sys, time
from pathlib import Path
from graphsvc.store.embedded import EmbeddedStore

QUERY = '''SELECT ?g (COUNT(*) AS ?n) (MIN(STR(?o)) AS ?low) (MAX(STR(?o)) AS ?high)
           WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g'''
reopen = sys.argv[2] == "reopen"
copy = sys.argv[2] == "copy"  # from an in-memory copy, once made (no kept answers)
store = None
while True:
    try:
        if store is None or reopen:
            store = EmbeddedStore(Path(sys.argv[1]), read_only=True, keep_answers=not copy,
                                  copy_quads=10**6 if copy else 0)
        rows = store.query(QUERY)
        print("ok " + json.dumps([[str(v) for v in row] for row in rows]), flush=True)
        if store.in_memory:
            print("memory", flush=True)
        if reopen:
            store.close()
    except Exception as exc:
        print(f"error {type(exc).__name__} {exc}".replace("\\n", " "), flush=True)
    time.sleep(0.02)
"""


def _tag(value: str) -> int:
    return int(value.split()[0])


def _check(observation: list[list[str]], where: str) -> int | None:
    """Every graph whole and of one round; new-R present only with shared at R or later.
    Returns the round shared holds."""
    graphs = {g.removeprefix(EX): (int(n), low, high) for g, n, low, high in observation}
    shared = None
    if "shared" in graphs:
        n, low, high = graphs["shared"]
        assert n == TRIPLES and _tag(low) == _tag(high), (where, graphs["shared"])
        shared = _tag(low)
    for name, (n, low, high) in graphs.items():
        if name.startswith("new-"):
            r = int(name.removeprefix("new-"))
            assert n == TRIPLES and _tag(low) == _tag(high) == r, (where, name, n)
            assert shared is not None and shared >= r, (where, name, shared)
    return shared


def test_writer_killed_at_any_moment_while_processes_read(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with EmbeddedStore(path) as store:  # something to read from the start
        store.write({"https://example.org/other": [(URIRef(EX + "a"), URIRef(EX + "b"),
                                                    Literal("c"))]})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(path), how], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for how in ("follow", "reopen", "copy")]
    cli = Path(sys.executable).parent / "graphsvc"
    acknowledged: list[int] = []
    rng = random.Random(8477)
    killed_mid_write = 0
    try:
        for round_ in range(ROUNDS_AT_MOST):  # 6, and more until a kill hits a write
            if round_ >= 6 and killed_mid_write:
                break
            writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path),
                                       str(100 * round_)], env=env, stdout=subprocess.PIPE,
                                      text=True)
            assert writer.stdout.readline().strip() == "open"  # recovered, if it had to
            # the CLI opens the store as a reader each time, while the writer recovers
            listed = subprocess.run([cli, "--store", str(path), "graphs"], env=env,
                                    capture_output=True, text=True, timeout=120)
            assert listed.returncode == 0, listed.stderr
            time.sleep(rng.uniform(0.2, 4.0))
            writer.send_signal(signal.SIGKILL)
            out = writer.communicate(timeout=60)[0]
            acknowledged += [int(line.split()[1]) for line in out.splitlines()
                             if line.startswith("ack")]
            killed_mid_write += (path / JOURNAL).exists()
    finally:
        for reader in readers:
            reader.terminate()
    with EmbeddedStore(path) as store:  # the last crash is recovered here
        assert not (path / JOURNAL).exists()
        final = store.query("""SELECT ?g (COUNT(*) AS ?n) (MIN(STR(?o)) AS ?low)
                               (MAX(STR(?o)) AS ?high) WHERE { GRAPH ?g { ?s ?p ?o } }
                               GROUP BY ?g""")
        shared = _check([[str(v) for v in row] for row in final], "after the last crash")
        names = {str(row[0]) for row in final}
    assert acknowledged, "no write finished: the test proves nothing"
    assert killed_mid_write, "no kill hit a write: the test proves nothing"
    assert all(EX + f"new-{r}" in names for r in acknowledged)  # every ack kept
    assert shared is not None and shared >= max(acknowledged)
    seen, from_memory = 0, 0
    for reader in readers:
        for line in reader.communicate(timeout=60)[0].splitlines():
            kind, _, rest = line.partition(" ")
            from_memory += kind == "memory"
            if kind == "memory":
                continue
            assert kind == "ok", line  # never an error, whatever the writer was doing
            _check(json.loads(rest), "a reader")
            seen += 1
    assert seen > 20
    assert from_memory, "the copying reader never read a copy: the test proves less"


def test_readers_replay_no_log_after_a_crash(tmp_path: Path) -> None:
    """A writer killed after a large write leaves its log to its successor; the views
    readers open hold none (their memory was flushed when they were made)."""
    path = tmp_path / "store"
    script = f"""
import os, signal, sys
from pathlib import Path
from rdflib import Literal, URIRef
from graphsvc.store.embedded import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
store.write({{"{EX}small": [(URIRef("{EX}s{{}}".format(i)), URIRef("{EX}p"), Literal(i))
                            for i in range(5000)]}})
os.kill(os.getpid(), signal.SIGKILL)
"""
    died = subprocess.run([sys.executable, "-c", script, str(path)], timeout=300)
    assert died.returncode == -signal.SIGKILL
    logs = sum(f.stat().st_size for f in path.glob("*.log"))
    assert logs > 0  # the writer's log holds the write (its memory was never flushed)
    with EmbeddedStore(path, read_only=True) as reader:
        assert reader.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0][0].toPython(
        ) == 5000
        name = views.newest(path)
    assert sum(f.stat().st_size for f in (path / views.VIEWS / name).glob("*.log")) == 0


def test_old_views_go_once_no_reader_holds_them(tmp_path: Path) -> None:
    path = tmp_path / "store"

    def published() -> list[str]:
        return sorted(os.listdir(path / views.VIEWS))

    with EmbeddedStore(path) as store:
        store.write({EX + "g": [(URIRef(EX + "a"), URIRef(EX + "p"), Literal(1))]})
        reader = EmbeddedStore(path, read_only=True)
        held = views.newest(path)
        for i in range(3):
            store.write({EX + "g": [(URIRef(EX + "a"), URIRef(EX + "p"), Literal(i))]},
                        replace=True)
        assert published() == [held, views.newest(path), "current"]  # the others went
        assert reader.query("SELECT ?o WHERE { ?s ?p ?o }").rows[0][0].toPython() == 2
        now_held = views.newest(path)  # the reader moved to it, and let the old one go
        store.write({EX + "h": []})
        assert published() == [now_held, views.newest(path), "current"]
        reader.close()
        store.write({EX + "i": []})
        assert published() == [views.newest(path), "current"]


@pytest.mark.parametrize("term", BAD_TERMS.values(), ids=BAD_TERMS.keys())
def test_a_bad_term_anywhere_changes_nothing_on_every_path(
        tmp_path: Path, term: URIRef | Literal | BNode) -> None:
    """Small and bulk inserts, and replacements, check every term before anything
    changes: a term Oxigraph would refuse, at the end, leaves the store and its readers
    as they were."""
    path = tmp_path / "store"
    bad = (URIRef(EX + "s"), URIRef(EX + "p"), term)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

    def triples(n: int, tag: str) -> list:
        return [(URIRef(f"{EX}s{i}"), URIRef(EX + "p"), Literal(f"{tag} {i}")) for i in range(n)]

    with EmbeddedStore(path) as store:
        store.write({EX + "kept": triples(100, "kept")})
        reader = EmbeddedStore(path, read_only=True)
        published = views.newest(path)
        for n in (10, 20_000):  # below and past the bulk loader's threshold
            for graphs, replace in (({EX + "new": [*triples(n, "new"), bad]}, False),
                                    ({EX + "kept": [*triples(n, "new"), bad]}, True)):
                with pytest.raises(StoreError, match="nothing was changed"):
                    store.write(graphs, replace=replace)
                assert store.query(count).rows[0][0].toPython() == 100
                assert reader.query(count).rows[0][0].toPython() == 100
                assert views.newest(path) == published
                assert not (path / JOURNAL).exists()
        reader.close()
    memory = EmbeddedStore()  # (its write is one transaction too, after the same checks)
    memory.write({EX + "kept": triples(100, "kept")})
    with pytest.raises(StoreError, match="nothing was changed"):
        memory.write({EX + "kept": [*triples(10, "new"), bad]}, replace=True)
    assert memory.query(count).rows[0][0].toPython() == 100


def test_a_reader_with_a_copy_sees_each_write_at_once_and_answers_as_the_files(
        tmp_path: Path) -> None:
    """A serving reader answers from an in-memory copy of the newest view once it has
    made it; after a write its next query reads the new view's files (the copy comes
    later), and the copy answers row for row as the files do, blank nodes and all. A
    view past the bound is never copied."""
    path = tmp_path / "store"
    listing = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
    people = [BNode(), BNode()]

    def content(tag: str) -> list:
        return [*((URIRef(f"{EX}s{i}"), URIRef(EX + "p"), Literal(f"{tag} {i}"))
                  for i in range(50)),
                *((person, URIRef(EX + "name"), Literal(f"{tag} person {i}"))
                  for i, person in enumerate(people))]

    with EmbeddedStore(path) as store:
        store.write({EX + "g": content("first")})
        files = EmbeddedStore(path, read_only=True, keep_answers=False)
        reader = copied(EmbeddedStore(path, read_only=True, keep_answers=False,
                                      copy_quads=1000))
        small = EmbeddedStore(path, read_only=True, copy_quads=10)  # the view holds 52
        assert reader.query(listing).rows == files.query(listing).rows
        for round_ in range(3):
            store.write({EX + "g": content(f"round {round_}")}, replace=True)
            seen = reader.query(listing).rows  # at once (the files', or a quick copy's)
            assert seen == store.query(listing).rows
            assert copied(reader).query(listing).rows == seen == files.query(listing).rows
        assert not small.wait_for_copy(120)
        for each in (files, reader, small):
            each.close()
