"""The pages on both backends, against what init ships (FedRAMP rev5, the demo control
sets): one default control set, a coverage dashboard that agrees with the coverage
question and follows the date, controls an auditor can read, Datasette-like tables,
validation summaries, framework trees, the editor's configuration. Expected figures
come from the source files (the demo Turtle with rdflib, FedRAMP's profiles with json,
its resolved catalogs with ElementTree)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html import unescape
from importlib.resources import files

from rdflib import Graph

from graphsvc.namespaces import GC
from graphsvc.questions import expand, load_questions
from tests.conftest import ROOT, SHARED_DATA, need_shared_data
from tests.helpers import baseline_ids

DEMO_TTL = ROOT / "ontology/demo-customer.ttl"
CLAIMS = "https://w3id.org/graphsvc/id/demo/controlset-claims-portal"
MODERATE = "https://w3id.org/graphsvc/id/baseline/fedramp-rev5-moderate"
AC2 = "/id/fw/nist-sp-800-53-rev5/ac-2"
OSCAL = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}


def text_of(html: bytes) -> str:
    """The page's text, tags removed (what a reader sees, roughly)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html.decode())).split())


def api(client, name: str, **given: str) -> list[dict[str, str]]:
    answer = client.get(f"/api/questions/{name}", query_string=given)
    assert answer.status_code == 200, answer.data
    return answer.get_json()["rows"]


def moderate_ids() -> set[str]:
    need_shared_data()
    profile = SHARED_DATA / "fedramp-rev5/FedRAMP_rev5_MODERATE-baseline_profile.json"
    return set(baseline_ids(profile))


def claims_portal() -> dict[str, dict[str, str]]:
    """control id -> status, responsibility and the end of its attestation, read from
    the demo Turtle with rdflib."""
    g = Graph().parse(DEMO_TTL)
    out = {}
    for impl in g.subjects(GC.inControlSet, None):
        control = str(g.value(impl, GC.implementsControl)).rsplit("/", 1)[1]
        artifact = g.value(impl, GC.inheritedUnder)
        until = g.value(artifact, GC.validUntil) if artifact is not None else None
        system = g.value(g.value(impl, GC.inControlSet), GC.describesSystem)
        # the attestation covers every service the system uses (the demo's name theirs)
        in_scope = artifact is None or set(g.objects(system, GC.usesService)) <= set(
            g.objects(artifact, GC.coversService))
        out[control] = {"status": str(g.value(impl, GC.status)).rsplit("#", 1)[1],
                        "responsibility": str(g.value(impl, GC.responsibility)).rsplit("#")[1],
                        "until": str(until) if until is not None else "",
                        "in_scope": in_scope}
    return out


def test_one_default_control_set_everywhere(client) -> None:
    defaults = {expand(p.default, q.name) for q in load_questions().values()
                for p in q.params if p.name == "controlSet" and p.default}
    assert len(defaults) == 1
    default = defaults.pop()
    page = client.get("/coverage").data.decode()
    assert re.search(rf'<option value="{re.escape(default)}"\s+selected>', page)
    assert api(client, "coverage")[0]["controlSet"] == default
    home = client.get("/").data.decode()
    assert "default</span>" in home


def test_coverage_dashboard_agrees_with_the_question_and_the_files(client) -> None:
    rows = api(client, "control-coverage", controlSet=CLAIMS, as_of="2026-12-01")
    families = api(client, "coverage", controlSet=CLAIMS, as_of="2026-12-01")
    for line in families:
        mine = [r for r in rows if r["family"] == line["family"]]
        assert len(mine) == int(line["controls"])
        assert sum(r["level"] == "full" for r in mine) == int(line["full"])
        assert sum(r["level"] == "partial" for r in mine) == int(line["partial"])
        assert sum(int(r["inherited"]) for r in mine) == int(line["inherited"])
    assert len(rows) == len({r["control"] for r in rows}) == len(moderate_ids())
    stated = claims_portal()
    categories = {r["identifier"]: r["category"] for r in rows}
    in_baseline = {c: s for c, s in stated.items() if c in moderate_ids()}
    assert {c for c, cat in categories.items() if cat == "planned"} == {
        c for c, s in in_baseline.items() if s["status"] == "Planned"}
    assert {c for c, cat in categories.items() if cat == "not stated"} == \
        moderate_ids() - set(stated)
    page = text_of(client.get("/coverage", query_string={
        "controlSet": CLAIMS, "as_of": "2026-12-01", "family": "cp"}).data)
    full = sum(int(f["full"]) for f in families)
    assert f"{full} of {len(rows)} controls fully covered" in page
    assert "as of 2026-12-01" in page and "FedRAMP Rev 5 Moderate Baseline" in page
    assert "CP: its" in page and "planned" in page


def test_responsibility_follows_the_date(client) -> None:
    stated = claims_portal()
    ids = moderate_ids()
    for day in ("2026-12-01", "2027-06-01"):
        provided = {c for c, s in stated.items() if c in ids and s["responsibility"] ==
                    "ProviderResponsibility"}
        outside = {c for c in provided if not stated[c]["in_scope"]}
        lapsed = {c for c in provided - outside if stated[c]["until"]
                  and stated[c]["until"] < day}
        rows = api(client, "control-coverage", controlSet=CLAIMS, as_of=day)
        assert {r["identifier"] for r in rows if r["category"] == "attestation not valid"} \
            == lapsed
        assert {r["identifier"] for r in rows
                if r["category"] == "attestation out of scope"} == outside
        page = text_of(client.get("/coverage", query_string={"controlSet": CLAIMS,
                                                             "as_of": day}).data)
        not_applicable = sum(r["category"] == "not applicable" for r in rows)
        provider = sum(r["category"] == "inherited" and r["responsibility"].startswith(
            "provider") for r in rows)
        still = len(ids) - provider - not_applicable
        assert f" {still} are still the customer's to do" in page
    assert any(s["until"] and s["until"] < "2027-06-01" for s in stated.values())
    assert any(not s["in_scope"] for s in stated.values())  # the demo has both cases


def test_question_pages_are_tables(client) -> None:
    gaps = api(client, "gaps")
    page = client.get("/questions/gaps").data.decode()
    header = page.split("<thead>")[1].split("</thead>")[0]
    assert "controlSet" not in header and "baseline" not in header  # said once, above
    assert "Answered for" in page
    shown = re.findall(r'<a href="/id/fw/nist-sp-800-53-rev5/([a-z0-9.-]+)">', page)
    ac = [c for c in shown if c.startswith("ac-") and "." not in c]
    assert ac == sorted(ac, key=lambda c: int(c.split("-")[1]))  # ac-2 before ac-10
    assert f"{len(gaps)} rows" in page
    small = client.get("/questions/gaps", query_string={"_size": "50"}).data.decode()
    assert f"page 1 of {-(-len(gaps) // 50)}" in small and 'rel="next"' in small
    family = client.get("/questions/gaps", query_string={"family__exact": "ac"}).data.decode()
    expected = [r for r in gaps if r["family"] == "ac"]
    assert f"{len(expected)} rows of {len(gaps)}" in family
    exported = client.get("/questions/gaps.csv", query_string={"family__exact": "ac"})
    table = list(csv.DictReader(io.StringIO(exported.data.decode())))
    assert sorted(r["control"] for r in table) == sorted(r["control"] for r in expected)
    as_json = client.get("/questions/gaps.json", query_string={"_sort": "title"}).get_json()
    assert [r["title"] for r in as_json["rows"]] == sorted(
        (r["title"] for r in gaps), key=lambda t: t.lower())
    assert client.get("/questions/crosswalk", query_string={"requirement": "AC-2"}
                      ).status_code == 200


def test_a_control_as_an_auditor_reads_it(client) -> None:
    catalog = files("trestle_fedramp").joinpath(
        "resources", "fedramp-source", "content", "baselines", "rev5", "xml",
        "FedRAMP_rev5_MODERATE-baseline-resolved-profile_catalog.xml")
    control = next(c for c in ET.fromstring(catalog.read_bytes()).iter(
        f"{{{OSCAL['o']}}}control") if c.get("id") == "ac-2")
    statement = next(p for p in control.findall("o:part", OSCAL) if p.get("name") == "statement")
    labels = [p.find("o:prop[@name='label']", OSCAL).get("value")
              for p in statement.findall("o:part", OSCAL)]
    constraint = next("".join(c.itertext()).strip() for p in control.findall("o:param", OSCAL)
                      if p.get("id") == "ac-02_odp.06" for c in p.findall("o:constraint", OSCAL))
    html = client.get(AC2, query_string={"as_of": "2026-12-01"}).data.decode()
    assert "{{" not in html and "insert: param" not in html
    shown = re.findall(r'<span class="label">([a-z]\.)</span>', html.split('id="h-guidance"')[0])
    assert shown == labels
    assert f'class="param constraint">{constraint}</a>' in html
    assert "constraint of FedRAMP Rev 5 Moderate Baseline" in html
    for heading in ("Guidance", "Assessment objectives", "Assessment methods", "Crosswalks"):
        assert f">{heading}</h2>" in html
    card = text_of(html.encode()).split("Is it covered")[1].split("Text as stated")[0]
    assert "Covered through the provider" in card and "Responsibility shared" in card
    lapsed = text_of(client.get("/id/fw/nist-sp-800-53-rev5/pe-14", query_string={
        "controlSet": CLAIMS, "as_of": "2027-06-01"}).data)
    valid = text_of(client.get("/id/fw/nist-sp-800-53-rev5/pe-14", query_string={
        "controlSet": CLAIMS, "as_of": "2026-12-01"}).data)
    assert "Not covered on this day" in lapsed and "not valid on 2027-06-01" in lapsed
    assert "Covered through the provider" in valid
    # pe-3 is inherited under the SOC 2 report, which does not cover KMS (the system uses it)
    outside = text_of(client.get("/id/fw/nist-sp-800-53-rev5/pe-3", query_string={
        "controlSet": CLAIMS, "as_of": "2026-12-01"}).data)
    assert "scope leaves out a service the system uses" in outside
    assert "its scope leaves out aws-kms" in outside


def _csrf(client, path: str) -> str:
    page = client.get(path).data.decode()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_validation_summary_and_missing_controls(client) -> None:
    token = _csrf(client, "/validate")
    answer = client.post("/validate", data={
        "csrf_token": token, "baseline": MODERATE, "as_of": "2026-11-29",
        "file": (DEMO_TTL.open("rb"), "demo-customer.ttl")}, content_type="multipart/form-data")
    assert answer.status_code == 200
    html = answer.data.decode()
    text = text_of(answer.data)
    assert "Last checked: demo-customer.ttl" in text
    assert re.search(rf'<option value="{re.escape(MODERATE)}" selected>', html)
    missing = moderate_ids() - set(claims_portal())
    assert f"{len(missing)} baseline controls have no statement" in text
    listed = re.findall(r'<p class="idlist">(.*?)</p>', html, re.S)[0]
    assert len(re.findall(r"<a href=", listed)) == len(missing)
    by_rule = re.findall(r'<td class="sev-(?:violation|warning|info)">\w+</td>'
                         r'<td class="num">(\d+)</td>', html)
    key = re.search(r'href="/validate/([^.]+)\.csv"', html).group(1)
    report = client.get(f"/validate/{key}.json").get_json()
    assert sum(int(n) for n in by_rule) == len(report["results"])
    rows = list(csv.DictReader(io.StringIO(client.get(f"/validate/{key}.csv").data.decode())))
    assert Counter(r["severity"] for r in rows) == Counter(
        r["severity"] for r in report["results"])


def test_framework_tree_with_baseline_ticks_and_filter(client) -> None:
    need_shared_data()
    levels = ("LOW", "MODERATE", "HIGH", "LI-SaaS")
    including = [lvl for lvl in levels if "ac-2" in baseline_ids(
        SHARED_DATA / f"fedramp-rev5/FedRAMP_rev5_{lvl}-baseline_profile.json")]
    html = client.get("/id/fw/nist-sp-800-53-rev5").data.decode()
    row = re.search(r'<a href="/id/fw/nist-sp-800-53-rev5/ac-2">AC-2</a></td>(.*?)</tr>',
                    html, re.S).group(1)
    fedramp_ticks = re.findall(r'<span class="sr-only">in (FedRAMP[^<]*)</span>', row)
    assert len(fedramp_ticks) == len(including)
    assert '<a href="/id/fw/nist-sp-800-53-rev5/ac-2.1">AC-2(1)</a>' in html
    filtered = client.get("/id/fw/nist-sp-800-53-rev5", query_string={"q": "account"}).data
    assert b">AC-2</a>" in filtered and b">SC-13</a>" not in filtered


def test_the_editor_knows_our_vocabulary_and_questions(client) -> None:
    html = client.get("/sparql", headers={"Accept": "text/html"}).data.decode()
    raw = re.search(r'<script type="application/json" id="editor-config">(.*?)</script>',
                    html, re.S).group(1)
    assert "</" not in raw
    config = json.loads(raw)
    assert [e["name"] for e in config["examples"]] == list(load_questions())
    assert config["prefixes"]["gc"] == str(GC)
    assert "gc:implementsControl" in config["properties"] and "gc:ControlSet" in config["classes"]
    coverage = next(e for e in config["examples"] if e["name"] == "coverage")
    assert "VALUES" in coverage["query"]  # runnable as it is, with the defaults
    assert client.get("/static/favicon.svg").status_code == 200
    crosswalks = text_of(client.get("/crosswalks").data)
    assert "No crosswalks are loaded" in crosswalks
    agreement = client.get("/crosswalks/agreement")  # not an error about a default framework
    assert agreement.status_code == 200
    assert "No crosswalks are loaded" in text_of(agreement.data)
