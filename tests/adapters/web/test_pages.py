"""What the pages show, and bad input: a clear message, nothing changed."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from adapters.web.pages.scorecard import target_wrong_rate
from bot.settings import Settings
from storage.eventlog import EventLog
from tests.adapters.web.conftest import Browser, head_of


async def ask(browser: Browser, text: str, **extra: str) -> str:
    answer = await browser.post("/chat/ask", {"text": text, "space": "default", **extra},
                                headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def figure_row(page: str, name: str) -> str:
    found = re.search(rf'<tr id="fig-{name}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {name}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


async def test_the_scorecard_shows_each_figure_with_its_basis_and_open_cases_apart(local: Browser) -> None:
    empty = await local.get("/scorecard")
    assert "n/a" in figure_row(empty.text, "task_success") and "0 / 0" in figure_row(empty.text, "task_success")
    await ask(local, "How do I rotate my API key?")
    await ask(local, "does tidepool integrate with my toaster oven firmware?")
    page = (await local.get("/scorecard")).text
    assert 'big">2</span> cases opened' in page and 'big">2</span> still open' in page
    assert "1 / 1" in figure_row(page, "evidence_coverage")
    assert "1 / 2" in figure_row(page, "abstention_rate")
    # Both cases are still open: the resolution figures say they cover none of them.
    assert "2 of 2 are still open and not counted" in figure_row(page, "task_success")
    assert "Most cases in this period are still open" in page
    for section in ("Resolution", "Context", "Trust", "Learning", "Experience"):
        assert f">{section}</caption>" in page


async def test_the_target_wrong_rate_has_a_named_slot_beside_the_measured_rate(local: Browser) -> None:
    page = (await local.get("/scorecard")).text
    slot = re.search(r'<span id="target-wrong-rate">(.*?)</span>', page, re.S)
    assert slot and "1.0%" in slot.group(1) and "policy.target_wrong_rate" in slot.group(1)
    assert target_wrong_rate(Settings.model_validate({"policy": {"target_wrong_rate": 0.02}})) == 0.02

    class Policy:
        target_wrong_rate = 0.02

    class WithTarget:
        policy = Policy()

    assert target_wrong_rate(WithTarget()) == 0.02


async def test_charts_render_as_svg_with_their_data_in_words(local: Browser) -> None:
    await ask(local, "How do I rotate my API key?")
    fragment = await local.get("/scorecard/charts?bucket=day")
    assert fragment.status_code == 200
    charts = re.findall(r'<svg class="chart"[^>]*data-points="(\d+)"', fragment.text)
    assert len(charts) == 5 and all(int(n) >= 1 for n in charts)
    assert "<desc" in fragment.text and "Task success" in fragment.text
    assert "<circle" in fragment.text, "a point is drawn where there is something to count"


async def test_the_scorecard_filters_by_channel_and_period(local: Browser) -> None:
    await ask(local, "How do I rotate my API key?")
    elsewhere = (await local.get("/scorecard?channel=somewhere-else")).text
    assert "0 / 0" in figure_row(elsewhere, "abstention_rate")
    here = (await local.get("/scorecard?channel=web-help")).text
    assert "0 / 1" in figure_row(here, "abstention_rate")
    past = (await local.get("/scorecard?since=2001-01-01&until=2001-01-31")).text
    assert "0 / 0" in figure_row(past, "abstention_rate")


async def test_bad_filters_get_a_clear_message(local: Browser) -> None:
    bad = await local.get("/scorecard?since=yesterday")
    assert bad.status_code == 400 and "Dates are written like 2026-03-01" in bad.text
    backwards = await local.get("/scorecard?since=2026-03-05&until=2026-03-01")
    assert backwards.status_code == 400 and "starts after it ends" in backwards.text
    assert (await local.get("/knowledge?status=deleted")).status_code == 400


async def test_knowledge_lists_entries_with_version_source_review_date_and_answers(local: Browser) -> None:
    await ask(local, "How do I rotate my API key?")
    page = (await local.get("/knowledge?q=rotate")).text
    row = re.search(r'<a href="/knowledge/api-key-rotate">.*?</tr>', page, re.S)
    assert row, page[:2000]
    cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
    assert cells[1] == "1" and cells[2].startswith("live") and "imported" in cells[3]
    assert cells[4] == "2027-06-01" and cells[5] == "1", cells
    assert "1 entry matching" in page


async def test_an_entry_shows_its_history_and_a_diff_between_versions(local: Browser) -> None:
    kb = local.console.core.kb
    entry = await kb.get("api-key-rotate")
    from datetime import UTC, datetime

    async with kb.db.transaction():
        await kb.revise(entry, author="web:operator", origin="staff", at=datetime.now(UTC),
                        answer="Settings → API → Rotate key. The old key stops working after 1 hour.")
    page = (await local.get("/knowledge/api-key-rotate")).text
    assert "version 2" in page
    added = re.findall(r'<div class="added">.*?</div>', page, re.S)
    removed = re.findall(r'<div class="removed">.*?</div>', page, re.S)
    assert any("after 1 hour" in a for a in added) and any("24 hours" in r for r in removed)
    older = (await local.get("/knowledge/api-key-rotate?a=1&b=1")).text
    assert '<div class="added">' not in older


async def test_an_unknown_entry_or_version_or_case_says_so(local: Browser) -> None:
    missing = await local.get("/knowledge/no-such-entry")
    assert missing.status_code == 404 and "There is no knowledge entry “no-such-entry”" in missing.text
    version = await local.get("/knowledge/api-key-rotate?a=1&b=7")
    assert version.status_code == 404 and "there is no version 7" in version.text
    case = await local.get("/cases/default/nope")
    assert case.status_code == 404 and "There is no case “nope”" in case.text
    assert (await local.get("/nowhere")).status_code == 404


async def test_the_review_queues_show_pending_conflicts_and_stale(local: Browser) -> None:
    kb = local.console.core.kb
    from datetime import UTC, date, datetime

    from knowledge.entries import Draft

    now = datetime.now(UTC)
    async with kb.db.transaction():
        await kb.create(Draft(questions=("can I pay by invoice?",), answer="Yes, on annual plans.",
                              status="pending"), author="web:operator", origin="staff", at=now, entry_id="inv")
        await kb.store.flag_conflict("api-key-rotate", "password-reset", "default", now)
        old = await kb.get("two-factor")
        await kb.revise(old, author="t", origin="import", at=now, review_after=date(2020, 1, 1))
    page = (await local.get("/knowledge/review")).text
    pending = page.split('id="pending-h"')[1].split("</section>")[0]
    conflicts = page.split('id="conflicts-h"')[1].split("</section>")[0]
    stale = page.split('id="stale-h"')[1].split("</section>")[0]
    assert "/knowledge/inv" in pending and "can I pay by invoice?" in pending
    assert "/knowledge/api-key-rotate" in conflicts and "/knowledge/password-reset" in conflicts
    assert "/knowledge/two-factor" in stale and "2020-01-01" in stale
    assert 'value="approve" aria-label="Approve inv"' in pending, "the queue offers its changes"


async def test_an_upload_imports_through_kb_import_with_progress(local: Browser) -> None:
    faq = ("- id: gantt\n  questions: [\"Is there a Gantt chart view?\"]\n"
           "  answer: \"Not yet: use the Board view.\"\n")
    answer = await local.post("/knowledge/import", files={"file": ("roadmap.yaml", faq.encode())})
    assert answer.status_code == 303
    job_url = answer.headers["location"]
    for _ in range(200):
        page = await local.get(job_url, headers={"HX-Request": "true"})
        if "import-done" in page.text:
            break
        assert "<progress" in page.text
        await asyncio.sleep(0.05)
    assert "1 new, 0 new versions" in page.text
    entry = await local.console.core.kb.get("gantt")
    assert entry is not None and entry.author == "web:operator", "who imported it is kept"


async def test_an_upload_that_is_not_a_knowledge_file_changes_nothing(local: Browser) -> None:
    store = local.console.core.kb.store
    before = len(await store.entries(status=None))
    cases = [
        ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a knowledge file: use .yaml"),
        ("faq.yaml", b"\xff\xfe\x00binary", "not a knowledge file"),
        ("faq.yaml", b"questions: [: nope", "not a knowledge file"),
        ("faq.yaml", b"- just a string\n- another\n", "“faq.yaml” holds nothing that could be imported"),
        ("faq.json", json.dumps({"a": 1}).encode(), "not a knowledge file"),
        ("empty.md", b"   \n", "is empty"),
    ]
    for name, data, says in cases:
        answer = await local.post("/knowledge/import", files={"file": (name, data)})
        assert answer.status_code == 400, (name, answer.status_code)
        assert says in answer.text, (name, answer.text[answer.text.find("alert"):][:300])
    missing = await local.post("/knowledge/import", {})
    assert missing.status_code == 400 and "Choose a knowledge file" in missing.text
    assert len(await store.entries(status=None)) == before
    assert not local.console.imports.jobs


async def test_the_open_queue_and_a_cases_whole_story_with_its_export(local: Browser) -> None:
    await ask(local, "does tidepool integrate with my toaster oven firmware?")
    queue = (await local.get("/cases")).text
    assert "toaster oven" in queue and "low_confidence" in queue and "owner: staff" in queue
    assert "Sam's journey" in queue and "age 0 min" in queue
    key = re.search(r'href="/cases/default/([^"]+)"', queue).group(1)
    story = (await local.get(f"/cases/default/{key}")).text
    assert "Sources weighed" in story and "embedding model" in story and "all-MiniLM" in story.replace("-L6", "")
    assert "thresholds in force".lower() in story.lower()
    exported = await local.get(f"/cases/default/{key}/export")
    assert exported.headers["content-disposition"].startswith("attachment")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert {"event", "case", "decision", "action"} <= {line["kind"] for line in lines}
    assert all(len(line["hash"]) == 64 for line in lines)


async def test_taking_a_case_goes_through_the_core_and_a_stale_form_is_refused(local: Browser) -> None:
    await ask(local, "does tidepool integrate with my toaster oven firmware?")
    case = (await local.console.core.cases.with_status("default", "routed"))[0]
    log = EventLog(local.console.core.db)
    before = await head_of(log)
    stale = await local.post(f"/cases/default/{case.key}/claim", {"updated_at": "2001-01-01T00:00:00+00:00"})
    assert stale.status_code == 409 and "changed since you loaded the page" in stale.text
    assert await head_of(log) == before
    assert (await local.console.core.cases.get("default", case.key)).owner == "staff"
    taken = await local.post(f"/cases/default/{case.key}/claim", {"updated_at": case.updated_at.isoformat()})
    assert taken.status_code == 303
    now = await local.console.core.cases.get("default", case.key)
    assert now.owner == "web:operator"
    commands = [r async for r in log.records(kinds=("event",)) if r.body.get("type") == "command"]
    assert commands[-1].body["user"] == "web:operator" and commands[-1].body["name"] == "claim", \
        "the change is in the event log with who did it"


async def test_a_scorecard_still_being_counted_answers_at_once_and_fills_in(local: Browser) -> None:
    from adapters.web.scoreboard import Scoreboard

    await ask(local, "How do I rotate my API key?")
    gate = asyncio.Event()
    real = local.console.overview.scores

    class Slow:
        """The core's scores, held back until the gate opens (a large log's first count)."""

        async def scorecard(self, view: Any) -> Any:
            await gate.wait()
            return await real.scorecard(view)

        async def chart(self, view: Any, **shape: Any) -> Any:
            await gate.wait()
            return await real.chart(view, **shape)

        async def answers(self) -> Any:
            return await real.answers()

    local.console.scoreboard = Scoreboard(Slow())
    waiting = await local.get("/scorecard")
    assert waiting.status_code == 200 and "being counted" in waiting.text
    charts = await local.get("/scorecard/charts")
    assert charts.status_code == 200 and "Counting each period" in charts.text
    gate.set()
    await asyncio.sleep(0.05)
    ready = await local.get("/scorecard")
    assert "being counted" not in ready.text and 'id="fig-task_success"' in ready.text
