"""The staff dashboard, the API docs offline, pages that load nothing from other hosts, and accessibility (axe-core)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_chat_ui import TIMEOUT, open_chat, send

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def test_dashboard_draws_its_charts_for_staff(server, page, accounts):
    base, _ = server
    open_chat(page, base)
    send(page, "recommend me a comedy")
    expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
    sign_in(page, base, accounts["staff"])
    page.goto(base + "/admin/")
    page.get_by_test_id("dashboard-link").click()
    expect(page.locator("body[data-charts-drawn='7']")).to_be_attached(timeout=TIMEOUT)
    charts = page.get_by_test_id("chart")
    expect(charts).to_have_count(7)
    for i in range(7):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 100 and box["height"] > 100
    assert page.evaluate("Object.keys(Chart.instances).length") == 7
    page.locator("select[name=domain]").select_option("movie")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**domain=movie**")
    expect(page.locator("body[data-charts-drawn='7']")).to_be_attached(timeout=TIMEOUT)


def test_dashboard_is_refused_to_guests_and_plain_users(server, page, accounts):
    base, _ = server
    page.goto(base + "/admin/dashboard/")
    assert urlsplit(page.url).path == "/admin/login/"
    sign_in(page, base, accounts["member"])
    response = page.goto(base + "/admin/dashboard/")
    assert urlsplit(page.url).path == "/admin/login/"
    assert response.status == 200 and page.get_by_test_id("chart").count() == 0


def test_api_docs_render_offline(server, page):
    base, _ = server
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ChatRec API", timeout=TIMEOUT)


def test_pages_request_nothing_from_other_hosts(server, page, accounts):
    base, _ = server
    origin = urlsplit(base).netloc
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    open_chat(page, base)
    send(page, "recommend me a comedy")
    expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=TIMEOUT)
    page.goto(base + "/accounts/signup/")
    sign_in(page, base, accounts["staff"])
    page.goto(base + "/admin/")
    page.goto(base + "/admin/dashboard/")
    expect(page.locator("body[data-charts-drawn='7']")).to_be_attached(timeout=TIMEOUT)
    foreign = [u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).netloc != origin]
    assert len(requested) > 10 and foreign == []


def serious_violations(page) -> list[str]:
    # Evaluated through the browser's debugging protocol: the page's Content-Security-Policy (rightly) refuses
    # an injected inline script tag.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_serious_accessibility_violations(server, page, accounts, language):
    base, _ = server
    page.goto(base + "/")
    page.get_by_test_id("language").select_option(language)
    expect(page.locator(f"html[lang={language}]")).to_be_attached(timeout=TIMEOUT)
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
    send(page, "recommend me a comedy" if language == "en" else "推荐几部动画片")
    expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    found = {"chat": serious_violations(page)}
    page.emulate_media(color_scheme="dark")
    found["chat, dark"] = serious_violations(page)
    page.emulate_media(color_scheme="light")
    page.goto(base + "/accounts/login/")
    found["login"] = serious_violations(page)
    sign_in(page, base, accounts["staff"])
    page.goto(base + "/admin/")
    found["admin index"] = serious_violations(page)
    page.goto(base + "/admin/dashboard/")
    expect(page.locator("body[data-charts-drawn='7']")).to_be_attached(timeout=TIMEOUT)
    found["dashboard"] = serious_violations(page)
    assert {name: v for name, v in found.items() if v} == {}
