"""Planted secrets for the no-leak tests of both adapters: what a member (and a
staff member) might paste, and how to find any piece of them again."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "email": "ann.lee@example.org",
    "slack": "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "github": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "password": "hunter2!Secure",
    "card": "4111 1111 1111 1111",
    "phone": "+44 20 7946 0958",
}
# Words only a member wrote: never to be logged at INFO or above, secret or not.
MEMBER_WORDS = "the quokka ledger keeps freezing at dawn"
QUESTION = (f"Gantt chart view for my boards? My key {SECRETS['aws']} and token {SECRETS['slack']} stopped "
            f"working, reach me at {SECRETS['email']} or {SECRETS['phone']}; I changed my password to "
            f"{SECRETS['password']} yesterday. {MEMBER_WORDS}")
STAFF_ANSWER = (f"Not yet: use the Timeline view. Never paste a token like {SECRETS['github']} here; "
                f"I've noted {SECRETS['email']} on your account.")
_RUN = re.compile(r"[A-Za-z0-9]{12,}")


def pieces(value: str) -> set[str]:
    """The value, its digits without spaces, and any 12 characters of a random part."""
    found = {value, re.sub(r"[\s-]", "", value)}
    for run in _RUN.findall(value):
        found |= {run[i : i + 12] for i in range(len(run) - 11)}
    return found


def leaked(text: str) -> list[str]:
    """The planted secrets any piece of which is in ``text``."""
    return [name for name, value in SECRETS.items() if any(piece in text for piece in pieces(value))]


def logged(records: Iterable[logging.LogRecord]) -> str:
    """Everything logged at INFO or above, as a handler would write it (tracebacks too)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in records if r.levelno >= logging.INFO)
