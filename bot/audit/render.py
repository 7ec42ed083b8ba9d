"""A case's story as plain text a compliance reviewer can read top to bottom.

One block per record, oldest first: when, which record (its sequence number
in the chain), what kind, and what it says in words — with the sources the
bot weighed (entry, version, score), the thresholds it applied, the model
and prompt hash when an LLM was asked, what it sent, and what was learned.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from bot.audit.trail import ChainCheck, LogRecord, Story

INDENT = " " * 40
LABELS = {"llm_redactions": "REDACTED", "promise_blocked": "HELD BACK", "generation": "LLM"}
TEXT_LIMIT = 400


def render(story: Story, chain: ChainCheck) -> str:
    """The whole story of ``story.case``, with the chain's state up front."""
    state = story.state or {}
    lines = [
        f"Case {story.case} in space {story.space}",
        f"Asked by {state.get('user_name') or state.get('user', '?')}: “{_short(state.get('question', ''))}”",
        f"Now: {state.get('status', '?')}, owner {state.get('owner', '?')}"
        + (f", next step: {state['next_step']}" if state.get("next_step") else ""),
        f"Evidence: {len(story.records)} records; {chain.describe()}",
        "",
    ]
    for record in story.records:
        label = LABELS.get(record.kind, record.kind.upper())
        head = f"{record.at[:19].replace('T', ' ')}Z #{record.seq:<6} {label:<10}"
        first, *rest = describe(record)
        if not record.sealed or record.seq == chain.broken_at:
            rest.append("!! this record's hash does not hold: it was changed, or a record before it was")
        lines.append(f"{head} {first}")
        lines += [f"{INDENT}{line}" for line in rest]
    return "\n".join(lines)


def describe(record: LogRecord) -> list[str]:
    """One record in words: its first line, then details (the web console shows these too)."""
    return _DESCRIBE.get(record.kind, _generic)(record.body) or [""]


def _short(text: Any, limit: int = TEXT_LIMIT) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _event(body: dict[str, Any]) -> list[str]:
    kind = body.get("type", "event")
    who = body.get("user_name") or body.get("user") or "?"
    if kind == "message":
        where = body.get("channel", "?") + (f", thread {body['thread']}" if body.get("thread") else "")
        lines = [f"message from {who} in {where}: “{_short(body.get('text'))}”"]
        if body.get("redactions"):
            secrets = f"; secrets: {', '.join(body['secrets'])}" if body.get("secrets") else ""
            lines.append(f"redacted before storing: {body['redactions']} item(s){secrets}")
        return lines
    if kind == "feedback":
        return [f"{who} pressed “{body.get('value')}” on {body.get('about')}"]
    if kind == "command":
        return [f"{who} ran /{body.get('name')}" + (f" {body['args']}" if body.get("args") else "")]
    if kind == "edit":
        return [f"{who} edited {body.get('about')}: “{_short(body.get('text'))}”"]
    return [f"{kind} from {who}"]


def _case(body: dict[str, Any]) -> list[str]:
    to = body.get("to", "?")
    skip = ("to", "user", "owner", "candidates")
    details = {k: v for k, v in body.items() if k not in skip and v not in (None, [], "")}
    lines = [f"case {to}; owner {body.get('owner', '?')}"]
    if details:
        lines.append(", ".join(f"{k}={_value(v)}" for k, v in details.items()))
    if body.get("candidates"):
        lines.append("closest entries: " + ", ".join(
            f"{c.get('entry')} {c.get('score')}" for c in body["candidates"]))
    return lines


def _decision(body: dict[str, Any]) -> list[str]:
    what = body.get("decision", "?")
    target = body.get("entry") or ", ".join(body.get("options") or []) or body.get("reason") or ""
    lines = [f"{what} {target}".strip() + f" (confidence {body.get('confidence')}, "
             f"margin {body.get('margin', '—')}): {body.get('why', '')}"]
    candidates = body.get("candidates") or []
    if candidates:
        lines.append("sources weighed (entry, version, score, second form, support, stale):")
        lines += [f"  {c.get('entry')} v{c.get('version', '?')}  score {c.get('score')}"
                  f"  second {c.get('second', '—')}  support {c.get('support', '—')}"
                  f"{'  STALE' if c.get('stale') else ''}" for c in candidates]
    if body.get("thresholds"):
        lines += textwrap.wrap("thresholds: " + ", ".join(f"{k}={v}" for k, v in body["thresholds"].items()),
                               width=100, subsequent_indent="  ")
    model = f"embedding model: {body.get('model', '?')}"
    if body.get("generator"):
        model += f"; LLM configured: {body['generator']}"
    return [*lines, model]


def _generation(body: dict[str, Any]) -> list[str]:
    outcome = "used" if body.get("used") else f"not used, fell back: {body.get('fallback')}"
    lines = [f"LLM {body.get('use', 'answer')} by {body.get('model')}: {outcome}",
             f"prompt sha256 {body.get('prompt_sha256')} ({body.get('prompt_chars')} characters)"]
    if body.get("sources"):
        lines.append("sources given: " + "; ".join(
            f"[{s['n']}] {s['entry']} v{s['version']}{' (policy)' if s.get('policy') else ''}"
            for s in body["sources"]))
        lines.append(f"cited: {body.get('cited') or 'none'}")
    if body.get("promised"):
        lines.append(f"refused for promising: {', '.join(body['promised'])}")
    return lines


def _action(body: dict[str, Any]) -> list[str]:
    kind = body.get("type")
    if kind == "reply":
        to = f"privately to {body['private_to']}" if body.get("private_to") else "in the thread"
        lines = [f"reply ({body.get('kind')}) {to}: “{_short(body.get('text'))}”"]
        if body.get("sources"):
            cited = {c["entry"]: c.get("version") for c in body.get("citations") or []}
            lines.append("sources: " + ", ".join(
                f"{s} v{cited[s]}" if cited.get(s) else s for s in body["sources"]))
        if body.get("by"):
            lines.append(f"sent on behalf of {body['by']}")
        if body.get("owner"):
            lines.append(f"owner stated: {body['owner']}; next step: {body.get('next_step')}")
        return lines
    if kind == "route":
        return [f"card {body.get('card')} to staff, reason {body.get('reason')}",
                *[f"  {line}" for line in str(body.get("text", "")).splitlines()[:12]]]
    if kind == "card_update":
        return [f"card {body.get('card')} updated: “{_short(body.get('text'))}”"]
    if kind == "learned":
        return [f"learned {body.get('entry')} v{body.get('version')} from {body.get('from_user')}"
                + (f", replacing {body['supersedes']}" if body.get("supersedes") else "")]
    if kind == "private":
        return [f"moved to a private conversation with {body.get('user')} ({body.get('channel')})"]
    return _generic(body)


def _learn(body: dict[str, Any]) -> list[str]:
    status = body.get("status")
    note = " — pending: answers no one until staff approve it" if status == "pending" else ""
    return [f"{body.get('from')} taught {body.get('entry')} v{body.get('version')} "
            f"({body.get('how')}){note}"]


def _knowledge(body: dict[str, Any]) -> list[str]:
    return [f"entry {body.get('entry')} {body.get('what')}: version {body.get('version')}, "
            f"status {body.get('status')}, by {body.get('author')} ({body.get('origin')})"]


def _generic(body: dict[str, Any]) -> list[str]:
    return [", ".join(f"{k}={_value(v)}" for k, v in body.items())]


def _value(value: Any) -> str:
    return _short(value, 120) if isinstance(value, str) else str(value)


_DESCRIBE: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "event": _event,
    "case": _case,
    "decision": _decision,
    "generation": _generation,
    "llm_redactions": lambda b: [f"{b.get('count', 0)} item(s) redacted from the prompt before sending"],
    "action": _action,
    "card": lambda b: [f"staff card {b.get('card')} ({b.get('reason')}); journey attached: "
                       f"{'yes' if b.get('with_journey') else 'no'}"],
    "learn": _learn,
    "knowledge": _knowledge,
    "approved": lambda b: [f"{b.get('by')} approved {b.get('entry')} to answer publicly"],
    "review": lambda b: [f"{b.get('by')} {b.get('what')} "
                         f"{b.get('entry') or ' and '.join(b.get('entries') or [])}"
                         + (f" ({b['how']})" if b.get("how") else "")],
    "promise_blocked": lambda b: [
        f"held back a reply from {b.get('entry')} promising {', '.join(b.get('kinds') or [])}"
        + (" (worded by the LLM)" if b.get("generated") else "")],
}
