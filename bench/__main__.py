"""``python -m bench [--scales 1,10,100]``: load and a coverage-style query at 1x, 10x and
100x, on the embedded store (on disk), rdflib in memory (same query text, parameters
as rdflib's initBindings) and a real
Oxigraph server; medians in ms and ratios against the embedded store, all measured in
this one process run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rdflib import Dataset, URIRef

from bench.common import arguments, median_ms
from bench.data import baseline_iri, build
from graphsvc.namespaces import ID
from graphsvc.store import Rows, Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.store.remote import RemoteStore
from graphsvc.store.server import oxigraph_server

QUERY = (Path(__file__).parent / "coverage.rq").read_text()


def normalised(result: object) -> list[tuple[str, ...]]:
    rows = result.rows if isinstance(result, Rows) else list(result)
    return [tuple(str(int(v)) if v is not None and str(v).isdigit() else str(v) for v in row)
            for row in rows]


def bench_scale(scale: int, data: Path, workdir: Path, repeats: int) -> dict[str, float]:
    graphs = build(data, scale)
    triples = sum(len(t) for t in graphs.values())
    bindings = {"baseline": baseline_iri("MODERATE"), "controlSet": ID["bench/controlset/0"]}
    figures: dict[str, float] = {"triples": triples}

    embedded = EmbeddedStore(workdir / f"embedded-{scale}", keep_answers=False)
    figures["load embedded"], _ = median_ms(lambda: embedded.write(graphs, replace=True), 1)
    figures["query embedded"], expected = median_ms(lambda: embedded.query(QUERY, bindings),
                                                    repeats)
    embedded.close()

    dataset = Dataset(default_union=True)

    def load_rdflib() -> None:
        for name, content in graphs.items():
            graph = dataset.graph(URIRef(name))
            graph.addN((s, p, o, graph) for s, p, o in content)

    figures["load rdflib"], _ = median_ms(load_rdflib, 1)
    rdflib_repeats = max(1, repeats // (5 * scale))
    figures["query rdflib"], got = median_ms(
        lambda: list(dataset.query(QUERY, initBindings=bindings)), rdflib_repeats)
    if normalised(got) != normalised(expected):
        raise SystemExit(f"rdflib and Oxigraph disagree at {scale}x: "
                         f"{normalised(got)[:2]} vs {normalised(expected)[:2]}")

    with oxigraph_server(workdir / f"server-{scale}") as url:
        remote: Store = RemoteStore(url + "/query", url + "/update", url + "/store")
        figures["load remote"], _ = median_ms(lambda: remote.write(graphs, replace=True), 1)
        figures["query remote"], got = median_ms(lambda: remote.query(QUERY, bindings), repeats)
        if normalised(got) != normalised(expected):
            raise SystemExit(f"the Oxigraph server and the embedded store disagree at {scale}x")
    return figures


def main() -> None:
    args = arguments(__doc__, repeats=21, scales="1,10,100")
    header = (f"{'scale':>5} {'triples':>9} | {'load ms: embedded':>17} {'rdflib':>9} "
              f"{'remote':>9} | {'query p50 ms: embedded':>22} {'rdflib':>9} {'remote':>8} | "
              f"{'rdflib/emb':>10} {'remote/emb':>10}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            f = bench_scale(scale, args.data, Path(tmp), args.repeats)
            print(f"{scale:>4}x {int(f['triples']):>9} | {f['load embedded']:>17.0f} "
                  f"{f['load rdflib']:>9.0f} {f['load remote']:>9.0f} | "
                  f"{f['query embedded']:>22.2f} {f['query rdflib']:>9.1f} "
                  f"{f['query remote']:>8.2f} | "
                  f"{f['query rdflib'] / f['query embedded']:>10.0f} "
                  f"{f['query remote'] / f['query embedded']:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
