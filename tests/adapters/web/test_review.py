"""The review queues, live: each button is a staff command through the core,
logged with who pressed it; an unknown entry, a stale form, a viewer or a
missing CSRF token changes nothing and says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from knowledge.entries import Draft
from storage.eventlog import EventLog
from tests.adapters.web.conftest import Browser, account, head_of
from tests.bot.test_review import EXPORT_CSV, GUESTS, import_slack

SECRET = "ghp_8kF3nQ2xV7bL1mZ9cR4tY6wH0jD5sA2eP8uK"


async def seed(core: Any) -> None:
    """Two past threads waiting, a conflict between two live entries, a stale entry."""
    await import_slack(core)
    at = datetime.now(UTC)
    async with core.db.transaction():
        await core.kb.create(Draft(questions=("what time zone are reports in?",), answer="Reports use UTC."),
                             author="test", origin="import", at=at, entry_id="tz-a")
        await core.kb.create(Draft(questions=("which time zone do reports use?",),
                                   answer="Reports use your workspace's time zone."),
                             author="test", origin="import", at=at, entry_id="tz-b")
        await core.kb.store.flag_conflict("tz-a", "tz-b", "default", at)
        await core.kb.create(Draft(questions=("is the old mobile app supported?",), answer="Until June.",
                                   review_after=datetime.now(UTC).date() - timedelta(days=3)),
                             author="test", origin="import", at=at, entry_id="old-app")


async def review(browser: Browser, action: str, **fields: Any) -> Any:
    return await browser.post("/knowledge/review", {"action": action, **fields})


async def records(core: Any, kind: str) -> list[Any]:
    return [r async for r in EventLog(core.db).records(kinds=(kind,))]  # type: ignore[arg-type]


async def test_the_queues_offer_each_change_with_the_version_it_was_shown_at(local: Browser) -> None:
    await seed(local.console.core)
    page = (await local.get("/knowledge/review")).text
    assert f'id="pending-{EXPORT_CSV}"' in page and 'id="conflict-tz-a-tz-b"' in page and 'id="stale-old-app"' in page
    assert f'value="approve" aria-label="Approve {EXPORT_CSV}"' in page
    assert 'name="version" value="1"' in page and "Keep tz-a" in page and "Both are right" in page
    assert "Renew" in page and "Retire" in page and "the thread</a>" in page, "a past thread links to itself"


async def test_approving_a_pending_entry_is_a_staff_command_logged_with_who(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    answer = await review(local, "approve", entry=EXPORT_CSV, version="1")
    assert answer.status_code == 303 and answer.headers["location"] == "/knowledge/review"
    shown = await local.get("/knowledge/review")
    assert f"Approved {EXPORT_CSV}: it answers from now on." in shown.text
    assert f'id="pending-{EXPORT_CSV}"' not in shown.text
    assert (await core.kb.get(EXPORT_CSV)).status == "live"
    (approved,) = await records(core, "approved")
    assert approved.body["by"] == "web:operator" and approved.body["entry"] == EXPORT_CSV
    command = [r for r in await records(core, "event") if r.body.get("type") == "command"][-1]
    assert command.body["name"] == "approve" and command.body["args"] == f"{EXPORT_CSV}@1"


async def test_an_edit_is_redacted_before_it_is_sent_and_can_approve_at_once(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    answer = await review(local, "edit", entry=GUESTS, version="1", approve="yes",
                          questions="How do I invite a guest?\nCan guests join a board?",
                          answer=f"Members → Invite → Guest. Ask mo@tidepool.example, token {SECRET}")
    assert answer.status_code == 303
    entry = await core.kb.get(GUESTS)
    assert entry.status == "live" and entry.version == 3, "edited (2), then approved (3)"
    assert entry.answer == "Members → Invite → Guest. Ask [email], token [github token]"
    assert entry.questions == ("How do I invite a guest?", "Can guests join a board?")
    stored = json.dumps([r.body async for r in EventLog(core.db).records()])
    assert SECRET not in stored and "mo@tidepool.example" not in stored, "not even in the command as sent"


async def test_reject_settle_renew_and_retire_each_change_what_they_name(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    no_reason = await review(local, "reject", entry=GUESTS, version="1", why="")
    assert no_reason.status_code == 400 and "Say why" in no_reason.text
    assert (await review(local, "reject", entry=GUESTS, version="1", why="it names the old plan")).status_code == 303
    assert (await core.kb.get(GUESTS)).status == "retired"
    assert (await review(local, "settle", entry="tz-a", version="1", other="tz-b", other_version="1",
                         how="keep")).status_code == 303
    assert (await core.kb.get("tz-b")).status == "retired" and (await core.kb.get("tz-a")).status == "live"
    assert await core.kb.store.open_conflicts() == []
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    assert (await review(local, "renew", entry="old-app", version="1", until=until)).status_code == 303
    renewed = await core.kb.get("old-app")
    assert renewed.review_after.isoformat() == until and renewed.version == 2
    assert (await review(local, "retire", entry="old-app", version="2", why="the app is gone")).status_code == 303
    assert (await core.kb.get("old-app")).status == "retired"
    done = [(r.body["what"], r.body["by"]) for r in await records(core, "review")]
    assert done == [("rejected", "web:operator"), ("settled", "web:operator"), ("renewed", "web:operator"),
                    ("retired", "web:operator")]


async def test_both_right_closes_the_conflict_and_keeps_both(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    assert 'id="conflict-tz-a-tz-b"' in (await local.get("/knowledge/review")).text
    answer = await review(local, "settle", entry="tz-a", version="1", other="tz-b", other_version="1", how="both")
    assert answer.status_code == 303
    assert 'id="conflict-tz-a-tz-b"' not in (await local.get("/knowledge/review")).text, "the queue reads afresh"
    assert await core.kb.store.open_conflicts() == []
    assert {(await core.kb.get(i)).status for i in ("tz-a", "tz-b")} == {"live"}


async def test_bad_review_input_changes_nothing_and_says_why(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    log = EventLog(core.db)
    before = await head_of(log)
    unknown = await review(local, "approve", entry="k999", version="1")
    assert unknown.status_code == 404 and "There is no knowledge entry “k999”" in unknown.text
    stale = await review(local, "approve", entry=EXPORT_CSV, version="7")
    assert stale.status_code == 409 and "changed since you loaded the page" in stale.text
    no_version = await review(local, "approve", entry=EXPORT_CSV)
    assert no_version.status_code == 400 and "which version" in no_version.text
    odd = await review(local, "publish", entry=EXPORT_CSV, version="1")
    assert odd.status_code == 400 and "no action “publish”" in odd.text
    forged = await local.client.post("/knowledge/review", data={"action": "approve", "entry": EXPORT_CSV,
                                                                "version": "1"})
    assert forged.status_code == 403 and "security token (CSRF)" in forged.text
    assert await head_of(log) == before, "nothing reached the core"
    assert (await core.kb.get(EXPORT_CSV)).status == "pending"


async def test_a_form_made_before_someone_else_edited_the_entry_is_refused(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    assert (await review(local, "edit", entry=GUESTS, version="1", questions="guests?",
                         answer="Members → Invite → Guest.")).status_code == 303
    late = await review(local, "approve", entry=GUESTS, version="1")  # the queue as it was before the edit
    assert late.status_code == 409 and "now version 2" in late.text
    assert (await core.kb.get(GUESTS)).status == "pending"


async def test_the_core_refusing_shows_its_reason(local: Browser) -> None:
    core = local.console.core
    await seed(core)
    renew_pending = await review(local, "renew", entry=EXPORT_CSV, version="1")
    assert renew_pending.status_code == 409 and "only a live entry has a review date" in renew_pending.text


async def test_a_viewer_sees_the_queues_without_buttons_and_cannot_change_them(guarded: Browser) -> None:
    core = guarded.console.core
    await seed(core)
    await guarded.login(await account(guarded, "vera", "viewer"))
    page = await guarded.get("/knowledge/review")
    assert page.status_code == 200 and f'id="pending-{EXPORT_CSV}"' in page.text and "Approve" not in page.text
    log = EventLog(core.db)
    before = await head_of(log)
    answer = await review(guarded, "approve", entry=EXPORT_CSV, version="1")
    assert answer.status_code == 403 and "read-only" in answer.text
    assert await head_of(log) == before and (await core.kb.get(EXPORT_CSV)).status == "pending"


async def test_a_moderator_cannot_review_knowledge(guarded: Browser) -> None:
    core = guarded.console.core
    await seed(core)
    await guarded.login(await account(guarded, "mo", "moderator"))
    answer = await review(guarded, "approve", entry=EXPORT_CSV, version="1")
    assert answer.status_code == 403 and (await core.kb.get(EXPORT_CSV)).status == "pending"
