"""``python -m bench.features``: the analyst features where sources meet, on the embedded
store on disk with the shipped content plus the 5.0.1 catalog, CSF 2.0, ISO 27001 (2013
and 2022), the CISO and NIST 800-53 -> ISO crosswalks, the CSF -> 800-53 and r5 -> r4
collections, rev4, the FedRAMP example and NIST leveraging SSPs, FedRAMP 20x and the
automated-check tables (derived crosswalks composed), and what-if scenarios on the demo:
median ms of each feature, with
its answer's size so that a fast empty answer shows."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from bench.common import arguments, median_ms
from graphsvc.content import init_store
from graphsvc.crm import crm, crm_csv, crm_xlsx
from graphsvc.crosswalks import derive_crosswalks
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.importers.oscal.importer import import_oscal
from graphsvc.migration import migrate, oscal_ssp
from graphsvc.questions import ask
from graphsvc.store.embedded import EmbeddedStore
from graphsvc.whatif import parse_change, what_if

OSCAL = ["nist-800-53-rev5/NIST_SP-800-53_rev5_catalog-5.0.1.json",
         "nist-800-53-rev4/NIST_SP-800-53_rev4_catalog.json",
         "nist-800-53-rev4/NIST_SP-800-53_rev4_LOW-baseline_profile.json",
         "nist-800-53-rev5/NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.json",
         "nist-csf-2.0/NIST_CSF_v2.0_catalog-oscal-1.2.1.json",
         "oscal-mappings/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5.mapping-collection.json",
         "oscal-mappings/NIST_SP-800-53_rev5-to-NIST_SP-800-53_rev4.mapping-collection.json",
         "fedramp-rev5/examples/fedramp-ssp-example.oscal.xml",
         "oscal-examples/oscal_leveraging-example_ssp.json"]
CROSSWALKS = ["ciso-library/iso27001-2022.yaml", "ciso-library/iso27001-2013.yaml",
              "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml",
              "ciso-library/mapping-iso27001-2013-to-iso27001-2022.yaml",
              "oscal-mappings/sp800-53r5-to-iso-27001-mapping.xlsx",
              "fedramp-20x/FRMR.documentation.json",
              "aws/securityhub/securityhub_control_to_nist80053r5.csv",
              "aws/prowler/compliance/nist_800_53_revision_5_aws.json"]
FEDRAMP_SSP = "id:controlset/11111111-2222-4000-8000-000000000000"
DEMO = "id:controlset/c0c0c0c0-0000-4000-8000-000000000000"
PROVIDER = "id:controlset/a0a0a0a0-0000-4000-8000-000000000000"
CLAIMS = "id:demo/controlset-claims-portal"
DAY = date(2026, 6, 30)


def main() -> None:
    args = arguments(__doc__, repeats=21)
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "store", keep_answers=False)
        init_store(store, max_bytes=10**9)
        import_oscal(store, [args.data / n for n in OSCAL], max_bytes=10**9)
        import_crosswalks(store, [args.data / n for n in CROSSWALKS], max_bytes=10**9)
        derive_crosswalks(store)
        features = {
            "crosswalk-agreement 800-53 -> ISO": lambda: ask(store, "crosswalk-agreement", {}),
            "coverage-via FedRAMP SSP -> CSF 2.0": lambda: ask(store, "coverage-via", {
                "controlSet": FEDRAMP_SSP, "target": "id:fw/nist-csf-2.0",
                "as_of": DAY.isoformat()}),
            "coverage-via demo -> ISO 27001": lambda: ask(store, "coverage-via", {
                "controlSet": DEMO, "as_of": DAY.isoformat()}),
            "migrate FedRAMP SSP (323) -> rev4 + SSP": lambda: oscal_ssp(migrate(
                store, FEDRAMP_SSP, "nist-sp-800-53-rev4")).keys(),
            "crm provider vs HIGH (410) csv + xlsx": lambda: (lambda rows: (
                crm_csv(rows), crm_xlsx(rows, "CRM")))(crm(
                    store, PROVIDER, "id:baseline/fedramp-rev5-high", DAY))[0].count("\n"),
            "ksi-coverage demo": lambda: ask(store, "ksi-coverage", {
                "controlSet": DEMO, "as_of": DAY.isoformat()}),
            "ksi-automation": lambda: ask(store, "ksi-automation", {}),
            "what-if demo: FedRAMP authorization lapses": lambda: what_if(
                store, CLAIMS, None, DAY, [parse_change(
                    "lapse:demo/artifact-aws-fedramp-moderate")]).controls,
            "what-if demo: EC2 leaves FedRAMP's scope": lambda: what_if(
                store, CLAIMS, None, DAY, [parse_change(
                    "service-out:service/aws-ec2@program/fedramp")]).controls,
            "what-if demo: Moderate -> High": lambda: what_if(
                store, CLAIMS, None, DAY, [parse_change(
                    "baseline:baseline/fedramp-rev5-high")]).controls,
        }
        print(f"{'feature':<42} {'p50 ms':>9} {'answer':>8}")
        for name, run in features.items():
            run()  # warm: questions parsed, binding plans made
            ms, result = median_ms(run, args.repeats)
            size = len(result) if hasattr(result, "__len__") else result
            print(f"{name:<42} {ms:>9.1f} {size!s:>8}", flush=True)
        store.close()


if __name__ == "__main__":
    main()
