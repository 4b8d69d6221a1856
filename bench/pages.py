"""``python -m bench.pages [--scales 1,100]``: warm page times of the analyst's pages,
served as in production (``graphsvc serve``, waitress, its own process) on the
embedded store.

1x is what the browser tests load (init, CSF 2.0, ISO/IEC 27001:2022 and the CISO
800-53 -> ISO crosswalk) plus 10 generated control sets (bench/data.py); at Nx there
are 10*N control sets (as bench/data.py scales) and min(N, --max-copies) copies of every
framework's current text under other framework slugs, so that search, the framework
index and the framework pages read that many times more requirements (the copies cost
about 60,000 triples each; 10 by default keeps a 100x run within memory and minutes).
Each page is asked once to warm the process, then ``--repeats`` times: "same" asks the
same URL (the store keeps answers until it writes), "new" asks a different control,
family, control set, date or word each time (every question evaluated). Medians and
p90 in ms, and the 100x/1x ratio of the medians; goals: p50 <= 100 ms, search <= 50 ms
at 100x."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from rdflib import URIRef

from bench.common import ROOT
from bench.data import SETS_AT_1X, baseline_members, control_set
from bench.web import served
from graphsvc.namespaces import GRAPH, ID
from graphsvc.store import Rows, Store, Triple
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.writes import commit
from tests.helpers import load_analyst_content

WORDS = ("encryption", "account management", "incident response", "audit", "backup",
         "malware", "password", "remote access", "supply chain", "training", "logging",
         "vulnerability", "risk assessment", "media", "physical access", "boundary")
CURRENT_RELEASES = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT DISTINCT ?g ?slug WHERE {
  ?fw gc:currentRelease ?rel ; gc:identifier ?slug .
  GRAPH ?g { ?rel gc:releaseOf ?fw }
}
"""


def copies(store: Store, n: int) -> dict[str, list[Triple]]:
    """``n`` copies of each framework's current release graph, under other slugs."""
    out: dict[str, list[Triple]] = {}
    rows = store.query(CURRENT_RELEASES)
    assert isinstance(rows, Rows)
    for graph, slug in rows:
        content = store.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
                              {"g": graph})
        assert isinstance(content, Rows)
        old = f"{ID}fw/{slug}"
        for i in range(1, n + 1):
            new = f"{ID}fw/{slug}-copy{i}"

            def moved(term, old=old, new=new):
                text = str(term)
                return URIRef(new + text[len(old):]) if isinstance(term, URIRef) and \
                    text.startswith(old) else term

            out[f"{GRAPH}bench/copy/{slug}/{i}"] = [(moved(s), moved(p), moved(o))
                                                    for s, p, o in content]
    return out


def build(data: Path, scale: int, path: Path, max_copies: int) -> tuple[list[str], list[str]]:
    """The store at ``scale``; returns the MODERATE control ids and the control sets."""
    members = baseline_members(data, "MODERATE")
    sets = [str(ID[f"bench/controlset/{i}"]) for i in range(SETS_AT_1X * scale)]
    with EmbeddedStore(path) as store:
        load_analyst_content(store, data)
        if scale > 1:
            commit(store, copies(store, min(scale, max_copies) - 1))
        rng = random.Random(8477)
        batch: dict[str, list[Triple]] = {}
        for i in range(len(sets)):
            batch[str(GRAPH[f"bench/controlset/{i}"])] = control_set(i, members, rng)
            if len(batch) == 50 or i == len(sets) - 1:
                commit(store, batch)  # control sets: the framework index is not touched
                batch = {}
        triples = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        assert isinstance(triples, Rows)
        print(f"{scale:>4}x: {int(triples.rows[0][0]):,} triples, {len(sets)} control sets, "
              f"framework text x{min(scale, max_copies)}", flush=True)
    return members, sets


def pages(members: list[str], sets: list[str], n: int) -> dict[str, list[str]]:
    """For each page type, n URLs: the first repeated ("same"), then n different."""
    rng = random.Random(1)
    pick = lambda seq: seq[rng.randrange(len(seq))]  # noqa: E731
    days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    q = urllib.parse.quote
    families = sorted({c.split("-")[0] for c in members})
    return {
        "home": ["/"] * n,
        "search": [f"/search?q={q(pick(WORDS))}" for _ in range(n)],
        "search.json": [f"/search.json?q={q(pick(WORDS))}" for _ in range(n)],
        "typeahead": [f"/search.json?prefix=1&limit=4&q={q(pick(members)[:4])}"
                      for _ in range(n)],
        "control": [f"/id/fw/nist-sp-800-53-rev5/{pick(members)}?as_of={pick(days)}"
                    for _ in range(n)],
        "framework 800-53": ["/id/fw/nist-sp-800-53-rev5"] * n,
        "framework ISO": ["/id/fw/iso27001-2022"] * n,
        "coverage": [f"/coverage?controlSet={q(pick(sets))}&as_of={pick(days)}"
                     f"&family={pick(families)}" for _ in range(n)],
        "question gaps": [f"/questions/gaps?controlSet={q(pick(sets))}&as_of={pick(days)}"
                          for _ in range(n)],
        "crosswalks": [f"/crosswalks?sourceFamily={pick(families)}&targetFamily=a.5"
                       for _ in range(n)],
        "validate": ["/validate"] * n,
    }


def fetch_ms(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def measure(base: str, urls: dict[str, list[str]]) -> dict[str, tuple[float, float, float]]:
    """page type -> (same p50, new p50, new p90) in ms."""
    out = {}
    for name, paths in urls.items():
        fetch_ms(base + paths[0])  # warm
        same = [fetch_ms(base + paths[0]) for _ in paths]
        new = sorted(fetch_ms(base + p) for p in paths)
        out[name] = (statistics.median(same), statistics.median(new),
                     new[int(len(new) * 0.9) - 1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,100")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--max-copies", type=int, default=10)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    args.scales = [int(s) for s in args.scales.split(",")]
    results: dict[int, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            path = Path(tmp) / f"store-{scale}"
            members, sets = build(args.data, scale, path, args.max_copies)
            with served(["--store", str(path)], 1) as (base, _pid):
                fetch_ms(base + "/search?q=warm")  # the first search opens the index
                time.sleep(3)  # meanwhile the serving process copies the store into memory
                results[scale] = measure(base, pages(members, sets, args.repeats))
    first, last = args.scales[0], args.scales[-1]
    header = f"{'page':<18}" + "".join(
        f" | {s}x same p50  new p50  new p90" for s in args.scales) + f" | new p50 {last}x/{first}x"
    print(header)
    print("-" * len(header))
    for name in results[first]:
        cells = "".join(f" | {results[s][name][0]:>12.1f} {results[s][name][1]:>8.1f} "
                        f"{results[s][name][2]:>8.1f}" for s in args.scales)
        ratio = results[last][name][1] / results[first][name][1]
        print(f"{name:<18}{cells} | {ratio:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
