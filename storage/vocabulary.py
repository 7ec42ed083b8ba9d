"""What the event log may say: the kinds of record, and the changes of a case's state.

The scorecard (``spec/scorecard.md``) and the audit trail read these names,
so they are one vocabulary, here: a new kind of record or a new transition
is added to this module first, and ``tests/test_vocabulary.py`` checks that
the code writes exactly these (each transition from one place only).
"""

from __future__ import annotations

from typing import Literal, get_args

LogKind = Literal[
    "event",            # what arrived, as stored (redacted), before anything acted on it
    "action",           # what the bot will do (stored in the outbox too)
    "case",             # a case changed state: ``to`` is a Transition
    "decision",         # answer / clarify / route, with sources, versions, scores, thresholds, model
    "card",             # a staff card was posted, with or without the journey
    "learn",            # a staff answer became knowledge (new entry, new form or new version)
    "knowledge",        # an entry was created, revised or retired
    "conflict",         # two entries were flagged as disagreeing, or the flag was settled
    "wrong_answer",     # an answer was marked Not solved or corrected by staff (and what an asker
                        # taught with it that was withdrawn: ``withdrawn`` forms and lessons)
    "promise_blocked",  # a reply was held back: it would promise what no policy entry says
    "held_back",        # an entry whose answers stopped working did not answer on its own; or,
                        # ``released_by``, staff answering its card gave it a fresh record
    "cleared",          # staff answered in public a question that only resembled a sensitive one
    "repeat",           # the same person asked the same again
    "restated",         # the asker had to say again what they had said
    "human_requested",  # the asker asked for a person
    "feedback",         # a Solved / Not solved / Talk to a person press
    "private_move",     # a moderator moved a thread to a DM
    "recap",            # someone was shown their journey
    "approved",         # staff let a pending entry (private thread, past thread) answer publicly
    "review",           # staff rejected, edited, settled, renewed or retired knowledge
    "reminder",         # staff were reminded of a card nobody took
    "llm_redactions",   # what redaction removed from a prompt before it left
    "generation",       # an LLM call: prompt hash, sources offered and cited, fallback
    "ignored",          # a message not acted on, and why
    "error",            # bad input the bot could not act on
]

Transition = Literal[
    "opened",           # a question opened the case
    "linked",           # it is the same issue as the asker's earlier case
    "clarified",        # the bot asked which of a few entries was meant
    "options_refused",  # the asker said none of the options was it
    "answered",         # the bot answered from an entry, or staff answered
    "corrected",        # staff corrected the bot's answer in the thread
    "routed",           # handed to staff with a card
    "claimed",          # a named staff member took it
    "edited",           # the asker edited the question before an answer
    "moved_private",    # a moderator moved it to a DM
    "resolved",         # solved: confirmed by the asker, or presumed after silence
    "reopened",         # the answer did not solve it, or the asker came back
    "closed",           # the question was deleted
]

LOG_KINDS: frozenset[str] = frozenset(get_args(LogKind))
TRANSITIONS: frozenset[str] = frozenset(get_args(Transition))
