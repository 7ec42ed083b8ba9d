"""Driving a replay-speaking bot through one dataset stream: the asker, the
clarifying answers and the staff, as ``spec/quality-benchmark.md`` says."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.quality_data import (
    MAX_CLARIFY_ROUNDS,
    REPO_ROOT,
    STAFF_USER,
    START,
    Dataset,
    write_knowledge_file,
)

# --------------------------------------------------------------------------
# The bot subprocess


class BotError(RuntimeError):
    """The bot died, stalled or broke the replay contract."""


class BotProcess:
    """A replay-speaking subprocess driven one event at a time."""

    def __init__(self, argv: Sequence[str], cwd: Path = REPO_ROOT, env: dict[str, str] | None = None,
                 timeout: float = 60.0, stderr_lines: int = 40) -> None:
        self.argv = list(argv)
        self.timeout = timeout
        self.stderr_tail: deque[str] = deque(maxlen=stderr_lines)
        self.stderr_count = 0
        self.garbage: list[str] = []  # stdout lines that are not JSON objects
        self.errors: list[dict[str, Any]] = []  # {"type": "error"} actions
        self._lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=str(cwd), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1,
            )
        except OSError as e:
            raise BotError(f"cannot start bot {shlex.join(self.argv)}: {e}") from e
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put((time.perf_counter(), line))
        self._lines.put((time.perf_counter(), None))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_count += 1
            self.stderr_tail.append(line.rstrip("\n"))

    def _fail(self, what: str) -> BotError:
        """Kill the bot if it still runs; an error naming the last stderr lines."""
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._err.join(timeout=2)
        tail = "\n".join(f"    {s}" for s in self.stderr_tail) or "    (nothing)"
        return BotError(
            f"{what}\n  command: {shlex.join(self.argv)}\n  exit status: {self.proc.returncode}\n"
            f"  last stderr lines:\n{tail}"
        )

    def send(self, event: dict[str, Any], timeout: float | None = None) -> tuple[list[dict[str, Any]], float]:
        """Write one event; return its actions and the seconds from write to ``done``."""
        eid = event["id"]
        line = json.dumps(event, ensure_ascii=False) + "\n"
        limit = self.timeout if timeout is None else timeout
        t0 = time.perf_counter()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise self._fail(f"the bot is gone: writing event {eid!r} failed ({e})") from None
        deadline = t0 + limit
        actions: list[dict[str, Any]] = []
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise self._fail(f"the bot stalled: no done for event {eid!r} within {limit:g} s")
            try:
                t, out = self._lines.get(timeout=remaining)
            except queue.Empty:
                raise self._fail(f"the bot stalled: no done for event {eid!r} within {limit:g} s") from None
            if out is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                raise self._fail(f"the bot exited before the done of event {eid!r}")
            out = out.strip()
            if not out:
                continue
            try:
                obj = json.loads(out)
            except json.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                self.garbage.append(out[:200])
                continue
            if obj.get("type") == "done":
                if obj.get("event") != eid:
                    raise self._fail(f"replay contract broken: got done for {obj.get('event')!r} "
                                     f"while waiting for {eid!r}")
                return actions, t - t0
            if obj.get("type") == "error":
                self.errors.append(obj)
            actions.append(obj)

    def close(self, timeout: float = 30.0) -> int | None:
        """End of input; wait for a clean exit (kill after ``timeout``)."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        return self.proc.returncode


def bot_argv(cmd: str | Sequence[str] | None, kb: Path) -> list[str]:
    """The command line for one run: the default bot, or ``cmd`` with ``{kb}`` filled in."""
    if cmd is None:
        return [sys.executable, "-m", "bot", "replay", "-", "--kb", str(kb)]
    parts = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    if not parts:
        raise ValueError("empty --cmd")
    if parts[0] in ("python", "python3"):
        parts[0] = sys.executable
    has_kb = any("{kb}" in p for p in parts)
    parts = [p.replace("{kb}", str(kb)).replace("{python}", sys.executable) for p in parts]
    if not has_kb:
        parts += ["--kb", str(kb)]
    return parts


# --------------------------------------------------------------------------
# Driving one dataset/seed


@dataclass
class RowResult:
    i: int
    label: str
    in_scope: bool
    known_at_start: bool
    taught_before: bool  # label unknown at start, a learned entry mapped to it before this row
    outcome: str  # correct | clarified_correct | wrong | abstained
    answered: bool
    clarify_rounds: int
    routed: bool
    staff_answered: bool
    taught: bool  # the staff answer produced a learned action
    entry: str | None  # the answering entry
    latency_s: float
    model: str | None = None  # the encoder version named by the bot's first answer or clarify (if it says)


@dataclass
class RunResult:
    dataset: str
    seed: int
    size: int
    kb_entries: int
    entries_end: int
    learned: int
    rows: list[RowResult]
    startup_s: float | None
    runtime_s: float
    staff_latency_s: list[float] = field(default_factory=list)
    followup_latency_s: list[float] = field(default_factory=list)
    protocol: dict[str, int] = field(default_factory=dict)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_reply(actions: list[dict[str, Any]]) -> dict[str, Any] | None:
    for a in actions:
        if a.get("type") == "reply" and a.get("kind") in ("answer", "clarify"):
            return a
    return None


def run_stream(ds: Dataset, cmd: str | Sequence[str] | None = None, *, timeout: float = 60.0,
               startup_timeout: float = 600.0, warmup: bool = True, env: dict[str, str] | None = None,
               cwd: Path = REPO_ROOT, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Stream ``ds`` through the bot and record every row's outcome."""
    t_start = time.perf_counter()
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    child_env.setdefault("PYTHONIOENCODING", "utf-8")
    with tempfile.TemporaryDirectory(prefix=f"jb-quality-{ds.name}-{ds.seed}-") as tmp:
        kb = Path(tmp) / "kb.jsonl"
        write_knowledge_file(ds.entries, kb)
        bot = BotProcess(bot_argv(cmd, kb), cwd=cwd, env=child_env, timeout=timeout)
        try:
            result = _drive(ds, bot, startup_timeout=startup_timeout, warmup=warmup, progress=progress)
            rc = bot.close()
            if rc not in (0, None):
                result.protocol["nonzero_exit"] = rc
        except BaseException:
            if bot.proc.poll() is None:
                bot.proc.kill()
                bot.proc.wait()
            raise
    result.runtime_s = time.perf_counter() - t_start
    result.protocol["error_actions"] = len(bot.errors)
    result.protocol["non_json_stdout_lines"] = len(bot.garbage)
    result.protocol["stderr_lines"] = bot.stderr_count
    return result


def _drive(ds: Dataset, bot: BotProcess, *, startup_timeout: float, warmup: bool,
           progress: Callable[[int, int], None] | None) -> RunResult:
    entry_label: dict[str, str] = {str(e["id"]): str(e["id"]) for e in ds.entries}  # entry id = label
    kb_ids = set(entry_label)
    known = set(ds.known)
    learned_ids: set[str] = set()
    taught_labels: set[str] = set()
    staff_lat: list[float] = []
    follow_lat: list[float] = []
    proto = {"answers_without_sources": 0, "unknown_answer_entries": 0, "routes_without_card": 0,
             "none_then_answered": 0, "clarify_rounds_exhausted": 0, "learned_outside_staff": 0,
             "silent_questions": 0}
    rows: list[RowResult] = []
    startup: float | None = None
    first_timeout: float | None = startup_timeout
    if warmup:
        _, startup = bot.send({"type": "tick", "id": "warmup", "at": _iso(START)}, timeout=startup_timeout)
        first_timeout = None

    def note_learned(actions: list[dict[str, Any]], label: str | None) -> bool:
        got = False
        for a in actions:
            if a.get("type") == "learned" and a.get("entry") is not None:
                eid = str(a["entry"])
                learned_ids.add(eid)
                if label is not None:
                    entry_label[eid] = label
                    taught_labels.add(label)
                    got = True
                else:
                    proto["learned_outside_staff"] += 1
        return got

    n = len(ds.stream)
    for i, row in enumerate(ds.stream):
        qid, user, at = f"q{i}", f"u{i}", START + timedelta(minutes=i)
        known_at_start = row.label in known
        taught_before = row.in_scope and not known_at_start and row.label in taught_labels
        actions, latency = bot.send(
            {"type": "message", "id": qid, "at": _iso(at), "channel": "help", "user": user,
             "thread": None, "text": row.text},
            timeout=first_timeout,
        )
        first_timeout = None
        note_learned(actions, None)
        seen = list(actions)
        rounds, said_none = 0, False
        outcome, answered, entry = "abstained", False, None
        first = _first_reply(actions)
        model = first.get("model") if first is not None else None
        while True:
            reply = _first_reply(actions)
            if reply is not None and reply["kind"] == "answer":
                answered = True
                sources = reply.get("sources") or []
                entry = str(sources[0]) if sources else None
                if entry is None:
                    proto["answers_without_sources"] += 1
                elif entry not in entry_label:
                    proto["unknown_answer_entries"] += 1
                right = row.in_scope and entry is not None and entry_label.get(entry) == row.label
                if said_none:
                    proto["none_then_answered"] += 1
                outcome = ("clarified_correct" if rounds else "correct") if right else "wrong"
                break
            if reply is not None and reply["kind"] == "clarify":
                if rounds >= MAX_CLARIFY_ROUNDS:
                    proto["clarify_rounds_exhausted"] += 1
                    break
                rounds += 1
                options = [str(o) for o in (reply.get("options") or [])]
                pick = next((k for k, o in enumerate(options) if row.in_scope and entry_label.get(o) == row.label),
                            None)
                said_none = pick is None
                actions, lat = bot.send(
                    {"type": "message", "id": f"{qid}r{rounds}", "at": _iso(at + timedelta(seconds=10 * rounds)),
                     "channel": "help", "user": user, "thread": qid,
                     "text": "none" if pick is None else str(pick + 1)},
                )
                follow_lat.append(lat)
                note_learned(actions, None)
                seen += actions
                continue
            break
        routes = [a for a in seen if a.get("type") == "route"]
        routed = not answered and bool(routes)
        if not answered and not routes and rounds == 0:
            proto["silent_questions"] += 1
        staff_answered = taught = False
        if routed and row.in_scope:
            card = routes[-1].get("card")
            if not card:
                proto["routes_without_card"] += 1
                card = f"card:{qid}"
            staff_actions, lat = bot.send(
                {"type": "message", "id": f"s{i}", "at": _iso(at + timedelta(seconds=30)), "channel": "staff",
                 "thread": card, "user": STAFF_USER, "roles": ["staff"], "text": ds.answers[row.label]},
            )
            staff_lat.append(lat)
            staff_answered = True
            taught = note_learned(staff_actions, row.label)
        rows.append(RowResult(i, row.label, row.in_scope, known_at_start, taught_before, outcome, answered,
                              rounds, routed, staff_answered, taught, entry, latency, model))
        if progress is not None:
            progress(i + 1, n)
    return RunResult(ds.name, ds.seed, n, len(kb_ids), len(kb_ids | learned_ids), len(learned_ids), rows,
                     startup, 0.0, staff_lat, follow_lat, proto)
