"""``python -m bench.questions [--scales 1,10,100] [--no-rdflib] [--no-servers]``: p50 of
every named question with its default parameters, side by side: the embedded store (on
disk, as graphsvc asks it), a serving reader of it (an in-memory copy where the store is
within ``memory_copy_quads``, else the view's files, as ``graphsvc serve`` reads it),
raw pyoxigraph on the same files running the same bound text
(the engine's floor: no guard, no conversion of the rows), rdflib in memory running the
same query text (parameters as initBindings), a local Oxigraph server and a local
Virtuoso open source (through the remote backend, as the service asks them), at demo
scale (what init loads) and with generated control sets added (10 per 1x, see
bench/data.py). Everything is written through ``graphsvc.writes.commit``, as ``init``
and imports write it, so the derived graphs are there; the servers get a copy of the
same graphs. A ratio to the embedded store is printed only where the engine gives the
same answer (rdflib: the same rows; the servers: the same rows in the same order)."""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

from rdflib import Dataset, URIRef

from bench.common import arguments, median_ms
from bench.data import control_sets
from graphsvc.config import Config
from graphsvc.content import init_store
from graphsvc.errors import BadInput, StoreError
from graphsvc.questions import ask, bind, load_questions
from graphsvc.store import Rows, Store
from graphsvc.store.bindings import bind_values
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore
from graphsvc.store.server import VIRTUOSO_LIMITS, oxigraph_server, virtuoso_server
from graphsvc.writes import commit

TODAY = date(2026, 11, 29)
QUADS = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"


def loaded_store(path: Path, data: Path, scale: int) -> EmbeddedStore:
    """What ``init`` loads, plus the generated control sets beyond 1x."""
    store = EmbeddedStore(path, keep_answers=False)  # engine time, not kept answers
    init_store(store, max_bytes=10**9)
    if scale > 1:
        commit(store, control_sets(data, scale))
    return store


def as_dataset(store: Store) -> Dataset:
    """The same quads in an rdflib Dataset whose default graph is the union."""
    dataset = Dataset(default_union=True)
    rows = store.query(QUADS)
    assert isinstance(rows, Rows)
    for g, s, p, o in rows:
        dataset.graph(URIRef(str(g))).add((s, p, o))
    return dataset


def raw_rows(store: EmbeddedStore, text: str) -> list[tuple[str, ...]]:
    """The bound text straight on the store's pyoxigraph files: the engine's floor."""
    result = store._store.query(text, use_default_graph_as_union=True)
    return [tuple("" if t is None else t.value for t in s) for s in result]


@contextmanager
def servers(store: Store, workdir: Path) -> Iterator[dict[str, RemoteStore]]:
    """An Oxigraph server and a Virtuoso holding the store's graphs."""
    rows = store.query(QUADS)
    assert isinstance(rows, Rows)
    graphs: dict[str, list] = {}
    for g, s, p, o in rows:
        graphs.setdefault(str(g), []).append((s, p, o))
    with oxigraph_server(workdir / "oxigraph") as ox, virtuoso_server(workdir / "virtuoso") as vt:
        remotes = {"oxigraph": RemoteStore(ox + "/query", ox + "/update", ox + "/store"),
                   "virtuoso": RemoteStore(vt + "/sparql", vt + "/sparql",
                                           vt + "/sparql-graph-crud", timeout_s=300)}
        for remote in remotes.values():
            remote.write(graphs)
        yield remotes


def on_server(engine: str, remote: RemoteStore, name: str, expected: object,
              embedded: float, repeats: int) -> str:
    """p50 and ratio to the embedded store, or why there is no ratio."""
    if engine == "virtuoso" and name in VIRTUOSO_LIMITS:
        return "skipped"
    try:
        ms, got = median_ms(lambda: ask(remote, name, today=TODAY), repeats)
    except StoreError:
        return "fails"
    if texts(got) != texts(expected):
        return f"differs ({len(got)} rows)"  # type: ignore[arg-type]
    return f"{ms:.1f} ({ms / embedded:.1f}x)"


def texts(answer: object) -> list[tuple[str, ...]]:
    return [tuple("" if v is None else str(v) for v in row) for row in answer]  # type: ignore[attr-defined]


def comparable(answer: object) -> list[tuple[str, ...]]:
    rows = answer.rows if isinstance(answer, Rows) else list(answer)  # type: ignore[attr-defined]
    return sorted(tuple("" if v is None else str(v) for v in row) for row in rows)


def main() -> None:
    args = arguments(__doc__, repeats=21, scales="1,10", flags={
        "--no-rdflib": "leave rdflib out (some texts run for minutes and take gigabytes there)",
        "--no-servers": "leave the Oxigraph server and Virtuoso out (copying 100x takes long)"})
    print(f"{'question':<24} {'scale':>5} {'triples':>9} {'rows':>6} {'embedded p50 ms':>16} "
          f"{'served ms':>16} {'pyoxigraph ms':>16} {'rdflib p50 ms':>14} {'ratio':>14} "
          f"{'Oxigraph server ms':>20} {'Virtuoso ms':>20}")
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            store = loaded_store(Path(tmp) / "store", args.data, scale)
            triples = sum(g.triples for g in store.graphs())
            served = EmbeddedStore(store.path, read_only=True, keep_answers=False,
                                   copy_quads=Config().memory_copy_quads)
            print(f"{scale}x served from " + ("an in-memory copy" if served.wait_for_copy(600)
                                              else "the view's files"), flush=True)
            dataset = None if args.no_rdflib else as_dataset(store)
            gc.freeze()  # the bench's own objects (the rdflib copy: millions) out of the
            # collector's walks, which otherwise land on whichever column allocates most
            with nullcontext({}) if args.no_servers else servers(store, Path(tmp)) as remotes:
                run_scale(store, served, dataset, remotes, scale, triples, args.repeats)
            served.close()
            store.close()


def run_scale(store: EmbeddedStore, served: EmbeddedStore, dataset: Dataset | None,
              remotes: dict[str, RemoteStore], scale: int, triples: int, repeats: int) -> None:
    for name, question in load_questions().items():
        try:
            bindings = bind(question, {}, store, TODAY)
        except BadInput as exc:  # its defaults name content init does not load
            print(f"{name:<24} {scale:>4}x skipped: {exc}")
            continue
        embedded, expected = median_ms(
            lambda n=name, s=store: ask(s, n, today=TODAY), repeats)
        rows = len(expected)  # type: ignore[arg-type]
        served_ms, got = median_ms(lambda n=name: ask(served, n, today=TODAY), repeats)
        reading = (f"{served_ms:.2f} ({served_ms / embedded:.1f}x)"
                   if texts(got) == texts(expected) else f"differs ({len(got)} rows)")
        text = bind_values(question.sparql, bindings) if bindings else question.sparql
        raw_ms, raw = median_ms(lambda t=text, s=store: raw_rows(s, t), repeats)
        floor = (f"{raw_ms:.2f} ({embedded / raw_ms:.1f}x)" if raw == texts(expected)
                 else f"differs ({len(raw)} rows)")
        rdflib_ms, verdict = float("nan"), "not run"
        if dataset is not None:
            rdflib_ms, got = median_ms(
                lambda q=question, b=bindings, d=dataset: list(d.query(q.sparql,
                                                                      initBindings=b)),
                max(1, repeats // (4 * scale)))
            verdict = (f"{rdflib_ms / embedded:.0f}" if comparable(got) ==
                       comparable(expected) else f"differs: {len(got)} rows")
        ox, vt = (on_server(k, remotes[k], name, expected, embedded, repeats)
                  if remotes else "not run" for k in ("oxigraph", "virtuoso"))
        print(f"{name:<24} {scale:>4}x {triples:>9} {rows:>6} {embedded:>16.2f} {reading:>16} "
              f"{floor:>16} {rdflib_ms:>14.1f} {verdict:>14} {ox:>20} {vt:>20}", flush=True)


if __name__ == "__main__":
    main()
