"""AWS services in scope of compliance programmes (the aws-allowlister table: one row
per service, one column per programme, "true" where the service is in scope).

Services get the IRIs of the provider programme (id/service/aws-{IAM prefix}), so
they meet Amazon EC2 etc. of ontology/aws-program.ttl. A column no service is marked
in says nothing (the 2022 table's FedRAMP Moderate column is empty from a scraper
fault upstream): it is reported as a warning, never read as "no service in scope".
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, RDFS, Literal, URIRef

from graphsvc.errors import BadInput
from graphsvc.identity import slug
from graphsvc.importers.model import Built
from graphsvc.importers.safety import LIMITS, InputLimits, csv_rows, identifier
from graphsvc.namespaces import GC, GRAPH, ID

# column -> programmes of ours it stands for (kind and label for the ones the provider
# programme graph does not define)
PROGRAMMES: dict[str, tuple[tuple[str, URIRef, str], ...]] = {
    "SOC": (("soc-1", GC.AttestationScheme, "SOC 1"), ("soc-2", GC.AttestationScheme, "SOC 2"),
            ("soc-3", GC.AttestationScheme, "SOC 3")),
    "PCI": (("pci-dss", GC.AttestationScheme, "PCI DSS"),),
    "ISO": (("iso-27001", GC.CertificationScheme, "ISO/IEC 27001"),
            ("iso-27017", GC.CertificationScheme, "ISO/IEC 27017"),
            ("iso-27018", GC.CertificationScheme, "ISO/IEC 27018")),
    "FedRAMP_High": (("fedramp-high", GC.AuthorizationProgram, "FedRAMP High"),),
    "FedRAMP_Moderate": (("fedramp-moderate", GC.AuthorizationProgram, "FedRAMP Moderate"),),
    "DoDCCSRG_IL2_EW": (("dod-il2-ew", GC.AuthorizationProgram, "DoD CC SRG IL2 (East/West)"),),
    "DoDCCSRG_IL2_GC": (("dod-il2-gc", GC.AuthorizationProgram, "DoD CC SRG IL2 (GovCloud)"),),
    "DoDCCSRG_IL4_GC": (("dod-il4-gc", GC.AuthorizationProgram, "DoD CC SRG IL4 (GovCloud)"),),
    "DoDCCSRG_IL5_GC": (("dod-il5-gc", GC.AuthorizationProgram, "DoD CC SRG IL5 (GovCloud)"),),
    "HIPAA": (("hipaa", GC.LawOrRegulation, "HIPAA"),),
    "HITRUST": (("hitrust-csf", GC.CertificationScheme, "HITRUST CSF"),),
    "IRAP": (("irap", GC.AssuranceProgram, "IRAP"),),
    "OSPAR": (("ospar", GC.AttestationScheme, "OSPAR"),),
    "FINMA": (("finma", GC.AssuranceProgram, "FINMA"),),
}
FEDRAMP_BASELINE = {"fedramp-high", "fedramp-moderate"}


def is_services_table(header: list[str]) -> bool:
    return header[:2] == ["service_prefix", "name"]


def services_graph(data: bytes, source: str, limits: InputLimits = LIMITS) -> Built:
    rows = csv_rows(data, source, limits)
    header = next(rows, (1, []))[1]
    columns = [c for c in header if c not in ("service_prefix", "name")]
    unknown = [c for c in columns if c not in PROGRAMMES]
    if unknown:
        raise BadInput(f"unknown programme columns {unknown}; known: {', '.join(PROGRAMMES)}",
                       where=f"{source}, line 1")
    built = Built(str(GRAPH[f"services/{slug(Path(source).name)}"]))
    marked = dict.fromkeys(columns, 0)
    for line, cells in rows:
        if not cells:
            continue
        row = dict(zip(header, cells, strict=False))
        prefix = (row.get("service_prefix") or "").strip()
        if not prefix:
            raise BadInput("service_prefix is empty", where=f"{source}, line {line}")
        identifier(prefix, f"{source}, line {line}, service_prefix")
        service = built.node(ID[f"service/aws-{prefix}"], GC.CloudService,
                             label=(row.get("name") or prefix).strip(), identifier=prefix)
        built.add(service, GC.providedBy, ID["org/aws"])
        built.counts["services"] += 1
        for column in columns:
            if (row.get(column) or "").strip().lower() == "true":
                marked[column] += 1
                for name, _, _ in PROGRAMMES[column]:
                    built.add(service, GC.inScopeOf, ID[f"program/{name}"])
                built.counts["service-programme pairs"] += 1
    for column in columns:
        for name, kind, label in PROGRAMMES[column]:
            programme = ID[f"program/{name}"]
            built.triples += [(programme, RDF.type, kind), (programme, RDFS.label, Literal(label))]
            if name in FEDRAMP_BASELINE:
                built.add(programme, GC.programFramework, ID["fw/nist-sp-800-53-rev5"])
        if marked[column] == 0:
            built.warnings.append(f"column {column} marks no service: read as missing data, "
                                  "not as 'no service in scope'")
    return built
