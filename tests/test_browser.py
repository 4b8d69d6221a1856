"""The pages in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser), on what an analyst compares (init's content, CSF 2.0, ISO/IEC
27001:2022 and the CISO 800-53 -> ISO crosswalk).

* the four analyst journeys, end to end, with expected answers read from the files;
* every page type at 1440 and 390 px: axe-core (from npm: ``.ci/run`` installs it into
  node_modules/, never a CDN) finds no serious or critical violation, the phone width
  does not scroll sideways on the pages an analyst reads there, and a screenshot goes
  to $GRAPHSVC_ARTIFACTS (default /tmp/graphsvc-artifacts), outside the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from graphsvc.config import Config
from graphsvc.importers.crosswalk import import_crosswalks
from graphsvc.store.embedded import EmbeddedStore
from tests.conftest import ROOT, SHARED_DATA, need_shared_data
from tests.helpers import baseline_ids, load_analyst_content

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GRAPHSVC_ARTIFACTS", "/tmp/graphsvc-artifacts"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1440, 390)
NARROW_READ = ("home", "control", "coverage", "validation")  # no sideways scroll at 390 px
MAPPING = "ciso-library/mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml"
SSP = "fedramp-rev5/examples/AwesomeCloudSSP1.xml"
OSCAL_NS = "{http://csrc.nist.gov/ns/oscal/1.0}"

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                                reason="the browser tests need Debian's Chromium at "
                                       f"{CHROMIUM}: apt-get install chromium (.ci/run does)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_shared_data()
    from waitress.server import create_server

    from graphsvc.web import close_app, create_app

    path = tmp_path_factory.mktemp("browser") / "store"
    with EmbeddedStore(path) as store:
        load_analyst_content(store, SHARED_DATA)
        import_crosswalks(store, [SHARED_DATA / "fedramp-20x/FRMR.documentation.json"],
                          max_bytes=10**8)  # the /ksi page's indicators
    app = create_app(Config(store=path))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    close_app(app)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


# ------------------------------------------------------------------ the four journeys


def test_is_ac2_covered_today_and_who_is_responsible(page, site: str) -> None:
    page.goto(site + "/")
    box = page.get_by_role("combobox", name="Search controls")
    box.fill("AC-2")
    page.wait_for_selector(".suggest li")  # typing ahead
    box.press("Enter")
    page.get_by_role("link", name=re.compile(r"^AC-2 Account Management")).first.click()
    assert page.locator("h1").inner_text() == "AC-2 Account Management"
    card = page.locator(".status-card")
    verdict = card.get_by_role("status").inner_text()
    assert verdict.startswith("Covered through the provider")
    assert "DEMO: Example Health patient portal SSP" in verdict
    facts = card.locator("dl.facts").inner_text()
    assert "Responsibility\nshared" in facts and "valid on" in facts
    card.get_by_label("Control set").select_option(label="DEMO: Claims analytics portal "
                                                   "control set")
    card.get_by_role("button", name="Show").click()
    assert "Claims analytics portal" in page.locator(".status-card").get_by_role(
        "status").inner_text()


def test_which_iso_controls_does_ac2_map_to_and_how_sure(page, site: str) -> None:
    rows = yaml.safe_load((SHARED_DATA / MAPPING).read_text())["objects"][
        "requirement_mapping_sets"][0]["requirement_mappings"]
    expected = sorted(r["target_requirement_urn"].rsplit(":", 1)[1].upper() for r in rows
                      if r["source_requirement_urn"].endswith(":ac-2"))
    page.goto(site + "/search?q=AC-2")
    page.get_by_role("link", name=re.compile(r"^AC-2 Account Management")).first.click()
    section = page.locator("section", has=page.get_by_role("heading", name="Crosswalks"))
    assert section.get_by_role("heading", name="ISO/IEC 27001:2022").is_visible()
    iso = section.locator("h3", has_text="ISO/IEC 27001:2022").locator(
        "xpath=following-sibling::div[1]")  # (the site has FedRAMP 20x's mappings too)
    found = sorted(iso.locator("tbody tr td:first-child .id").all_inner_texts())
    assert found == expected
    first_row = iso.locator("tbody tr").first.inner_text()
    assert "intersects" in first_row and "overlap in part" in first_row
    assert "no strength or rationale given" in first_row
    page.goto(site + "/crosswalks")
    page.get_by_role("link", name=re.compile(r"^AC to A\.5: ")).click()
    pairs = page.locator("#pairs + .scroll table").inner_text()
    assert "AC-2 Account Management" in pairs and expected[0] in pairs


def test_upload_my_ssp_and_see_what_is_missing(page, site: str) -> None:
    path = SHARED_DATA / SSP
    stated = {e.get("control-id") for e in ET.parse(path).getroot().iter(
        f"{OSCAL_NS}implemented-requirement")}
    missing = set(baseline_ids(SHARED_DATA / "fedramp-rev5/FedRAMP_rev5_MODERATE-baseline_"
                               "profile.json")) - stated
    page.goto(site + "/validate")
    page.get_by_label("Control set").set_input_files(str(path))
    page.get_by_label("Baseline", exact=True).select_option(
        label="FedRAMP Rev 5 Moderate Baseline")
    page.get_by_label("As of").fill("2026-11-29")
    page.get_by_role("button", name="Validate").click()
    assert page.get_by_role("status").inner_text().startswith("Fails")
    heading = page.get_by_role("heading", name=re.compile("baseline controls have no statement"))
    assert heading.inner_text().startswith(f"{len(missing)} ")
    assert page.locator(".idlist a").count() == len(missing)
    assert "Last checked: AwesomeCloudSSP1.xml" in page.locator("#v-file-last").inner_text()
    assert page.get_by_label("Baseline", exact=True).input_value().endswith("rev5-moderate")
    page.get_by_label("warnings").check()  # the severity filter works without a script
    assert page.locator("li.violation").first.is_hidden()
    assert page.get_by_role("link", name="CSV").is_visible()


def test_find_all_controls_about_encryption(page, site: str) -> None:
    page.goto(site + "/")
    box = page.get_by_role("combobox", name=re.compile("^Find a control"))
    box.fill("encryption")
    box.press("Enter")  # the keyboard alone
    nist = page.locator("section.search-group", has=page.get_by_role(
        "heading", name=re.compile("NIST SP 800-53")))
    first_ten = nist.locator("ol.hits > li > a.hit .id").all_inner_texts()[:10]
    assert {"SC-13", "SC-28"} <= set(first_ten), first_ten
    assert page.get_by_role("heading", name="ISO/IEC 27001:2022").is_visible()


# ------------------------------------------------------------------ every page type


PAGES = {
    "home": "/",
    "search": "/search?q=encryption",
    "question": "/questions/gaps",
    "questions": "/questions",
    "control": "/id/fw/nist-sp-800-53-rev5/ac-2",
    "framework": "/id/fw/nist-sp-800-53-rev5",
    "framework-tree": "/id/fw/iso27001-2022",
    "coverage": "/coverage?family=ac",
    "crosswalks": "/crosswalks?sourceFamily=ac&targetFamily=a.5",
    "resource": "/id/baseline/fedramp-rev5-moderate",
    "error": "/id/no-such-thing",
    "editor": "/sparql",
    "what-if": "/what-if?controlSet=https%3A%2F%2Fw3id.org%2Fgraphsvc%2Fid%2Fdemo%2F"
               "controlset-claims-portal&as_of=2026-12-01&lapse=https%3A%2F%2Fw3id.org%2F"
               "graphsvc%2Fid%2Fdemo%2Fartifact-aws-fedramp-moderate",
    "ksi": "/ksi",
    "agreement": "/crosswalks/agreement?source=https%3A%2F%2Fw3id.org%2Fgraphsvc%2Fid%2Ffw%2F"
                 "nist-sp-800-53-rev5&target=https%3A%2F%2Fw3id.org%2Fgraphsvc%2Fid%2Ffw%2F"
                 "iso27001-2022&family=ac",
}


def serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page (axe from npm, injected
    through the browser's own evaluation, so the page's CSP stays as it is)."""
    assert AXE.is_file(), ("axe-core is not installed: run `npm install --no-save "
                           "axe-core@4.14.1` in the project (.ci/run does)")
    page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).slice(0, 3)
             .join(', ') + ')')""")
    return list(found)


def _open(page, site: str, name: str, path: str) -> None:
    page.goto(site + path)
    if name == "editor":
        page.wait_for_selector(".yasqe .CodeMirror")
        page.locator(".yasqe_queryButton").click()
        page.wait_for_selector(".yasr table td, .yasr .dataTable td", timeout=15_000)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_type_is_accessible_and_fits(browser, site: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    problems: dict[str, list[str]] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        for name, path in PAGES.items():
            _open(page, site, name, path)
            problems[name] = serious(page)
            wide = page.evaluate("document.documentElement.scrollWidth")
            if name in NARROW_READ and wide > width:
                problems[name].append(f"{wide} px wide at {width} px")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        page.goto(site + "/validate")
        page.get_by_label("Control set").set_input_files(str(ROOT / "ontology/demo-customer.ttl"))
        page.get_by_role("button", name="Validate").click()
        problems["validation"] = serious(page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            problems["validation"].append(f"{wide} px wide at {width} px")
        page.screenshot(path=str(ARTIFACTS / f"validation-{width}.png"), full_page=True)
    finally:
        context.close()
    assert {k: v for k, v in problems.items() if v} == {}
    assert errors == []


def test_pages_work_without_javascript(browser, site: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site + "/search?q=AC-2(1)")
        assert page.locator("ol.hits a.hit").first.inner_text().startswith("AC-2(1)")
        page.goto(site + "/id/fw/iso27001-2022?q=access")
        assert page.get_by_role("link", name="A.5.15").is_visible()
        page.goto(site + "/questions/gaps?_sort=title&_desc=1")
        assert page.locator("table.results").is_visible()
        page.goto(site + "/questions/coverage")
        page.get_by_label("as_of").fill("not-a-date")
        page.keyboard.press("Enter")
        assert "not a date" in page.get_by_role("alert").inner_text()
    finally:
        context.close()


def test_the_editor_knows_our_questions_links_our_iris_and_words_errors(page, site: str
                                                                        ) -> None:
    page.goto(site + "/sparql")
    page.wait_for_selector(".yasqe .CodeMirror")
    example = page.locator("#examples option", has_text="framework-controls - ")
    page.get_by_label("Start from a named question").select_option(
        value=example.get_attribute("value"))
    page.locator(".yasqe_queryButton").click()
    page.wait_for_selector(".yasr table td a.iri", timeout=15_000)
    hrefs = page.locator(".yasr a.iri").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    assert any(h.startswith("/id/fw/nist-sp-800-53-rev5/") for h in hrefs)
    assert not any(h.startswith("https://w3id.org/graphsvc/id/") for h in hrefs)
    page.evaluate("window.yasgui.getTab().getYasqe().setValue('SELECT * WHERE { ?s ?p }')")
    page.locator(".yasqe_queryButton").click()
    alert = page.locator(".yasr [role=alert]")
    alert.wait_for(timeout=15_000)
    assert "line 1" in alert.inner_text() and "updates" not in alert.inner_text()
