"""The pages in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser). Screenshots go to $GRAPHSVC_ARTIFACTS (default
/tmp/graphsvc-artifacts), outside the repository."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphsvc.config import Config
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GRAPHSVC_ARTIFACTS", "/tmp/graphsvc-artifacts"))

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                                reason="the browser tests need Debian's Chromium at "
                                       f"{CHROMIUM}: apt-get install chromium (.ci/run does)")


@pytest.fixture(scope="module")
def site(served_store: Path) -> Iterator[str]:
    from waitress.server import create_server

    from graphsvc.web import close_app, create_app

    app = create_app(Config(store=served_store))
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
    context = browser.new_context()
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


def test_every_page_opens(page, site: str) -> None:
    for path, heading in [("/", "What is loaded"), ("/questions", "Questions"),
                          ("/crosswalks", "Crosswalk explorer"), ("/coverage", "Coverage"),
                          ("/validate", "Validate a control set"), ("/sparql", "SPARQL")]:
        page.goto(site + path)
        assert page.locator("h1").inner_text() == heading


def test_framework_to_control_to_crosswalk(page, site: str) -> None:
    page.goto(site + "/")
    page.get_by_role("link", name="NIST SP 800-53 Rev. 5", exact=True).click()
    page.get_by_role("link", name="ac-2", exact=True).click()
    assert page.locator("h1").inner_text().startswith("AC-2")
    assert page.get_by_role("heading", name="Crosswalks").is_visible()
    page.get_by_role("heading", name="Who is responsible").scroll_into_view_if_needed()
    assert page.locator("section", has=page.get_by_role("heading", name="Who is responsible")
                        ).locator("tbody tr").count() >= 1


def test_run_a_question_from_its_form(page, site: str) -> None:
    page.goto(site + "/questions/coverage")
    page.get_by_label("as_of").fill("2026-11-29")
    page.get_by_role("button", name="Run").click()
    assert "as_of=2026-11-29" in page.url
    assert page.locator("table.results tbody tr").count() > 5
    page.get_by_label("as_of").fill("not-a-date")
    page.keyboard.press("Enter")  # keyboard only
    assert "not a date" in page.get_by_role("alert").inner_text()


def test_upload_a_control_set_and_see_its_violations(page, site: str) -> None:
    page.goto(site + "/validate")
    page.get_by_label("Control set").set_input_files(str(ROOT / "ontology" /
                                                         "demo-customer.ttl"))
    page.get_by_label("As of").fill("2026-11-29")
    page.get_by_role("button", name="Validate").click()
    summary = page.get_by_role("status").inner_text()
    assert "violations" in summary and "fails" in summary
    assert page.locator("li.violation").count() > 100
    assert page.get_by_role("link", name="SARIF").is_visible()


def test_run_a_query_in_the_editor(page, site: str) -> None:
    page.goto(site + "/sparql")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.locator(".yasqe_queryButton").click()
    page.wait_for_selector(".yasr table td, .yasr .dataTable td", timeout=15_000)
    assert page.locator(".yasr").inner_text().count("graph/") >= 5
