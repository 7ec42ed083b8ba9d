"""bench/quality_why.py: each wrong answer and each "did you mean" of a quality
run, explained by the decision the bot logged for that row."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality as q  # noqa: E402
from bench.quality_why import decisions, explain  # noqa: E402


def row(i: int, label: str, outcome: str, *, entry: str | None = None, in_scope: bool = True,
        known: bool = True) -> dict[str, object]:
    return {"i": i, "label": label, "in_scope": in_scope, "known_at_start": known, "taught_before": False,
            "outcome": outcome, "entry": entry}


def store_with(path: Path, logged: list[tuple[str, dict[str, object]]]) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY, kind TEXT, event_id TEXT, body TEXT)")
        for event, body in logged:
            conn.execute("INSERT INTO log (kind, event_id, body) VALUES ('decision', ?, ?)", (event, json.dumps(body)))
    return path


def test_a_wrong_answer_is_shown_with_its_candidates_and_reason(tmp_path: Path) -> None:
    store = store_with(tmp_path / "s.db", [
        ("q0", {"decision": "answer", "entry": "99", "why": "leads clearly",
                "candidates": [{"entry": "99", "score": 0.72, "second": None, "centroid": 0.72},
                               {"entry": "k33", "score": 0.46, "second": None, "centroid": 0.46}]}),
        ("q0", {"decision": "route", "why": "a later decision on the same event is not the row's"}),
    ])
    lines, asked = explain([row(0, "111", "wrong", entry="99", known=False)], decisions(store))
    assert len(lines) == 1 and not asked
    assert "label 111" in lines[0] and "no entry" in lines[0] and "answered 99" in lines[0]
    assert "99:0.72/-/0.72 k33:0.46/-/0.46" in lines[0] and "leads clearly" in lines[0]


def test_did_you_mean_is_counted_by_kind_and_outcome(tmp_path: Path) -> None:
    store = store_with(tmp_path / "s.db", [
        ("q0", {"decision": "clarify", "options": ["a"], "candidates": []}),
        ("q1", {"decision": "clarify", "options": ["a", "b"], "candidates": []}),
        ("q2", {"decision": "clarify", "options": ["a", "b"], "candidates": []}),
        ("q3", {"decision": "clarify", "options": ["a", "b"], "candidates": []}),
    ])
    rows = [row(0, "a", "clarified_correct", entry="a"), row(1, "b", "clarified_correct", entry="b"),
            row(2, "c", "abstained", known=False), row(3, "oos", "abstained", in_scope=False, known=False)]
    _, asked = explain(rows, decisions(store))
    assert asked == {"one option: right one offered": 1, "several options: right one offered": 1,
                     "several options: not offered": 2,
                     "several options: not offered, no entry for the label yet": 2}


def test_keeping_stores_is_for_the_default_bot_only() -> None:
    with pytest.raises(SystemExit) as refused:
        q.main(["--keep-stores", "/tmp/x", "--cmd", "python bench/baseline_bot.py"])
    assert refused.value.code == 2


def test_a_logged_decision_is_replayed_under_other_settings() -> None:
    from bench.quality_why import replayed
    from bot.settings import PolicySettings

    sure_but_stray = {"decision": "answer", "entry": "a", "options": [], "why": "sure",
                      "candidates": [{"entry": "a", "score": 0.95, "second": 0.3, "centroid": 0.40},
                                     {"entry": "b", "score": 0.50, "second": None, "centroid": 0.45}]}
    off = PolicySettings(sure_centroid_floor=0.0)
    on = PolicySettings(sure_centroid_floor=0.45)
    meant = {**row(0, "a", "correct", entry="a"), "clarify_rounds": 0}
    stray = {**row(1, "oos", "wrong", entry="a", in_scope=False), "clarify_rounds": 0}
    assert replayed(meant, sure_but_stray, off, {}) == ("correct", False)  # the same decision: as logged
    assert replayed(meant, sure_but_stray, on, {}) == ("clarified_correct", True)  # confirmed, then picked
    assert replayed(stray, sure_but_stray, on, {}) == ("abstained", True)  # "no": handed over
    # a learned entry answers for the label staff taught it under
    taught = {**row(2, "c", "correct", entry="k1"), "clarify_rounds": 0}
    as_k1 = {**sure_but_stray, "entry": "k1", "candidates": [{**sure_but_stray["candidates"][0], "entry": "k1"}]}
    assert replayed(taught, as_k1, on, {"k1": "c"}) == ("clarified_correct", True)
