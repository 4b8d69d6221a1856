"""The content we author and ship: the ontology, the provider programme, the demo.

They live at the top of the repository (``ontology/``, ``queries/``, ``shapes/``);
a wheel carries them in ``graphsvc/_data``. ``graphsvc init`` loads them.
"""

from __future__ import annotations

from pathlib import Path

from graphsvc.importers.rdf import LoadReport, load_files
from graphsvc.namespaces import GRAPH
from graphsvc.store import Store

_PACKAGED = Path(__file__).parent / "_data"
_SOURCE_TREE = Path(__file__).parent.parent

# graph name -> file in ontology/
BUILTIN_GRAPHS = {
    "ontology": "compliance.ttl",
    "aws-program": "aws-program.ttl",
}
DEMO_GRAPHS = {"demo-customer": "demo-customer.ttl"}


def data_dir(name: str) -> Path:
    """``ontology``, ``queries`` or ``shapes``: packaged copy first, else the source tree."""
    for root in (_PACKAGED, _SOURCE_TREE):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"graphsvc data folder {name!r} is missing from the installation")


def builtin_sources(*, demo: bool = True) -> list[tuple[Path, str]]:
    graphs = {**BUILTIN_GRAPHS, **(DEMO_GRAPHS if demo else {})}
    return [(data_dir("ontology") / file, str(GRAPH[name])) for name, file in graphs.items()]


def init_store(store: Store, *, demo: bool = True, max_bytes: int) -> LoadReport:
    """Load (or reload) the shipped graphs, replacing earlier copies, in one transaction."""
    return load_files(store, builtin_sources(demo=demo), replace=True, max_bytes=max_bytes)
