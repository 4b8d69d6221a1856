"""``python -m bench.questions [--scales 1,10,100]``: p50 of every named question with its
default parameters, on the embedded store (on disk) and on rdflib in memory running the
same query text (parameters as initBindings), at demo scale (what init loads) and with
generated control sets added (10 per 1x, see bench/data.py)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from rdflib import Dataset, URIRef

from bench.common import arguments, median_ms
from bench.data import build
from graphsvc.content import shipped_graphs
from graphsvc.errors import BadInput
from graphsvc.questions import ask, bind, load_questions
from graphsvc.store.embedded import EmbeddedStore

TODAY = date(2026, 11, 29)


def main() -> None:
    args = arguments(__doc__, repeats=21, scales="1,10")
    print(f"{'question':<16} {'scale':>5} {'triples':>9} {'embedded p50 ms':>16} "
          f"{'rdflib p50 ms':>14} {'ratio':>7}")
    for scale in args.scales:
        graphs = dict(shipped_graphs(True, 10**9))
        if scale > 1:
            graphs.update({g: t for g, t in build(args.data, scale).items()
                           if "/bench/" in g})
        triples = sum(len(t) for t in graphs.values())
        with tempfile.TemporaryDirectory() as tmp:
            store = EmbeddedStore(Path(tmp) / "store", keep_answers=False)  # engine time
            store.write(graphs)
            dataset = Dataset(default_union=True)
            for name, content in graphs.items():
                graph = dataset.graph(URIRef(name))
                graph.addN((s, p, o, graph) for s, p, o in content)
            for name, question in load_questions().items():
                try:
                    bindings = bind(question, {}, store, TODAY)
                except BadInput as exc:  # its defaults name content init does not load
                    print(f"{name:<16} {scale:>4}x skipped: {exc}")
                    continue
                embedded, _ = median_ms(lambda n=name, s=store: ask(s, n, today=TODAY),
                                        args.repeats)
                rdflib_ms, _ = median_ms(
                    lambda q=question, b=bindings, d=dataset: list(
                        d.query(q.sparql, initBindings=b)),
                    max(1, args.repeats // (4 * scale)))
                print(f"{name:<16} {scale:>4}x {triples:>9} {embedded:>16.2f} "
                      f"{rdflib_ms:>14.1f} {rdflib_ms / embedded:>7.0f}", flush=True)
            store.close()


if __name__ == "__main__":
    main()
