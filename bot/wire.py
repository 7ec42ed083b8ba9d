"""Events and actions as JSON: the replay contract, the outbox and the log.

``event_from_json`` is the one gate malformed input goes through; it raises
``BadEvent`` with a reason a person can act on.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bot.actions import ACTION_TYPES, Action, Candidate, Card, CardUpdate, Learned, Private, Reply, Route
from bot.events import EVENT_TYPES, Address, Event, type_name
from bot.text import encodable

MAX_ID = 256


class BadEvent(ValueError):
    """An input that is not a valid event; ``event_id`` is its id when it had one."""

    def __init__(self, why: str, event_id: str | None = None) -> None:
        super().__init__(why)
        self.event_id = event_id


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"`at` is not an ISO-8601 time: {value!r}") from exc
    else:
        raise ValueError("`at` must be an ISO-8601 time")
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


_EVENT_FIELDS = {cls: {f.name for f in dataclasses.fields(cls)} for cls in EVENT_TYPES.values()}
_STRING_FIELDS = ("space", "user", "user_name", "channel", "text", "thread", "about", "value",
                  "name", "args", "channel_name", "platform")


def event_from_json(data: Any, *, default_at: datetime | None = None) -> Event:
    """An ``Event`` from a replay line's object (``spec/replay.md``)."""
    if not isinstance(data, dict):
        raise BadEvent("an event must be a JSON object")
    raw_id = data.get("id")
    event_id = encodable(str(raw_id)) if isinstance(raw_id, str | int) and str(raw_id) else None
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise BadEvent(f"unknown event type {kind!r} (known: {known})", event_id)
    if event_id is None:
        if kind != "tick":
            raise BadEvent("the event has no `id`", None)
        event_id = f"tick@{data.get('at', '')}"
    if len(event_id) > MAX_ID:
        raise BadEvent(f"`id` is longer than {MAX_ID} characters", None)
    fields: dict[str, Any] = {"id": event_id}
    try:
        at = data.get("at")
        fields["at"] = parse_time(at) if at is not None else (default_at or datetime.now(UTC))
    except ValueError as exc:
        raise BadEvent(str(exc), event_id) from exc
    allowed = _EVENT_FIELDS[cls]
    for key, value in data.items():
        if key in ("type", "id", "at") or key not in allowed:
            continue
        if key in _STRING_FIELDS:
            if value is None and key in ("thread", "user_name", "about", "args", "channel_name"):
                fields[key] = None
                continue
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise BadEvent(f"`{key}` must be a text", event_id)
            fields[key] = encodable(str(value))
        elif key == "roles":
            if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
                raise BadEvent("`roles` must be a list of texts", event_id)
            fields[key] = tuple(encodable(r) for r in value)
        elif key in ("direct", "is_bot"):
            fields[key] = bool(value)
        elif key == "channel_kind":
            if value not in (None, "help", "staff", "dm", "other"):
                raise BadEvent("`channel_kind` must be help, staff, dm or other", event_id)
            fields[key] = value
    if kind == "message" and not isinstance(data.get("text", ""), str):
        raise BadEvent("`text` must be a text", event_id)
    if kind == "feedback" and fields.get("value") not in ("solved", "not_solved", "human"):
        raise BadEvent("`value` must be solved, not_solved or human", event_id)
    if kind == "feedback" and not fields.get("about"):
        raise BadEvent("a feedback event needs `about` (the case's opening message id)", event_id)
    if kind == "command" and not fields.get("name"):
        raise BadEvent("a command event needs a `name`", event_id)
    if kind in ("edit", "delete") and not fields.get("about"):
        raise BadEvent(f"an {kind} event needs `about` (the message id)", event_id)
    return cls(**fields)


def event_to_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_name(event)}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


# -- actions -------------------------------------------------------------------

_ACTION_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(cls) for cls, name in ACTION_TYPES.items()
}
_BY_NAME = {name: cls for cls, name in ACTION_TYPES.items()}


# How an action travels, not what it is (see ``bot.actions``).
DELIVERY_FIELDS = frozenset({"seq", "key", "resend"})


def action_to_json(action: Action) -> dict[str, Any]:
    """Every field of the decision, for the outbox and the evidence trail."""
    name = ACTION_TYPES[type(action)]
    body = _ACTION_ADAPTERS[name].dump_python(action, mode="json", exclude=set(DELIVERY_FIELDS))
    return {"type": name, **body}


def action_from_json(data: dict[str, Any]) -> Action:
    name = data["type"]
    body = {k: v for k, v in data.items() if k != "type"}
    return _ACTION_ADAPTERS[name].validate_python(body)  # type: ignore[no-any-return]


def replay_view(action: Action) -> dict[str, Any] | None:
    """The action as ``spec/replay.md`` prints it; ``None`` for actions the
    replay contract has no line for (card updates are a platform concern)."""
    common = {"event": action.event, "case": action.case, "space": action.space}
    if isinstance(action, Reply):
        out: dict[str, Any] = {
            "type": "reply", **common, "channel": action.address.channel,
            "thread": action.address.thread, "kind": action.kind, "text": action.text,
            "sources": list(action.sources), "confidence": round(action.confidence, 4),
        }
        if action.by:
            out["by"] = action.by
        if action.options:
            out["options"] = list(action.options)
        if action.private_to:
            out["private_to"] = action.private_to
        if action.owner is not None:
            out["owner"] = action.owner
            out["next_step"] = action.next_step
        return out
    if isinstance(action, Route):
        return {
            "type": "route", **common, "channel": action.address.channel, "card": action.card,
            "reason": action.reason,
            "candidates": [{"entry": c.entry, "score": round(c.score, 4)} for c in action.candidates],
            "text": action.text,
        }
    if isinstance(action, Learned):
        return {
            "type": "learned", **common, "entry": action.entry, "version": action.version,
            "from": action.from_user, "question": action.question, "answer": action.answer,
            "supersedes": action.supersedes,
        }
    if isinstance(action, Private):
        return {"type": "private", **common, "user": action.user, "channel": action.channel,
                "text": action.text}
    return None


__all__ = [
    "Address", "BadEvent", "Candidate", "Card", "CardUpdate", "ValidationError",
    "action_from_json", "action_to_json", "event_from_json", "event_to_json", "parse_time",
    "replay_view",
]
