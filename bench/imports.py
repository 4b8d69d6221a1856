"""``python -m bench.imports [--scale 300]``: time to import every OSCAL file and every
crosswalk file of ../shared/data, on the embedded store in memory and on disk (median of
runs), and to derive the transitive crosswalks over those crosswalks (compose, then
write). With ``--scale N``, also the time and peak memory of writing the benchmark
dataset at N x (``bench.data``) into a new store on disk, in a process of its own."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

import pyoxigraph as ox
import yaml

from bench.common import arguments
from graphsvc.crosswalks import DERIVED_GRAPH, derive
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.document import read_oscal
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.store.embedded import EmbeddedStore


def oscal_files(data: Path) -> list[Path]:
    """Every OSCAL document, catalogs first so that profiles resolve in one batch."""
    found = []
    for path in sorted(data.rglob("*")):
        if path.suffix.lower() not in (".json", ".xml", ".yaml") or "prowler" in path.parts:
            continue
        try:
            found.append((read_oscal(path.read_bytes(), source=str(path)).model, path))
        except Exception:
            continue
    order = {"catalog": 0, "profile": 1}
    return [p for _, p in sorted(found, key=lambda mp: (order.get(mp[0], 2), str(mp[1])))]


def crosswalk_files(data: Path) -> list[Path]:
    return sorted((data / "ciso-library").glob("*.yaml"))


def run(label: str, files: list[Path], importer, repeats: int) -> None:
    size = sum(p.stat().st_size for p in files)
    for where in ("memory", "disk"):
        times = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                store = EmbeddedStore(None if where == "memory" else Path(tmp) / "store")
                start = time.perf_counter()
                importer(store, files, max_bytes=10**9)
                times.append(time.perf_counter() - start)
                store.close()
        print(f"{label:<28} {len(files):>4} files {size / 1e6:>7.1f} MB  {where:<6} "
              f"median {statistics.median(times):6.2f} s", flush=True)


def run_floor(files: list[Path], repeats: int) -> None:
    """What no import of these files can go below: parsing them with the standard
    parsers alone, and Oxigraph loading the quads the import writes from an N-Quads
    file by itself (its bulk loader on disk, a transaction in memory)."""
    parse = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path in files:
            data = path.read_bytes()
            if path.suffix == ".json":
                json.loads(data)
            elif path.suffix == ".xml":
                ElementTree.fromstring(data)
            else:
                yaml.load(data, Loader=yaml.CSafeLoader)
        parse.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "store")
        import_oscal(store, files, max_bytes=10**9)
        store.close()
        quads = Path(tmp) / "all.nq"
        ox.Store(str(Path(tmp) / "store")).dump(str(quads), ox.RdfFormat.N_QUADS)
        loads: dict[str, list[float]] = {"memory": [], "disk": []}
        for n in range(repeats):
            for where, engine in (("memory", ox.Store()), ("disk", ox.Store(f"{tmp}/{n}"))):
                start = time.perf_counter()
                (engine.load if where == "memory" else engine.bulk_load)(
                    path=str(quads), format=ox.RdfFormat.N_QUADS)
                loads[where].append(time.perf_counter() - start)
        count = len(engine)
    print(f"floor: parsing the OSCAL files alone median {statistics.median(parse):5.2f} s; "
          f"Oxigraph loading their {count} quads from N-Quads alone "
          + ", ".join(f"{w} {statistics.median(t):5.2f} s" for w, t in loads.items()),
          flush=True)


def run_derive(files: list[Path], repeats: int) -> None:
    for where in ("memory", "disk"):
        with tempfile.TemporaryDirectory() as tmp:
            store = EmbeddedStore(None if where == "memory" else Path(tmp) / "store")
            import_crosswalks(store, files, max_bytes=10**9)
            compose, write = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                triples, counts = derive(store)
                compose.append(time.perf_counter() - start)
                store.drop([DERIVED_GRAPH])
                start = time.perf_counter()
                store.write({DERIVED_GRAPH: triples})
                write.append(time.perf_counter() - start)
            store.close()
        print(f"derive crosswalks ({counts['derived mappings']} mappings, "
              f"{len(triples)} triples) {where:<6} compose median "
              f"{statistics.median(compose):5.2f} s, write {statistics.median(write):5.2f} s",
              flush=True)


def run_scaled(data: Path, scale: int) -> None:
    """Build and write in a child process, so that its peak memory is the write's own."""
    script = f"""
import resource, sys, tempfile, time
from pathlib import Path
from bench.data import build
from graphsvc.store.embedded import EmbeddedStore
graphs = build(Path({str(data)!r}), {scale})
built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with tempfile.TemporaryDirectory() as tmp:
    start = time.perf_counter()
    with EmbeddedStore(Path(tmp) / "store", keep_answers=False) as store:
        store.write(graphs, replace=True)
    took = time.perf_counter() - start
print(sum(len(t) for t in graphs.values()), took, built,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent).stdout
    triples, took, built, peak = out.split()
    print(f"bench dataset {scale}x ({int(triples)} triples) written to disk in "
          f"{float(took):.1f} s; peak memory {int(peak) / 2**20:.2f} GiB "
          f"({int(built) / 2**20:.2f} GiB of it the dataset in Python)", flush=True)


def main() -> None:
    args = arguments(__doc__, repeats=3, scale=True)
    if args.scale:
        run_scaled(args.data, args.scale)
    run("OSCAL (all models)", oscal_files(args.data), import_oscal, args.repeats)
    run_floor(oscal_files(args.data), args.repeats)
    run("CISO crosswalk YAML", crosswalk_files(args.data), import_crosswalks, args.repeats)
    run_derive(crosswalk_files(args.data), args.repeats)


if __name__ == "__main__":
    main()
