"""``journeybot kb review``: staff go through pending knowledge (past threads,
private-thread lessons), stale entries and conflicts.

On a terminal, ``kb review`` walks the pending entries one by one (approve,
edit, reject, skip). Scripted, each step is a subcommand: ``kb review list``,
``show ID``, ``approve ID… | --all | --source S | --channel C``,
``reject ID --why …``, ``edit ID --version N …``, ``settle A B --keep A | --both``,
``renew ID [--until DATE]``, ``retire ID [--why …]``. Every change is a
staff ``Command`` through the core (``bot.flows.review``), exactly as a
chat platform or the web console sends it: checked, logged with who did it,
refused with a reason when it can't be done. Exit code 1 when refused.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from bot.cli.common import (
    ConfigOption,
    DbOption,
    fail,
    kb_app,
    require_store,
    settings_for,
    with_core,
    with_store,
)

review_app = typer.Typer(help="Review pending knowledge: approve, edit, reject; settle conflicts, renew stale "
                              "entries. On a terminal, with no subcommand: one entry at a time.",
                         invoke_without_command=True)
kb_app.add_typer(review_app, name="review")

SpaceOption = Annotated[str, typer.Option("--space", help="the knowledge space")]
ByOption = Annotated[str | None, typer.Option(
    "--by", help="who reviews (kept in the log; default: $JOURNEYBOT_REVIEWER or your login)")]


def reviewer(by: str | None) -> str:
    if by:
        return by
    try:
        return os.environ.get("JOURNEYBOT_REVIEWER") or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container)
        return "operator"


async def send(core: Any, name: str, args: str, *, by: str, space: str) -> tuple[bool, list[str]]:
    """One review command through the core: (did it change anything, what it said)."""
    from bot.actions import Reply
    from bot.events import Command

    event = Command(id=f"review-{uuid.uuid4().hex}", at=datetime.now(UTC), space=space, user=by, user_name=by,
                    roles=(core.settings.staff_role,), platform="cli", name=name, args=args, channel="")
    actions = await core.handle(event)
    for action in actions:  # said here, on the terminal: nothing left for an adapter to send
        await core.performed(action)
    replies = [a for a in actions if isinstance(a, Reply)]
    return any(r.sources for r in replies), [r.text for r in replies]


def scrub(text: str) -> str:
    """Redact before the command is sent: the event (stored as sent) never holds a
    secret pasted into an edit. The review flow redacts what it stores again."""
    from bot.trust.redact import redact

    return redact(text).text


def run_one(name: str, args: str, *, by: str | None, space: str, db: str | None, config: Path | None) -> None:
    settings = settings_for(config, db)
    require_store(settings)
    changed, said = with_core(settings, lambda core: send(core, name, args, by=reviewer(by), space=space))
    for text in said:
        typer.echo(text)
    if not changed:
        raise typer.Exit(1)


def _quote(*words: str) -> str:
    import shlex

    return " ".join(shlex.quote(w) for w in words)


# -- reading ------------------------------------------------------------------------------


def describe(entry: Any) -> list[str]:
    """An entry as a reviewer reads it."""
    where = entry.provenance or {}
    lines = [f"{entry.id}  (version {entry.version}, {entry.status}, from {entry.origin})"]
    if where:
        source = " ".join(x for x in (where.get("platform", ""), where.get("channel", ""), where.get("date", "")) if x)
        said = ", ".join(x for x in (source, f"answered by {where['answered_by']}" if where.get("answered_by") else "")
                         if x)
        lines.append(f"  from: {said}")
        if where.get("link"):
            lines.append(f"  thread: {where['link']}")
    lines.append("  asked as:")
    lines += [f"    - {q}" for q in entry.questions]
    lines.append("  answer:")
    lines += [f"    {line}" for line in entry.answer.splitlines()]
    if entry.review_after:
        lines.append(f"  review after: {entry.review_after.isoformat()}")
    return lines


@review_app.callback()
def review_main(ctx: typer.Context, space: SpaceOption = "default", by: ByOption = None, db: DbOption = None,
                config: ConfigOption = None) -> None:
    """On a terminal: go through the pending entries one by one. Otherwise: list them."""
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        review_list(space=space, db=db, config=config)
        return
    settings = settings_for(config, db)
    require_store(settings)
    with_core(settings, lambda core: interactive(core, space=space, by=reviewer(by)))


@review_app.command("list")
def review_list(
    source: Annotated[str | None, typer.Option("--source", help="slack, discord, staff …")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="a channel name")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="live entries past their review date instead")] = False,
    conflicts: Annotated[bool, typer.Option("--conflicts", help="open conflicts instead")] = False,
    space: SpaceOption = "default",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Pending entries, one a line: id, version, where from, question (tab-separated, ids never cut)."""
    settings = settings_for(config, db)
    require_store(settings)

    async def body(store: Any) -> Any:
        if conflicts:
            pairs = await store.open_conflicts(space)
            found = await store.many([i for pair in pairs for i in pair])
            return [f"{a}\t{b}\t{found[a].title if a in found else ''}\t{found[b].title if b in found else ''}"
                    for a, b in pairs]
        now = datetime.now(UTC)
        entries = await store.entries(space=space, status="live" if stale else "pending")
        if stale:
            entries = [e for e in entries if e.is_stale(now)]
        lines = []
        for entry in entries:
            where = entry.provenance or {}
            if source and (where.get("platform") or entry.origin).casefold() != source.casefold():
                continue
            if channel and where.get("channel", "").lstrip("#").casefold() != channel.lstrip("#").casefold():
                continue
            origin = " ".join(x for x in (where.get("platform", entry.origin), where.get("channel", ""),
                                           where.get("date", "")) if x)
            extra = f"\treview after {entry.review_after.isoformat()}" if stale and entry.review_after else ""
            lines.append(f"{entry.id}\tv{entry.version}\t{origin}\t{entry.title}{extra}")
        return lines

    lines = with_store(settings, body)
    for line in lines:
        typer.echo(line)
    what = "open conflicts" if conflicts else "stale entries" if stale else "pending entries"
    typer.echo(f"{len(lines)} {what}", err=True)


@review_app.command("show")
def review_show(entry_id: str, space: SpaceOption = "default", db: DbOption = None,
                config: ConfigOption = None) -> None:
    """One entry as a reviewer reads it: where it came from, its questions and answer."""
    settings = settings_for(config, db)
    require_store(settings)

    async def body(store: Any) -> Any:
        return await store.get(entry_id)

    entry = with_store(settings, body)
    if entry is None or entry.space != space:
        fail(f"no entry {entry_id!r} in {space}", 1)
    for line in describe(entry):
        typer.echo(line)


@review_app.command("approve")
def review_approve(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="entries (ID or ID@VERSION)")] = None,
    all_pending: Annotated[bool, typer.Option("--all", help="every pending entry")] = False,
    source: Annotated[str | None, typer.Option("--source", help="pending entries from slack, discord …")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="pending entries from this channel")] = None,
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """Let entries answer: named ones, or pending ones in bulk."""
    words = list(entry_ids or [])
    if all_pending:
        words.append("--all")
    if source:
        words += ["--source", source]
    if channel:
        words += ["--channel", channel]
    if not words:
        fail("name the entries to approve, or --all, --source or --channel")
    run_one("approve", _quote(*words), by=by, space=space, db=db, config=config)


@review_app.command("reject")
def review_reject(
    entry_id: str,
    why: Annotated[str, typer.Option("--why", help="the reason (kept in the log)")],
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """Keep a pending entry from ever answering; re-imports leave it rejected."""
    run_one("reject", _quote(entry_id, *why.split()), by=by, space=space, db=db, config=config)


@review_app.command("edit")
def review_edit(
    entry_id: str,
    version: Annotated[int | None, typer.Option("--version", help="the version you read (`kb review show`)")] = None,
    question: Annotated[list[str] | None, typer.Option("--question", help="a question form; repeat; "
                                                                          "replaces them all")] = None,
    answer: Annotated[str | None, typer.Option("--answer", help="the new answer")] = None,
    answer_file: Annotated[Path | None, typer.Option("--answer-file", help="the new answer, from a file")] = None,
    approve: Annotated[bool, typer.Option("--approve", help="approve it once edited")] = False,
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """A new version of an entry's question forms and/or answer (on a terminal with neither given:
    in your editor). Names the version it edits: refused if the entry moved on."""
    if answer_file is not None:
        try:
            answer = answer_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {answer_file}: {exc}")
    settings = settings_for(config, db)
    require_store(settings)
    if not question and answer is None:
        if not sys.stdin.isatty():
            fail("give --question and/or --answer (or --answer-file)")
        found = with_store(settings, lambda store: store.get(entry_id))
        if found is None:
            fail(f"no entry {entry_id!r}", 1)
        edited = edit_in_editor(found, click.edit)
        if edited is None:
            fail("nothing changed in the editor", 1)
        question, answer, version = list(edited[0]), edited[1], found.version
    if version is None:
        fail("--version is required: the version you read (see `journeybot kb review show ID`)")
    change: dict[str, Any] = {"entry": entry_id, "version": version, "approve": approve}
    if question:
        change["questions"] = [scrub(q) for q in question]
    if answer is not None:
        change["answer"] = scrub(answer)
    changed, said = with_core(settings, lambda core: send(core, "edit", json.dumps(change, ensure_ascii=False),
                                                          by=reviewer(by), space=space))
    for text in said:
        typer.echo(text)
    if not changed:
        raise typer.Exit(1)


@review_app.command("settle")
def review_settle(
    first: str, second: str,
    keep: Annotated[str | None, typer.Option("--keep", help="the entry that stays (the other is retired)")] = None,
    both: Annotated[bool, typer.Option("--both", help="both are right: never flag them again")] = False,
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """Settle an open conflict between two entries."""
    if both == (keep is not None):
        fail("say --keep ID or --both")
    run_one("settle", _quote(first, second, "both" if both else f"keep={keep}"), by=by, space=space, db=db,
            config=config)


@review_app.command("renew")
def review_renew(
    entry_id: str,
    until: Annotated[str | None, typer.Option("--until", help="the new review date, YYYY-MM-DD "
                                                              "(default: 180 days from today)")] = None,
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """The entry is still right: push its review date on."""
    run_one("renew", _quote(entry_id, *([until] if until else [])), by=by, space=space, db=db, config=config)


@review_app.command("retire")
def review_retire(
    entry_id: str,
    why: Annotated[str | None, typer.Option("--why", help="the reason (kept in the log)")] = None,
    space: SpaceOption = "default", by: ByOption = None, db: DbOption = None, config: ConfigOption = None,
) -> None:
    """Stop answering from an entry; its history stays."""
    run_one("retire", _quote(entry_id, *(why or "").split()), by=by, space=space, db=db, config=config)


# -- on a terminal ------------------------------------------------------------------------

TEMPLATE = """\
# Editing {id} (version {version}). Lines starting with # are ignored.
# One way of asking per line under QUESTIONS; the answer under ANSWER.
QUESTIONS:
{questions}
ANSWER:
{answer}
"""


def edit_in_editor(entry: Any, editor: Callable[[str], str | None]) -> tuple[tuple[str, ...], str] | None:
    """(questions, answer) as edited, or ``None`` if the editor was closed without a change."""
    text = editor(TEMPLATE.format(id=entry.id, version=entry.version, questions="\n".join(entry.questions),
                                  answer=entry.answer))
    if text is None:
        return None
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    try:
        q_at = next(i for i, line in enumerate(lines) if line.strip() == "QUESTIONS:")
        a_at = next(i for i, line in enumerate(lines) if line.strip() == "ANSWER:")
    except StopIteration:
        return None
    questions = tuple(line.strip() for line in lines[q_at + 1 : a_at] if line.strip())
    answer = "\n".join(lines[a_at + 1 :]).strip()
    if (questions, answer) == (entry.questions, entry.answer):
        return None
    return questions, answer


async def interactive(core: Any, *, space: str, by: str, ask: Callable[..., str] | None = None,
                      editor: Callable[[str], str | None] | None = None,
                      say: Callable[[str], None] | None = None) -> dict[str, int]:
    """Each pending entry in turn: approve, edit (then approve or not), reject, skip, quit."""
    from rich.prompt import Prompt

    ask = ask or Prompt.ask
    editor = editor or click.edit
    say = say or typer.echo
    entries = await core.kb.store.entries(space=space, status="pending")
    done = {"approved": 0, "edited": 0, "rejected": 0, "skipped": 0}
    if not entries:
        say("Nothing is waiting for review.")
        return done
    say(f"{len(entries)} entries wait for review.")
    for number, entry in enumerate(entries, start=1):
        entry = await core.kb.get(entry.id)  # as it is now (an earlier approval may have merged it)
        if entry is None or entry.status != "pending":
            continue
        say("")
        say(f"[{number}/{len(entries)}] " + "\n".join(describe(entry)))
        choice = ask("approve (a), edit (e), reject (r), skip (s), quit (q)?",
                     choices=["a", "e", "r", "s", "q"], default="s")
        if choice == "q":
            break
        if choice == "s":
            done["skipped"] += 1
            continue
        if choice == "a":
            changed, said = await send(core, "approve", f"{entry.id}@{entry.version}", by=by, space=space)
            done["approved"] += changed
        elif choice == "r":
            why = ask("why reject it?")
            changed, said = await send(core, "reject", f"{entry.id}@{entry.version} {why}", by=by, space=space)
            done["rejected"] += changed
        else:
            edited = edit_in_editor(entry, editor)
            if edited is None:
                say("No change made.")
                done["skipped"] += 1
                continue
            then = ask("approve it now?", choices=["y", "n"], default="y") == "y"
            change = {"entry": entry.id, "version": entry.version, "questions": [scrub(q) for q in edited[0]],
                      "answer": scrub(edited[1]), "approve": then}
            changed, said = await send(core, "edit", json.dumps(change, ensure_ascii=False), by=by, space=space)
            done["edited"] += changed
            done["approved"] += changed and then
        for text in said:
            say(text)
    say(f"Done: {done['approved']} approved, {done['edited']} edited, {done['rejected']} rejected, "
        f"{done['skipped']} skipped.")
    return done
