"""Try it: a help channel and a staff channel on one page, wired to the core
through the web adapter, as Discord or Slack would be."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.web.access import User
from adapters.web.commands import core_roles, run_command
from adapters.web.http import Refused, change, console_of, page, render
from adapters.web.room import Post
from bot.events import Feedback, Message

MAX_TEXT = 4000
FEEDBACK = {"solved": "Solved", "not_solved": "Not solved", "human": "Talk to a person"}


def member_of(request: Request) -> tuple[str, str]:
    """(user id, display name) of the member this browser plays."""
    name = str(request.session.get("member") or "Sam")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "member"
    return f"web-member:{slug}", name


def space_of(request: Request, form: FormData | None = None) -> str:
    value = (form.get("space") if form is not None else None) or request.query_params.get("space") or "default"
    return str(value).strip()[:100] or "default"


async def chat_view(request: Request, space: str, *, focus: str | None = None, status: int = 200,
                    flash: dict[str, object] | None = None) -> Response:
    console = console_of(request)
    member_id, member_name = member_of(request)
    room = console.adapter.rooms.of(space)
    help_threads = threads_of(room.channel("help", viewer=member_id), lambda p: p.case or p.thread or p.id)
    cards = [p for p in room.channel("staff") if p.kind == "card"]
    card_of_case = {c.case: c.card for c in cards}
    staff_threads = threads_of(room.channel("staff"),
                               lambda p: p.card or p.thread or card_of_case.get(p.case) or p.id)
    threads = {key: posts[0].text for key, posts in help_threads if posts[0].who == member_name}
    template = "_chat.html" if request.headers.get("hx-request") else "chat.html"
    spaces = sorted({space, "default", *await console.overview.spaces()})
    return render(request, template, status, space=space, spaces=spaces, help_threads=help_threads,
                  staff_threads=staff_threads, threads=threads, cards=cards, member_name=member_name,
                  member_id=member_id, focus=focus, feedback=FEEDBACK, chat_flash=flash)


@page
async def chat_page(request: Request, user: User) -> Response:
    return await chat_view(request, space_of(request))


def threads_of(posts: list[Post], key: Callable[[Post], str]) -> list[tuple[str, list[Post]]]:
    """Posts grouped by thread, oldest first within a thread, the most recently
    active thread first (so the newest is in view without scrolling)."""
    grouped: dict[str, list[Post]] = {}
    for post in posts:
        grouped.setdefault(key(post), []).append(post)
    return sorted(grouped.items(), key=lambda item: max(p.order for p in item[1]), reverse=True)


def _text(form: FormData, name: str = "text") -> str:
    text = str(form.get(name) or "").strip()
    if not text:
        raise Refused("Write something first.")
    if len(text) > MAX_TEXT:
        raise Refused(f"That is longer than {MAX_TEXT} characters.")
    return text


async def _done(request: Request, space: str, focus: str) -> Response:
    if request.headers.get("hx-request"):
        return await chat_view(request, space, focus=focus)
    return RedirectResponse(f"/chat?space={space}", status_code=303)


@change()
async def chat_ask(request: Request, user: User, form: FormData) -> Response:
    """The member writes: a new question, or a follow-up in one of their threads."""
    console = console_of(request)
    space = space_of(request, form)
    name = str(form.get("member") or "").strip()[:40]
    if name:
        request.session["member"] = name
    member_id, member_name = member_of(request)
    text = _text(form)
    thread = str(form.get("thread") or "") or None
    adapter = console.adapter
    event_id = adapter.event_id()
    adapter.rooms.said(space=space, channel="help", who=member_name, text=text, at=datetime.now(UTC),
                       thread=thread or event_id, case=thread or event_id)
    await adapter.deliver(Message(id=event_id, at=datetime.now(UTC), space=space, user=member_id,
                                  user_name=member_name, platform="web", channel="web-help",
                                  channel_kind="help", text=text, thread=thread))
    return await _done(request, space, "ask")


@change()
async def chat_feedback(request: Request, user: User, form: FormData) -> Response:
    console = console_of(request)
    space = space_of(request, form)
    member_id, member_name = member_of(request)
    value = str(form.get("value") or "")
    about = str(form.get("case") or "")
    if value not in FEEDBACK or not about:
        raise Refused("That button is not one the bot knows (Solved, Not solved, Talk to a person).")
    adapter = console.adapter
    adapter.rooms.said(space=space, channel="help", who=member_name, text=f"pressed “{FEEDBACK[value]}”",
                       at=datetime.now(UTC), thread=about, case=about)
    await adapter.deliver(Feedback(id=adapter.event_id(), at=datetime.now(UTC), space=space, user=member_id,
                                   user_name=member_name, platform="web", about=about,
                                   value=value))  # type: ignore[arg-type]
    return await _done(request, space, "ask")


@change("admin", "staff")
async def chat_staff(request: Request, user: User, form: FormData) -> Response:
    """Staff answer a card, as a reply in its thread: relayed, and learned."""
    console = console_of(request)
    space = space_of(request, form)
    card = str(form.get("card") or "")
    if not card:
        raise Refused("Choose the card you are answering.")
    text = _text(form, "answer")
    adapter = console.adapter
    adapter.rooms.said(space=space, channel="staff", who=user.name, text=text, at=datetime.now(UTC),
                       thread=card)
    await adapter.deliver(Message(id=adapter.event_id(), at=datetime.now(UTC), space=space, user=user.core_id,
                                  user_name=user.name, roles=core_roles(user, console.core.settings),
                                  platform="web",
                                  channel=console.core.settings.staff_channel, channel_kind="staff",
                                  text=text, thread=card))
    return await _done(request, space, "staff")


@change("admin", "staff")
async def chat_card_button(request: Request, user: User, form: FormData) -> Response:
    """A card's buttons: I'll take it, Send the suggested answer."""
    console = console_of(request)
    space = space_of(request, form)
    name = str(form.get("name") or "")
    card = str(form.get("card") or "")
    if name not in ("claim", "send_suggested") or not card:
        raise Refused("That card button is not one the bot knows.")
    outcome = await run_command(console, user, name=name, space=space, about=card, thread=card)
    if not outcome.ok:
        return await chat_view(request, space, focus="staff", status=outcome.status,
                               flash={"ok": False, "text": outcome.message})
    return await _done(request, space, "staff")
