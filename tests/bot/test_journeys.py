"""What a member tells us becomes their journey's facts; what they ask does not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.journeys import extract_facts

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def facts(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in extract_facts(text, "m1", AT)]


@pytest.mark.parametrize("question", [
    "how do I export my board to PDF on windows",
    "Can I use the API on the free plan",
    "Does the desktop app run on Ubuntu 22.04",
    "Is there an error log I can check",
    "what happens to my boards if I downgrade to the free plan",
    "Which plan do I need on iOS for offline mode",
    "How to reset my password on Android",
])
def test_a_question_without_a_question_mark_is_not_a_fact(question: str) -> None:
    assert facts(question) == []


def test_statements_about_their_setup_attempts_and_errors_are_kept() -> None:
    said = facts("I'm using Chrome 120 on macOS. I tried clearing the cache. "
                 "Still getting error 502 when I upload.")
    assert said == [("setup", "I'm using Chrome 120 on macOS."), ("tried", "I tried clearing the cache."),
                    ("error", "Still getting error 502 when I upload.")]


def test_the_statement_before_a_question_in_the_same_sentence_is_kept_without_the_question() -> None:
    assert facts("I'm on Windows 11, how do I export to PDF") == [("setup", "I'm on Windows 11")]
    assert facts("I reinstalled the app twice but why does sync still fail") == [
        ("tried", "I reinstalled the app twice")]
