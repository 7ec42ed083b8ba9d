"""The terminal: ``journeybot demo`` plays a small community as a readable
conversation; ``journeybot chat`` lets you type as a member or as staff.

Both go through the same core path as Discord or Slack: events in, actions
out, with a printer that renders actions the way a person reads a channel.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bot.actions import Action, CardUpdate, Learned, Private, Reply, Route
from bot.events import Command, Event, Feedback, Message, Tick
from bot.ports import EventSink

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"

KIND_STYLE = {"answer": "green", "clarify": "yellow", "handoff": "magenta", "relay": "cyan",
              "notice": "blue"}


class Printer:
    """Renders events and actions as a conversation."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.names: dict[str, str] = {}

    def event(self, event: Event) -> None:
        c = self.console
        if event.user_name:
            self.names[event.user] = event.user_name
        who = escape(event.user_name or event.user)
        stamp = f"[dim]{event.at:%a %H:%M}[/dim]"
        if isinstance(event, Message):
            where = f"#{event.channel}" + (f" › {event.thread}" if event.thread else "")
            c.print(f"\n{stamp} [bold]{who}[/bold] [dim]in {escape(where)}[/dim]")
            c.print(f"  {escape(event.text)}")
        elif isinstance(event, Feedback):
            label = {"solved": "Solved", "not_solved": "Not solved", "human": "Talk to a person"}[event.value]
            c.print(f"\n{stamp} [bold]{who}[/bold] pressed [bold]{label}[/bold] on {event.about}")
        elif isinstance(event, Command):
            c.print(f"\n{stamp} [bold]{who}[/bold] ran [bold]/{event.name}[/bold]"
                    + (f" on {event.about or event.thread}" if (event.about or event.thread) else ""))
        elif isinstance(event, Tick):
            c.print(f"\n{stamp} [dim]… time passes …[/dim]")

    def action(self, action: Action) -> None:
        c = self.console
        if isinstance(action, Reply):
            style = KIND_STYLE.get(action.kind, "white")
            where = f"DM to {action.private_to}" if action.private_to else (
                f"#{action.address.channel}" + (f" › {action.address.thread}" if action.address.thread else ""))
            extra = ""
            if action.kind == "answer":
                extra = f" {action.confidence:.2f} from {', '.join(action.sources)}"
            elif action.by:
                extra = f" by {self.names.get(action.by, action.by)}"
            c.print(f"  [{style}]↳ journeybot ({action.kind}{extra}) in {escape(where)}:[/{style}]")
            for line in action.text.splitlines():
                c.print(f"    [{style}]{escape(line)}[/{style}]")
        elif isinstance(action, Route):
            c.print(f"  [red]⚑ card {action.card} in #{action.address.channel} (reason: {action.reason})[/red]")
            for line in action.text.splitlines():
                c.print(f"    [dim]{escape(line)}[/dim]")
        elif isinstance(action, CardUpdate):
            c.print(f"  [dim]⚑ {action.card} updated: {escape(action.text)}[/dim]")
        elif isinstance(action, Learned):
            how = f"new version of {action.supersedes}" if action.supersedes else "knowledge"
            c.print(f"  [bold cyan]✎ learned {action.entry} v{action.version} ({how}) from "
                    f"{self.names.get(action.from_user, action.from_user)}[/bold cyan]")
        elif isinstance(action, Private):
            c.print(f"  [yellow]🔒 moved to a private message with {self.names.get(action.user, action.user)}:[/yellow]")
            for line in action.text.splitlines():
                c.print(f"    [yellow]{escape(line)}[/yellow]")


class TerminalAdapter:
    """Events from a list or from the keyboard; actions printed."""

    name = "replay"  # the core's actions carry the platform of their events

    def __init__(self, events: AsyncIterator[Event], printer: Printer) -> None:
        self._events = events
        self.printer = printer

    async def start(self, sink: EventSink) -> None:
        async for event in self._events:
            self.printer.event(event)
            await sink(event)

    async def stop(self) -> None:
        return None

    async def perform(self, action: Action) -> str | None:
        self.printer.action(action)
        if isinstance(action, Private):
            return action.channel
        return action.card if isinstance(action, Route) else None


async def scenario_events(path: Path) -> AsyncIterator[Event]:
    from bot.wire import event_from_json

    previous = None
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            event = event_from_json(json.loads(line), default_at=previous)
            previous = event.at
            yield event


async def play_demo(*, db: str | None, console: Console) -> None:
    from bot.cli import import_knowledge, open_core, print_scorecard
    from bot.runtime import Runtime
    from bot.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(db=db or str(Path(tmp) / "demo.db"))
        console.print("[bold]journeybot demo[/bold]: the Tidepool community (a made-up product).")
        console.print("[dim]Loading the embedding model and the demo knowledge (30 entries)…[/dim]")
        core = await open_core(settings)
        try:
            await import_knowledge(core, DEMO / "knowledge.yaml", space=None, quiet=True)
            printer = Printer(console)
            runtime = Runtime(core, [TerminalAdapter(scenario_events(DEMO / "scenario.jsonl"), printer)])
            await runtime.start()
            console.print()
            await print_scorecard(core, console)
        finally:
            await core.close()


def session_ids() -> Iterator[str]:
    """Message ids for one chat session: ``m1-<session>``, ``m2-<session>`` …

    A case's key is the id of the message that asked, and entries are ``k<n>``,
    so a case never looks like an entry. The session part keeps a second
    session on the same store (later, or at the same time) from reusing ids the
    store already has, which it would skip as redeliveries.
    """
    session = secrets.token_hex(3)
    for n in itertools.count(1):
        yield f"m{n}-{session}"


async def keyboard_events(console: Console, *, space: str = "default") -> AsyncIterator[Event]:
    """Lines typed at the prompt as events. See ``CHAT_COMMANDS``."""
    persona = {"user": "me", "name": "You", "roles": ()}
    ids = session_ids()
    last_case: str | None = None
    console.print(escape(CHAT_HELP))
    while True:
        try:
            line = await asyncio.to_thread(input, f"{persona['name']}> ")
        except EOFError:
            return
        line = line.strip()
        if not line:
            continue
        now = datetime.now(UTC)
        common: dict[str, Any] = {"id": next(ids), "at": now, "space": space,
                                  "user": persona["user"], "user_name": persona["name"],
                                  "roles": persona["roles"], "platform": "replay"}
        word, _, rest = line.partition(" ")
        if word in ("/quit", "/exit"):
            return
        why_not = _not_now(word, rest, last_case)
        if why_not:
            console.print(escape(why_not), style="dim")
            continue
        if word == "/as":
            who, _, role = rest.partition(" ")
            persona = {"user": who or "me", "name": (who or "you").title(),
                       "roles": tuple(r for r in role.split(",") if r)}
            console.print(escape(f"now typing as {persona['name']} {list(persona['roles'])}"), style="dim")
            continue
        if word == "/staff":
            card = f"card:{last_case}" if last_case else ""
            yield Message(**{**common, "roles": ("staff",) if not persona["roles"] else persona["roles"]},
                          channel="staff", thread=card, text=rest)
        elif word in ("/solved", "/notsolved", "/human") and last_case:
            value = {"/solved": "solved", "/notsolved": "not_solved", "/human": "human"}[word]
            yield Feedback(**common, about=last_case, value=value)  # type: ignore[arg-type]
        elif word in ("/recap", "/private", "/claim"):
            yield Command(**common, name=word[1:], about=last_case, thread=last_case, channel="help")
        elif word == "/new" or last_case is None:
            text = rest if word == "/new" else line
            last_case = common["id"]
            yield Message(**common, channel="help", text=text)
        else:
            yield Message(**common, channel="help", thread=last_case, text=line)


def _not_now(word: str, rest: str, last_case: str | None) -> str | None:
    """Why a typed command can't be sent now (said at the prompt; nothing is posted), or None."""
    known = {w for name, _ in CHAT_COMMANDS for w in name.split() if w.startswith("/")}
    if re.fullmatch(r"/[a-z]+", word) and word not in known | {"/exit"}:  # "/api/v2 fails" is a question
        return f"{word}: no such command; type one of {', '.join(sorted(known))}"
    if word in ("/solved", "/notsolved", "/human", "/staff", "/private", "/claim") and last_case is None:
        return f"{word}: there is no question yet; ask one first"
    if word in ("/staff", "/new") and not rest.strip():
        example = "Settings → API" if word == "/staff" else "How do I…?"
        return f"{word} needs text after it, e.g. {word} {example}"
    return None


# What you can type in ``journeybot chat``: shown when it starts and in ``chat --help``.
CHAT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("<text>", "your first line asks a question; later lines continue in its thread"),
    ("/new <question>", "ask a new question"),
    ("/solved /notsolved /human", "press a button on the latest answer"),
    ("/staff <answer>", "answer the latest card as staff"),
    ("/as <user> [roles]", "type as someone else, e.g. /as alice staff  or  /as sam moderator"),
    ("/recap", "what the bot has on record for you"),
    ("/private", "move the latest question to a private message (moderators)"),
    ("/claim", "take the latest card (staff)"),
    ("/quit", "leave (Ctrl-D too)"),
)
_TYPED = "\n".join(f"  {typed:<27} {meaning}" for typed, meaning in CHAT_COMMANDS)
CHAT_HELP = f"journeybot chat: you are a member in #help. What you can type:\n{_TYPED}"
CHAT_EPILOG = f"In the chat you are a member in #help. What you can type:\n\n{escape(_TYPED)}"


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Adds ``demo`` and ``chat`` to the command line."""

    @app.command()
    def demo(db: Annotated[str | None, typer.Option("--db", help="keep the demo's store here")] = None) -> None:
        """Play the demo community: an answer, a hand-over, staff teaching, a returning user, a recap."""
        from bot.cli import run, setup_logging

        setup_logging()
        import logging

        logging.getLogger().setLevel(logging.WARNING)
        run(play_demo(db=db, console=Console()))

    @app.command(epilog=CHAT_EPILOG)
    def chat(
        kb: Annotated[list[Path] | None, typer.Option(
            "--kb", help="knowledge to load (default: the demo's, unless --db names a store of your own)")] = None,
        db: Annotated[str | None, typer.Option("--db", help="keep state here (default: throw-away)")] = None,
    ) -> None:
        """Talk to the bot in the terminal, as a member or as staff."""
        from bot.cli import run, setup_logging

        setup_logging()
        import logging

        logging.getLogger().setLevel(logging.WARNING)
        # A store of your own gets only the knowledge you name: never the demo's mixed in.
        run(_chat(kb if kb is not None else ([] if db else [DEMO / "knowledge.yaml"]), db))


async def _chat(kb_files: list[Path], db: str | None) -> None:
    from bot.cli import import_knowledge, open_core
    from bot.runtime import Runtime
    from bot.settings import load_settings

    console = Console()
    core = await open_core(load_settings(db=db or ":memory:"))
    try:
        for path in kb_files:
            await import_knowledge(core, path, space=None, quiet=True)
        if not kb_files and core.kb.size() == 0:
            console.print(f"[yellow]{escape(str(db))} has no knowledge yet: every question goes to staff. "
                          f"Add some with --kb FILE (the demo's: {escape(str(DEMO / 'knowledge.yaml'))}).[/yellow]")
        runtime = Runtime(core, [TerminalAdapter(keyboard_events(console), Printer(console))])
        await runtime.start()
    finally:
        await core.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: journeybot demo | journeybot chat")
