"""The quality benchmark driver (bench/quality.py) against a scripted fake bot.

No model and no network: ``fake_bot.py`` answers, clarifies, routes and learns
as each question's text tells it, so every figure below is known by hand.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality as q  # noqa: E402

FAKE = Path(__file__).with_name("fake_bot.py")


def fake_cmd(*extra: str) -> list[str]:
    return [sys.executable, str(FAKE), "--kb", "{kb}", *extra]


def hand_dataset(rows: list[tuple[str, str]], in_scope=("a", "b", "c", "d"), known=("a", "b")) -> q.Dataset:
    scope = frozenset(in_scope)
    return q.Dataset(
        name="hand", seed=0,
        entries=[{"id": k, "questions": [f"how to {k}"], "answer": f"ANS {k}"} for k in known],
        stream=[q.Row(text, label, label in scope) for text, label in rows],
        in_scope=scope, known=list(known), answers={lab: f"ANS {lab}" for lab in scope},
    )


# (text = the fake bot's script, label); "oos" is out of scope.
HAND_ROWS = [
    ("answer:a", "a"),                  # 0 correct
    ("answer:b", "a"),                  # 1 wrong
    ("clarify:b,a", "a"),               # 2 pick "2" -> a: clarified_correct
    ("clarify:b,b", "a"),               # 3 "none" -> route -> staff teaches L1 (a): abstained
    ("route", "c"),                     # 4 route -> staff teaches L2 (c): abstained
    ("recall:c", "c"),                  # 5 answers L2: correct, after teach
    ("answer:a", "oos"),                # 6 out of scope answered: wrong
    ("route", "oos"),                   # 7 out of scope routed: abstained, no staff answer
    ("silent sleep:0.3", "d"),          # 8 nothing at all: abstained, no staff answer; slow
    ("recall:d", "d"),                  # 9 nothing learned for d: route -> staff teaches L3 (d)
    ("recall:d", "d"),                  # 10 answers L3: correct, after teach
    ("clarify-wrongpick:a,b", "a"),     # 11 pick "1", bot answers b: wrong
    ("answer-nosrc", "b"),              # 12 no sources: wrong
    ("answer:zzz", "b"),                # 13 unknown entry: wrong
    ("answer:a", "c"),                  # 14 wrong, after teach (c taught at row 4)
    ("silent", "oos"),                  # 15 out of scope, neither answered nor routed: abstained
    ("answer:b", "oos"),                # 16 out of scope answered: wrong
]


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory):
    log = tmp_path_factory.mktemp("fake") / "events.jsonl"
    ds = hand_dataset(HAND_ROWS)
    run = q.run_stream(ds, fake_cmd("--log", str(log)), timeout=20, startup_timeout=20)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return run, q.figures(run), events


def test_outcomes_per_row(hand_run):
    run, _, _ = hand_run
    assert [r.outcome for r in run.rows] == [
        "correct", "wrong", "clarified_correct", "abstained", "abstained", "correct", "wrong", "abstained",
        "abstained", "abstained", "correct", "wrong", "wrong", "wrong", "wrong", "abstained", "wrong",
    ]
    assert [r.i for r in run.rows if r.staff_answered] == [3, 4, 9]
    assert [r.i for r in run.rows if r.taught] == [3, 4, 9]
    assert [r.i for r in run.rows if r.taught_before] == [5, 10, 14]
    assert [r.i for r in run.rows if r.routed] == [3, 4, 7, 9]
    assert [r.clarify_rounds for r in run.rows][2:4] == [1, 1]


def test_figures(hand_run):
    _, f, _ = hand_run
    n = 17
    assert f["size"] == n
    assert f["correct"] == pytest.approx(100 * 3 / n)
    assert f["clarified_correct"] == pytest.approx(100 * 1 / n)
    assert f["correct_incl_clarified"] == pytest.approx(100 * 4 / n)
    assert f["wrong"] == pytest.approx(100 * 7 / n)
    assert f["abstained"] == pytest.approx(100 * 6 / n)
    assert f["correct"] + f["clarified_correct"] + f["wrong"] + f["abstained"] == pytest.approx(100)
    assert f["oos_rows"] == 4
    assert f["oos_abstained"] == pytest.approx(50.0)  # rows 7 (routed) and 15 (silent); 6 and 16 answered
    assert f["first_half_correct"] == pytest.approx(100 * 2 / 8)  # rows 0-7: 0 and 5
    assert f["second_half_correct"] == pytest.approx(100 * 1 / 9)  # rows 8-16: 10
    assert f["after_teach_rows"] == 3
    assert f["after_teach_correct"] == pytest.approx(100 * 2 / 3)
    assert f["clarified"] == pytest.approx(100 * 3 / n)
    assert f["kb_entries"] == 2
    assert f["learned"] == 3
    assert f["entries_end"] == 5
    assert f["staff_answers"] == 3
    # row 8 sleeps 0.3 s: p99 sees it, p50 does not
    assert f["latency_p99_ms"] > 200
    assert f["latency_p50_ms"] < 200


def test_protocol_counters(hand_run):
    run, _, _ = hand_run
    p = run.protocol
    assert p["answers_without_sources"] == 1
    assert p["unknown_answer_entries"] == 1
    assert p["silent_questions"] == 2
    assert p["non_json_stdout_lines"] == 1
    assert p["stderr_lines"] >= 17  # 1 MB of stderr was drained, not blocking the bot
    assert p["error_actions"] == 0
    assert "nonzero_exit" not in p


def test_events_sent(hand_run):
    _, _, events = hand_run
    by_id = {e["id"]: e for e in events}
    assert events[0] == {"type": "tick", "id": "warmup", "at": "2026-01-05T09:00:00Z"}
    q0 = by_id["q0"]
    assert q0 == {"type": "message", "id": "q0", "at": "2026-01-05T09:00:00Z", "channel": "help", "user": "u0",
                  "thread": None, "text": "answer:a"}
    assert by_id["q16"]["at"] == "2026-01-05T09:16:00Z"
    # clarify replies: in the thread, same user, the option number or "none"
    assert by_id["q2r1"]["thread"] == "q2" and by_id["q2r1"]["user"] == "u2" and by_id["q2r1"]["text"] == "2"
    assert by_id["q3r1"]["text"] == "none"
    assert by_id["q11r1"]["text"] == "1"
    # staff answers: only for routed in-scope rows, on the card, with the label's fixed answer
    staff = [e for e in events if e.get("channel") == "staff"]
    assert [e["id"] for e in staff] == ["s3", "s4", "s9"]
    assert staff[0]["thread"] == "card:q3" and staff[0]["user"] == "staff1" and staff[0]["roles"] == ["staff"]
    assert [e["text"] for e in staff] == ["ANS a", "ANS c", "ANS d"]
    assert len({e["id"] for e in events}) == len(events)


def test_mean_of_seeds():
    m = q.mean_figures([{"correct": 10.0, "x": None, "size": 5}, {"correct": 20.0, "x": 3.0, "size": 7}])
    assert m == {"correct": 15.0, "x": 3.0, "size": 6.0}


def test_percentile_matches_linear_interpolation():
    xs = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert q.percentile(xs, 50) == 3.0
    assert q.percentile(xs, 99) == pytest.approx(4.96)
    assert q.percentile([], 50) is None


def test_bot_dies_is_reported(tmp_path):
    ds = hand_dataset([("answer:a", "a"), ("die", "a"), ("answer:a", "a")])
    with pytest.raises(q.BotError) as e:
        q.run_stream(ds, fake_cmd(), timeout=20, startup_timeout=20)
    msg = str(e.value)
    assert "exited before the done of event 'q1'" in msg
    assert "dying on purpose" in msg and "exit status: 3" in msg


def test_bot_stall_times_out(tmp_path):
    ds = hand_dataset([("answer:a", "a"), ("hang", "a")])
    with pytest.raises(q.BotError) as e:
        q.run_stream(ds, fake_cmd(), timeout=1.5, startup_timeout=20)
    assert "no done for event 'q1' within 1.5 s" in str(e.value)
    assert "fake bot: ready" in str(e.value)


def test_bot_cannot_start():
    ds = hand_dataset([("answer:a", "a")])
    with pytest.raises(q.BotError):
        q.run_stream(ds, ["/nonexistent/bot-binary", "--kb", "{kb}"], timeout=5)


def test_bot_argv():
    kb = Path("/tmp/x/kb.jsonl")
    assert q.bot_argv(None, kb) == [sys.executable, "-m", "bot", "replay", "-", "--kb", str(kb)]
    assert q.bot_argv("python bench/baseline_bot.py --threshold 0.7", kb) == [
        sys.executable, "bench/baseline_bot.py", "--threshold", "0.7", "--kb", str(kb)]
    assert q.bot_argv("mybot --knowledge={kb} -", kb) == ["mybot", f"--knowledge={kb}", "-"]


# ---- dataset construction and the spec's draw order (needs the shared data, no model)

needs_data = pytest.mark.skipif(not (q.DATA_DIR / "clinc150_full.csv").exists(), reason="shared data missing")


@needs_data
@pytest.mark.parametrize(("name", "n_labels", "size", "oos"), [
    ("clinc150", 150, 5500, 1000), ("sofmattress", 21, 397, 144), ("curekart", 28, 991, 532),
    ("stackfaq", 125, 1249, 0)])
def test_dataset_shapes(name, n_labels, size, oos):
    ds = q.build_dataset(name, 0)
    assert len(ds.in_scope) == n_labels
    assert len(ds.known) == n_labels // 2 == len(ds.entries)
    assert ds.size == size
    assert sum(1 for r in ds.stream if not r.in_scope) == oos
    assert [e["id"] for e in ds.entries] == ds.known
    again = q.build_dataset(name, 0)
    assert again.entries == ds.entries and again.stream == ds.stream
    assert q.build_dataset(name, 1).stream != ds.stream


@needs_data
def test_clinc_draw_order_is_literal():
    import csv

    with open(q.DATA_DIR / "clinc150_full.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(0)
    labels = sorted({r["intent"] for r in rows} - {"oos"})
    rng.shuffle(labels)
    known = labels[:75]
    expected = [rng.sample([r["text"] for r in rows if r["split"] == "train" and r["intent"] == lab], 3)
                for lab in known]
    test = [(r["text"], r["intent"]) for r in rows if r["split"] == "test"]
    rng.shuffle(test)
    ds = q.build_dataset("clinc150", 0)
    assert ds.known == known
    assert [e["questions"] for e in ds.entries] == expected
    assert [(r.text, r.label) for r in ds.stream] == test
    assert ds.entries[0]["answer"] == q.label_answer(known[0])


@needs_data
def test_stackfaq_entries_and_stream():
    ds = q.build_dataset("stackfaq", 2)
    with open(q.DATA_DIR / "stackfaq.jsonl", encoding="utf-8") as fh:
        faqs = {str(f["faq_id"]): f for f in map(json.loads, fh)}
    for e in ds.entries:
        assert e["questions"] == [faqs[e["id"]]["question"]]
        assert e["answer"] == faqs[e["id"]]["answers"][0]
    assert all(r.text in faqs[r.label]["paraphrases"] for r in ds.stream)
    assert ds.answers["0"] == faqs["0"]["answers"][0]


def test_knowledge_file_is_json_lines(tmp_path):
    path = tmp_path / "kb.jsonl"
    q.write_knowledge_file([{"id": "x", "questions": ["ß?"], "answer": "ok"}], path)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        {"id": "x", "questions": ["ß?"], "answer": "ok"}]
