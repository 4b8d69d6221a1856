"""Independent readings of the source files and shared query texts for the tests."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from rdflib import RDF, BNode, Literal, URIRef

from graphsvc.store import Store
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.writes import drop_graphs, is_derived

MAPPINGS_BY_RELATION = """
PREFIX gc: <https://w3id.org/graphsvc/compliance#>
SELECT ?m ?relation (GROUP_CONCAT(DISTINCT STR(?s); separator=" ") AS ?sources)
       (GROUP_CONCAT(DISTINCT STR(?t); separator=" ") AS ?targets)
WHERE { ?m a gc:Mapping ; gc:relation ?relation ; gc:sourceRequirement ?s ;
           gc:targetRequirement ?t }
GROUP BY ?m ?relation
"""


# terms rdflib makes and a store must refuse before anything changes (tests of every
# write path): each is one that Oxigraph's parser refuses or that Virtuoso kept as it is
BAD_TERMS = {
    "iri": URIRef("http://example.org/a b"),
    "language": Literal("x", lang="abcdefghij"),  # rdflib takes it; 8 letters at most
    "blank-node": BNode("a b"),
    "surrogate": Literal("half a pair: \ud800"),  # cannot be written as UTF-8
    "langstring": Literal("x", datatype=RDF.langString),  # a language string, no language
}


def drop_added(store: Store, before: set[str]) -> None:
    """Drop the graphs a test added (derived graphs follow, as after any drop)."""
    added = [g.iri for g in store.graphs() if g.iri not in before and not is_derived(g.iri)]
    if added:
        drop_graphs(store, added)


def copied(reader: EmbeddedStore) -> EmbeddedStore:
    """The reader, once it answers from its in-memory copy of the newest view."""
    assert reader.wait_for_copy(120), "the reader made no in-memory copy"
    return reader


def catalog_control_ids(path: Path) -> set[str]:
    """Every control and enhancement id of an OSCAL JSON catalog, read with json alone."""
    ids: set[str] = set()

    def walk(node: dict) -> None:
        for c in node.get("controls", []):
            ids.add(c["id"])
            walk(c)
        for g in node.get("groups", []):
            walk(g)

    walk(json.loads(path.read_text())["catalog"])
    return ids


def baseline_ids(profile: Path) -> list[str]:
    """The control ids a FedRAMP/NIST profile selects with with-ids, read with json alone."""
    doc = json.loads(profile.read_text())["profile"]
    return [i for imp in doc["imports"] for inc in imp.get("include-controls", [])
            for i in inc.get("with-ids", [])]


def control_set_turtle(members: list[str], baseline: str, as_of: str, *,
                       missing: frozenset[str] = frozenset(),
                       bad_status: frozenset[str] = frozenset(),
                       inherited: frozenset[str] = frozenset(), expired: bool = False,
                       hipaa: bool = False, baa: bool = True) -> str:
    """A generated control set in Turtle: every member implemented, owned, evidenced,
    reviewed and assessed, unless a defect is planted; ``inherited`` controls are the
    provider's, under an authorization that covers the baseline (expired if asked)."""
    day = date.fromisoformat(as_of)
    recent, old, later = (day - timedelta(days=10), day - timedelta(days=400),
                          day + timedelta(days=300))
    lines = [
        "@prefix gc: <https://w3id.org/graphsvc/compliance#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "@prefix ex: <https://example.org/generated/> .",
        "@prefix c: <https://w3id.org/graphsvc/id/fw/nist-sp-800-53-rev5/> .",
        "ex:set a gc:ControlSet ; gc:ownedBy ex:org ; gc:describesSystem ex:system ;",
        f"  gc:targetBaseline <{baseline}> ; gc:leverages ex:authorization"
        + (" ; gc:hasAgreement ex:baa ." if baa else " ."),
        "ex:system a gc:System" + (" ; gc:inScopeOf <https://w3id.org/graphsvc/id/program/hipaa> ."
                                   if hipaa else " ."),
        f'ex:baa a gc:BusinessAssociateAddendum ; gc:validFrom "{old}"^^xsd:date .',
        f'ex:plan a gc:BusinessPlan ; gc:operatedBy ex:org ; '
        f'gc:lastReviewed "{recent}"^^xsd:date .',
        f'ex:risks a gc:RiskAssessment ; gc:operatedBy ex:org ; '
        f'gc:lastReviewed "{recent}"^^xsd:date .',
        f"ex:authorization a gc:Authorization ; gc:coversBaseline <{baseline}> ;",
        f'  gc:validFrom "{old}"^^xsd:date ; '
        f'gc:validUntil "{(day - timedelta(days=1)) if expired else later}"^^xsd:date .',
        "ex:evidence a gc:Evidence .",
    ]
    for n, control in enumerate(members):
        if control in missing:
            continue
        status = "ex:bogus-status" if control in bad_status else "gc:Implemented"
        if control in inherited:
            rest = ("gc:responsibility gc:ProviderResponsibility ; "
                    "gc:inheritedUnder ex:authorization")
        else:
            rest = ("gc:responsibility gc:CustomerResponsibility ; gc:evidence ex:evidence ; "
                    "gc:effectiveness gc:Effective")
        lines.append(f'ex:impl-{n} a gc:ControlImplementation ; gc:inControlSet ex:set ; '
                     f'gc:implementsControl c:{control} ; gc:status {status} ; {rest} ; '
                     f'gc:owner "Owner {n}" ; gc:lastReviewed "{recent}"^^xsd:date .')
    return "\n".join(lines) + "\n"


ANALYST_FILES = ("nist-csf-2.0/NIST_CSF_v2.0_catalog-oscal-1.2.1.json",
                 "ciso-library/iso27001-2022.yaml",
                 "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml")


def load_analyst_content(store: Store, data: Path) -> None:
    """What an analyst compares: init's content, CSF 2.0, ISO/IEC 27001:2022 and the
    CISO Assistant 800-53 -> ISO crosswalk."""
    from graphsvc.content import init_store
    from graphsvc.importers.crosswalk import import_crosswalks
    from graphsvc.importers.oscal.importer import import_oscal

    init_store(store, max_bytes=10**9)
    import_oscal(store, [data / ANALYST_FILES[0]], max_bytes=10**9)
    import_crosswalks(store, [data / name for name in ANALYST_FILES[1:]], max_bytes=10**9)
