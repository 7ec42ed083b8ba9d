"""The chat page plays a help and a staff channel through the same core:
a member asks, staff answer the card, the bot learns and answers the next one."""

from __future__ import annotations

import html
import re

from tests.adapters.web.conftest import Browser

HX = {"HX-Request": "true"}


def posts(page: str, channel: str) -> str:
    return html.unescape(page.split(f'id="{channel}-posts"')[1].split("</section>")[0])


async def test_a_member_asks_staff_answer_the_card_and_the_bot_learns(local: Browser) -> None:
    said = await local.post("/chat/ask", {"text": "does tidepool have a gantt chart view?",
                                          "member": "Ana", "space": "default"}, headers=HX)
    assert said.status_code == 200
    help_ = posts(said.text, "help")
    assert "does tidepool have a gantt chart view?" in help_ and 'data-kind="handoff"' in help_
    staff = posts(said.text, "staff")
    card = re.search(r'data-card="([^"]+)"', staff).group(1)
    assert "Question from Ana" in staff
    answered = await local.post("/chat/staff", {"card": card, "space": "default",
                                                "answer": "Not yet: use the Board view; write to roadmap@tidepool.example to vote for a Timeline."},
                                headers=HX)
    assert answered.status_code == 200
    staff = posts(answered.text, "staff")
    learned = re.search(r'<a href="/knowledge/([^"]+)">see', staff)
    assert learned, staff[:2000]
    assert 'data-kind="relay"' in posts(answered.text, "help")
    entry = await local.console.core.kb.get(learned.group(1))
    assert entry is not None and entry.author == "web:operator" and entry.origin == "staff"
    assert "[email]" in entry.answer, "redacted before it became knowledge"

    again = await local.post("/chat/ask", {"text": "is there a gantt chart view in tidepool?", "member": "Bo",
                                           "space": "default"}, headers=HX)
    newest = posts(again.text, "help").split('class="thread"')[1]
    assert 'data-kind="answer"' in newest and f"/knowledge/{entry.id}" in newest, newest[:1500]


async def test_feedback_buttons_and_follow_ups_reach_the_case(local: Browser) -> None:
    said = await local.post("/chat/ask", {"text": "How do I rotate my API key?", "space": "default"}, headers=HX)
    case = re.search(r'name="case" value="([^"]+)"', said.text).group(1)
    pressed = await local.post("/chat/feedback", {"case": case, "value": "solved", "space": "default"}, headers=HX)
    assert pressed.status_code == 200
    stored = await local.console.core.cases.get("default", case)
    assert stored.status == "resolved" and stored.resolution == "confirmed"
    bad = await local.post("/chat/feedback", {"case": case, "value": "delete-everything"}, headers=HX)
    assert bad.status_code == 400 and "not one the bot knows" in bad.text


async def test_card_buttons_go_through_the_core_command(local: Browser) -> None:
    said = await local.post("/chat/ask", {"text": "how do I export a notebook to a PDF with my own fonts?",
                                          "space": "default"}, headers=HX)
    card = re.search(r'data-card="([^"]+)"', posts(said.text, "staff")).group(1)
    taken = await local.post("/chat/card", {"card": card, "name": "claim", "space": "default"}, headers=HX)
    assert taken.status_code == 200 and "operator took this question" in taken.text
    case = await local.console.core.cases.get("default", card.removeprefix("card:"))
    assert case.owner == "web:operator"
    unknown = await local.post("/chat/card", {"card": "card:nope", "name": "claim", "space": "default"},
                               headers=HX)
    assert unknown.status_code == 409 and "can't find the question" in html.unescape(unknown.text)
