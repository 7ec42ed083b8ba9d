"""The console in a real browser: Debian's chromium driven by Playwright.

Log in, see a chart render, see the queues, answer as staff in the chat page
and see it learned, import a file with progress; keyboard and a phone-sized
screen. With ``WEB_SCREENSHOTS=1`` each page's screenshot is kept in ``docs/``
(the README shows them); otherwise in the test's temporary folder. (A test
variable: ``JOURNEYBOT_…`` names only settings, and the bot refuses others.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.web.console import Console, ConsoleConfig
from bot.runtime import Runtime
from knowledge.entries import Draft
from tests.adapters.web.history import play_history
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return ROOT / "docs" if os.environ.get("WEB_SCREENSHOTS") else tmp_path


@pytest.fixture
async def served(core: Any) -> AsyncIterator[Console]:
    """The console served on 127.0.0.1 (a port the OS picks), login required,
    over a few weeks of history."""
    await play_history(core)
    console = Console(core, ConsoleConfig(host="127.0.0.1", port=0, login=True, demo=False))
    said: list[str] = []
    console.announce = said.append
    runtime = Runtime(core, [console.adapter])
    await runtime.start()
    console.test_admin_token = next(line.strip() for line in said if line.startswith("    "))  # type: ignore[attr-defined]
    try:
        yield console
    finally:
        await runtime.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def logged_in(browser: Any, console: Console, *, width: int = 1200, height: int = 900,
                    token: str | None = None, shots: Path | None = None) -> Any:
    """A new person (a browser context of its own) logged in, the admin unless ``token`` says otherwise."""
    page = await browser.new_page(viewport={"width": width, "height": height})
    await page.goto(console.config.url + "scorecard")
    assert "/login" in page.url, "asked to log in first"
    if shots is not None:
        await shoot(page, shots, "login")
    await page.get_by_label("Access token").fill(token or console.test_admin_token)  # type: ignore[attr-defined]
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/scorecard")
    return page


async def settled(page: Any) -> None:
    """htmx has finished swapping in what the last action returned: a form it put there handles a
    click only once htmx has processed it (clicked sooner, a fill could be lost: a flaky test)."""
    await page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


async def shoot(page: Any, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"web-{name}.png"), full_page=True)


async def test_log_in_and_see_the_scorecard_charts_render(served: Console, browser: Any, shots: Path) -> None:
    page = await logged_in(browser, served, shots=shots)
    charts = page.locator("svg.chart")
    await charts.first.wait_for()
    assert await charts.count() == 5
    points = await page.locator("#chart-task_success circle.point").count()
    assert points >= 3, "weeks of history draw a line over several points"
    assert await page.locator("#chart-task_success polyline.series").count() >= 1
    box = await page.locator("#chart-task_success").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 60
    assert "wrong answers" in await page.locator("#wrong-rate").inner_text()
    await shoot(page, shots, "scorecard")


async def test_answer_as_staff_in_the_chat_page_and_see_it_learned(served: Console, browser: Any,
                                                                     shots: Path) -> None:
    page = await logged_in(browser, served)
    await page.get_by_role("link", name="Try it").click()
    await page.get_by_label("Message as a member").fill("does tidepool have a gantt chart view?")
    await page.get_by_role("button", name="Send to #help").click()
    card = page.locator("#staff-posts li[data-kind=card]").first
    await card.wait_for()
    await settled(page)
    assert "gantt" in await card.inner_text()
    await page.get_by_label("Your answer (relayed to the member, and learned)").fill(
        "Not yet: use the Board view; a Timeline view is planned.")
    await page.get_by_role("button", name="Answer as staff").click()
    learned = page.locator("#staff-posts li[data-kind=learned]").first
    await learned.wait_for()
    await settled(page)
    entry = (await learned.get_by_role("link").get_attribute("href") or "").rsplit("/", 1)[-1]
    assert entry
    assert await page.locator("#help-posts li[data-kind=relay]").count() == 1
    await page.get_by_label("Your name").fill("Noor")
    await page.get_by_label("Message as a member").fill("is there a gantt chart view in tidepool?")
    await page.get_by_role("button", name="Send to #help").click()
    newest = page.locator("#help-posts > li.thread").first
    await newest.locator("li[data-kind=answer]").wait_for()
    assert await newest.get_by_role("link", name=entry).count() == 1, "answered from what staff just taught"
    await shoot(page, shots, "chat")
    await page.get_by_role("link", name=entry).first.click()
    await page.wait_for_url(f"**/knowledge/{entry}")
    assert "taught by staff" in await page.locator("main").inner_text()


async def seed_queues(console: Console) -> None:
    """A private thread's entry waiting for approval, a conflict, a stale entry."""
    kb = console.core.kb
    now = datetime.now(UTC)
    async with kb.db.transaction():
        await kb.create(Draft(questions=("Can I pay by invoice?",), answer="Yes, on annual plans: ask billing."),
                        author="alice", origin="staff", at=now, entry_id="pay-by-invoice", private=True)
        pending = await kb.get("pay-by-invoice")
        await kb.revise(pending, author="alice", origin="staff", at=now, status="pending")
        await kb.store.flag_conflict("export-notebook", "share-public", "default", now)
        old = await kb.get("two-factor")
        await kb.revise(old, author="import", origin="import", at=now, review_after=date(2026, 1, 1),
                        answer=old.answer + " Recovery codes can be regenerated once a day.")


async def test_approve_a_pending_entry_settle_a_conflict_and_renew(served: Console, browser: Any,
                                                                   shots: Path) -> None:
    await seed_queues(served)
    kb = served.core.kb
    page = await logged_in(browser, served)
    await page.get_by_role("link", name="Review").click()
    await page.get_by_role("heading", name="Pending approval").wait_for()
    main = await page.locator("main").inner_text()
    assert "pay-by-invoice" in main and "export-notebook" in main and "two-factor" in main
    await shoot(page, shots, "review")

    await page.get_by_role("button", name="Approve pay-by-invoice").click()
    await page.locator("[role=status], [role=alert]").first.wait_for()
    await settled(page)
    assert "Approved pay-by-invoice" in await page.locator("main").inner_text()
    assert await page.locator("#pending-pay-by-invoice").count() == 0
    assert (await kb.get("pay-by-invoice")).status == "live"

    await page.get_by_role("button", name="Keep export-notebook and retire share-public").click()
    await page.get_by_text("Kept export-notebook; share-public is retired").wait_for()
    await settled(page)
    assert await page.locator("#conflict-export-notebook-share-public").count() == 0
    assert (await kb.get("share-public")).status == "retired" and await kb.store.open_conflicts() == []

    until = page.get_by_label("New review date for two-factor")
    await until.fill("2030-12-31")
    await until.press("Enter")  # the keyboard submits with the form's Renew button
    await page.locator("#stale-two-factor").wait_for(state="detached")
    assert "two-factor is current until 2030-12-31" in await page.locator("[role=status]").inner_text()
    renewed = await kb.get("two-factor")
    assert renewed.review_after == date(2030, 12, 31) and renewed.author == "web:admin"


async def test_an_admin_adds_a_viewer_who_sees_the_queues_without_buttons(served: Console, browser: Any,
                                                                           shots: Path) -> None:
    await seed_queues(served)
    admin = await logged_in(browser, served)
    await admin.get_by_role("link", name="Accounts").click()
    await admin.get_by_label("Name").fill("vera")
    await admin.get_by_label("Role").select_option("viewer")
    await admin.get_by_role("button", name="Create and show the token").click()
    token = await admin.locator("code.token").inner_text()
    stored = await served.overview.kept("web-accounts")
    assert len(token) >= 20 and stored["vera"]["role"] == "viewer" and token not in str(stored), "its hash is kept"
    await shoot(admin, shots, "accounts")
    viewer = await logged_in(browser, served, token=token)
    assert "vera · viewer" in await viewer.locator("header").inner_text()
    await viewer.get_by_role("link", name="Review").click()
    await viewer.locator("#pending-pay-by-invoice").wait_for()
    assert await viewer.get_by_role("button", name="Approve pay-by-invoice").count() == 0
    assert "only staff change knowledge" in await viewer.locator("main").inner_text()


async def test_the_entries_cases_and_a_case_story(served: Console, browser: Any, shots: Path) -> None:
    await seed_queues(served)
    page = await logged_in(browser, served)
    await page.goto(served.config.url + "knowledge/two-factor")
    assert await page.locator(".diff .added").count() >= 1
    await shoot(page, shots, "entry")

    await page.goto(served.config.url + "knowledge?q=notebook")
    assert await page.locator("table.entries tbody tr").count() >= 2
    await shoot(page, shots, "knowledge")

    await page.get_by_role("link", name="Cases").click()
    await page.get_by_role("link", name="Cases").wait_for()
    await page.goto(served.config.url + "cases?status=open")
    await shoot(page, shots, "cases")
    first = page.locator("ul.cases li.case a").first
    await first.click()
    await page.get_by_role("link", name="Export the trail (JSON lines)").wait_for()
    assert await page.locator("ol.trail li.rec-decision").count() >= 1
    await shoot(page, shots, "case")


async def test_import_a_file_by_upload_with_progress(served: Console, browser: Any, shots: Path,
                                                     tmp_path: Path) -> None:
    faq = tmp_path / "pricing.yaml"
    faq.write_text("".join(
        f"- id: plan-{n}\n  questions: [\"What does plan {n} include?\"]\n  answer: \"Plan {n} includes {n} seats.\"\n"
        for n in range(1, 41)), encoding="utf-8")
    page = await logged_in(browser, served)
    await page.get_by_role("link", name="Import").click()
    await page.get_by_label("Knowledge file").set_input_files(str(faq))
    await page.get_by_role("button", name="Upload and import").click()
    done = page.locator("#import-done")
    await done.wait_for(timeout=60_000)
    assert "40 new" in await done.inner_text()
    await shoot(page, shots, "import")
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes", encoding="utf-8")
    await page.get_by_label("Knowledge file").set_input_files(str(bad))
    await page.get_by_role("button", name="Upload and import").click()
    alert = page.locator("#job [role=alert]")
    await alert.wait_for()
    assert "not a knowledge file" in await alert.inner_text()


async def test_keyboard_and_a_phone_sized_screen(served: Console, browser: Any, shots: Path) -> None:
    page = await logged_in(browser, served, width=390, height=844)
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert await skip.evaluate("el => el === document.activeElement")
    await page.keyboard.press("Enter")
    await page.goto(served.config.url + "chat")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the chat page scrolls sideways by {overflow}px on a phone"
    await page.get_by_label("Message as a member").focus()
    await page.keyboard.type("How do I rotate my API key?")
    await page.keyboard.press("Tab")  # to the send button
    await page.keyboard.press("Enter")
    await page.locator("#help-posts li[data-kind=answer]").first.wait_for()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"an answer with a long link makes the page scroll sideways by {overflow}px"
    await shoot(page, shots, "phone")
    for path in ("scorecard", "knowledge", "knowledge/review", "cases?status=open"):
        await page.goto(served.config.url + path)
        wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, f"/{path} scrolls sideways by {wide}px on a phone"


def test_screenshots_in_docs_are_pngs() -> None:
    for name in ("login", "scorecard", "chat", "review", "cases", "case", "entry", "knowledge", "import", "phone",
                 "accounts"):
        path = ROOT / "docs" / f"web-{name}.png"
        if path.exists():
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert shutil.which("chromium") or not os.environ.get("CI"), "CI installs chromium (.ci/run)"
