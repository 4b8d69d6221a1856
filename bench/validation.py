"""``python -m bench.validation`` (~5 min, pyshacl is slow): validating a generated
410-control set against FedRAMP HIGH (the PE and MP families inherited from the
provider under an authorization that covers the baseline, a few controls missing) on
the embedded store on disk: the fast engine, pyshacl on the same extracted data graph,
and plain pyshacl over the full graph (every triple of the store plus the control set)
with the same shapes."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from rdflib import Graph

from bench.common import arguments, median_ms
from graphsvc.content import shipped_graphs
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.validation import data_graph, read_control_set, run_pyshacl, validate
from graphsvc.writes import commit
from tests.helpers import baseline_ids, control_set_turtle

AS_OF = date(2026, 11, 29)
HIGH = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-high"


def main() -> None:
    args = arguments(__doc__, repeats=21)
    ids = baseline_ids(args.data / "fedramp-rev5/FedRAMP_rev5_HIGH-baseline_profile.json")
    text = control_set_turtle(ids, HIGH, AS_OF.isoformat(),
                              missing=frozenset(ids[:5]),
                              inherited=frozenset(i for i in ids if i[:3] in ("pe-", "mp-")))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "high.ttl"
        path.write_text(text)
        store = EmbeddedStore(Path(tmp) / "store", keep_answers=False)
        graphs = dict(shipped_graphs(True, 10**9))
        commit(store, graphs)  # (the framework index comes with every write)
        validate(store, path=path, as_of=AS_OF)  # warm: shapes parsed, queries cached
        fast, report = median_ms(lambda: validate(store, path=path, as_of=AS_OF),
                                 args.repeats)
        own = read_control_set(path, path.read_bytes(), store)
        extracted, _ = data_graph(store, own, next(iter({report.control_set})),
                                  report.baseline, AS_OF, 12)
        subgraph, reference = median_ms(lambda: run_pyshacl(extracted), 1)  # ~2 min
        full = Graph()
        for triples in graphs.values():
            for t in triples:
                full.add(t)
        full_data = extracted | set(full)
        full_ms, full_results = median_ms(lambda: run_pyshacl(full_data), 1)
        store.close()
    keys = sorted(r.key() for r in report.results)
    assert keys == sorted(r.key() for r in reference), "fast and pyshacl differ"
    assert len(full_results) == len(reference), "the full graph gave other results"
    print(f"control set: {len(ids)} controls, {len(report.results)} results "
          f"({dict(report.counts)}), data graph {len(extracted)} triples, "
          f"full graph {len(full_data)} triples")
    print(f"fast engine, whole run (read file, extract, validate) p50: {fast:8.1f} ms")
    print(f"pyshacl on the extracted data graph p50:                  {subgraph:8.1f} ms "
          f"(x{subgraph / fast:.0f})")
    print(f"plain pyshacl over the full graph:                        {full_ms:8.1f} ms "
          f"(x{full_ms / fast:.0f})")


if __name__ == "__main__":
    main()
