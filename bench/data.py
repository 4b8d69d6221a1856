"""Benchmark data: the shipped graphs, the NIST SP 800-53 rev5 catalog's controls and
families and the FedRAMP rev5 baselines' membership (read from ../shared/data), plus
generated customer control sets; ``scale`` multiplies the control sets."""

from __future__ import annotations

import json
import random
from pathlib import Path

from rdflib import RDF, Literal, URIRef
from rdflib.namespace import XSD

from graphsvc.content import builtin_sources
from graphsvc.importers.rdf import read_rdf
from graphsvc.namespaces import GC, GRAPH, ID
from graphsvc.store import Triple

SETS_AT_1X = 10
STATUSES = [GC.Implemented] * 7 + [GC.PartiallyImplemented, GC.Planned, GC.NotApplicable]
RESPONSIBILITIES = [GC.CustomerResponsibility, GC.SharedResponsibility, GC.ProviderResponsibility]
BASELINES = ("LOW", "MODERATE", "HIGH")


def control_iri(control_id: str) -> URIRef:
    return ID[f"fw/nist-sp-800-53-rev5/{control_id}"]


def baseline_iri(level: str) -> URIRef:
    return ID[f"baseline/fedramp-rev5-{level.lower()}"]


def catalog_triples(data: Path) -> list[Triple]:
    """Controls (with enhancements) and their families, without their prose."""
    catalog = json.loads((data / "nist-800-53-rev5" /
                          "NIST_SP-800-53_rev5_catalog-5.0.1.json").read_text())["catalog"]
    out: list[Triple] = []

    def add(control: dict, family: URIRef) -> None:
        iri = control_iri(control["id"])
        kind = GC.ControlEnhancement if "." in control["id"] else GC.Control
        out.extend([(iri, RDF.type, kind), (iri, GC.identifier, Literal(control["id"])),
                    (iri, GC.title, Literal(control["title"])), (iri, GC.inFamily, family)])
        for child in control.get("controls", []):
            add(child, family)

    for group in catalog["groups"]:
        family = ID[f"fw/nist-sp-800-53-rev5/family/{group['id']}"]
        out.extend([(family, RDF.type, GC.ControlFamily), (family, GC.title,
                                                           Literal(group["title"]))])
        for control in group["controls"]:
            add(control, family)
    return out


def baseline_members(data: Path, level: str) -> list[str]:
    profile = json.loads((data / "fedramp-rev5" /
                          f"FedRAMP_rev5_{level}-baseline_profile.json").read_text())["profile"]
    return [i for imp in profile["imports"] for inc in imp.get("include-controls", [])
            for i in inc.get("with-ids", [])]


def control_set(index: int, members: list[str], rng: random.Random) -> list[Triple]:
    cs = ID[f"bench/controlset/{index}"]
    out: list[Triple] = [(cs, RDF.type, GC.ControlSet), (cs, GC.targetBaseline,
                                                          baseline_iri("MODERATE"))]
    for control_id in members:
        impl = ID[f"bench/impl/{index}/{control_id}"]
        out += [
            (impl, RDF.type, GC.ControlImplementation),
            (impl, GC.inControlSet, cs),
            (impl, GC.implementsControl, control_iri(control_id)),
            (impl, GC.status, rng.choice(STATUSES)),
            (impl, GC.responsibility, rng.choice(RESPONSIBILITIES)),
            (impl, GC.owner, Literal(f"owner {rng.randrange(20)}")),
            (impl, GC.lastReviewed, Literal(f"2026-{rng.randrange(1, 13):02d}-15",
                                            datatype=XSD.date)),
        ]
    return out


def build(data: Path, scale: int, seed: int = 8477) -> dict[str, list[Triple]]:
    """Named graphs of the benchmark dataset at ``scale`` (1, 10, 100)."""
    graphs: dict[str, list[Triple]] = {}
    for path, graph in builtin_sources(demo=True):
        quads = read_rdf(path.read_bytes(), "turtle", source=str(path))
        graphs[graph] = [(s, p, o) for s, p, o, _ in quads]
    graphs[str(GRAPH["bench/catalog"])] = catalog_triples(data)
    members = {level: baseline_members(data, level) for level in BASELINES}
    for level, ids in members.items():
        b = baseline_iri(level)
        graphs[str(GRAPH[f"bench/baseline/{level.lower()}"])] = [(b, RDF.type, GC.Baseline)] + [
            (b, GC.includesControl, control_iri(i)) for i in ids]
    graphs.update(control_sets(data, scale, seed, members["MODERATE"]))
    return graphs


def control_sets(data: Path, scale: int, seed: int = 8477,
                 members: list[str] | None = None) -> dict[str, list[Triple]]:
    """The generated control sets alone (``SETS_AT_1X * scale``), on FedRAMP MODERATE."""
    members = members if members is not None else baseline_members(data, "MODERATE")
    rng = random.Random(seed)
    return {str(GRAPH[f"bench/controlset/{index}"]): control_set(index, members, rng)
            for index in range(SETS_AT_1X * scale)}
