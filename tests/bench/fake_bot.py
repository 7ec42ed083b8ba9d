#!/usr/bin/env python
"""A scripted, deterministic bot speaking the replay contract, for the driver's tests.

A question's text is a list of directives (space-separated):

* ``answer:E``              answer with entry E
* ``answer-nosrc``          answer with no sources
* ``clarify:E1,E2``         clarify with those options; the asker's number picks the
                            answer, ``none`` routes
* ``clarify-wrongpick:E1,E2`` clarify; whatever the pick, answer with the *next* option
* ``clarify-free``          clarify without options; ``none`` routes
* ``route``                 route (card ``card:<id>``) and hand off
* ``recall:L``              answer with the entry learned from a staff answer that
                            mentions L (``ANS L``), else route
* ``silent``                no action at all
* ``sleep:S``               sleep S seconds first
* ``die``                   exit with status 3
* ``hang``                  never answer

A staff message (role ``staff``) on an open card teaches entry ``L<n>``.
``--log FILE`` appends every received event as a JSON line.  At start it
writes 1 MB to stderr (the driver must drain it) and one non-JSON line to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default="-")
    ap.add_argument("--kb", action="append", default=[])
    ap.add_argument("--log", default=None)
    ap.add_argument("--no-noise", action="store_true")
    args = ap.parse_args()

    kb = {}
    for path in args.kb:
        with open(path, encoding="utf-8") as f:
            for line in f:
                e = json.loads(line)
                assert e["questions"] and e["answer"] and e["id"], e
                kb[e["id"]] = e
    if not args.no_noise:
        for k in range(16):
            sys.stderr.write(f"fake bot: log line {k} " + "x" * 65536 + "\n")
        sys.stderr.write("fake bot: ready\n")
        sys.stderr.flush()
        sys.stdout.write("this is not json\n")
        sys.stdout.flush()

    log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115 - lives as long as the bot
    cards: dict[str, dict] = {}  # card -> {"case", "text"}
    pending: dict[str, str] = {}  # case -> clarify directive
    learned: dict[str, str] = {}  # entry -> answer text
    out = sys.stdout

    def emit(obj: dict) -> None:
        out.write(json.dumps(obj) + "\n")

    def answer(case: str, ev: dict, entry: str | None) -> None:
        emit({"type": "reply", "event": ev["id"], "case": case, "channel": "help", "thread": case,
              "kind": "answer", "text": "...", "sources": [entry] if entry else [], "confidence": 0.9})

    def route(case: str, ev: dict, text: str) -> None:
        card = f"card:{case}"
        cards[card] = {"case": case, "text": text}
        emit({"type": "route", "event": ev["id"], "case": case, "channel": "staff", "card": card,
              "reason": "low_confidence", "candidates": [], "text": text})
        emit({"type": "reply", "event": ev["id"], "case": case, "channel": "help", "thread": case,
              "kind": "handoff", "text": "passed to staff", "sources": [], "confidence": 0.0})

    for line in sys.stdin:
        ev = json.loads(line)
        if log:
            log.write(json.dumps(ev) + "\n")
            log.flush()
        eid = ev["id"]
        if ev["type"] == "message" and ev.get("channel") == "help" and not ev.get("thread"):
            case, text = eid, ev["text"]
            for d in text.split():
                name, _, arg = d.partition(":")
                if name == "sleep":
                    time.sleep(float(arg))
                elif name == "die":
                    sys.stderr.write("fake bot: dying on purpose\n")
                    sys.stderr.flush()
                    return 3
                elif name == "hang":
                    time.sleep(3600)
                elif name == "answer":
                    answer(case, ev, arg)
                elif name == "answer-nosrc":
                    answer(case, ev, None)
                elif name in ("clarify", "clarify-wrongpick", "clarify-free"):
                    pending[case] = d
                    opts = arg.split(",") if arg else []
                    emit({"type": "reply", "event": eid, "case": case, "channel": "help", "thread": case,
                          "kind": "clarify", "text": "which one?", "sources": [], "confidence": 0.5,
                          **({"options": opts} if opts else {})})
                elif name == "route":
                    route(case, ev, text)
                elif name == "recall":
                    hit = next((e for e, a in learned.items() if a == f"ANS {arg}"), None)
                    if hit:
                        answer(case, ev, hit)
                    else:
                        route(case, ev, text)
        elif ev["type"] == "message" and ev.get("channel") == "help" and ev.get("thread") in pending:
            case = ev["thread"]
            name, _, arg = pending.pop(case).partition(":")
            opts = arg.split(",") if arg else []
            reply = ev["text"].strip()
            if reply == "none" or not opts:
                route(case, ev, reply)
            else:
                k = int(reply) - 1
                if name == "clarify-wrongpick":
                    k = (k + 1) % len(opts)
                answer(case, ev, opts[k])
        elif (ev["type"] == "message" and ev.get("channel") == "staff" and "staff" in (ev.get("roles") or [])
              and ev.get("thread") in cards):
            c = cards.pop(ev["thread"])
            entry = f"L{len(learned) + 1}"
            learned[entry] = ev["text"]
            emit({"type": "reply", "event": eid, "case": c["case"], "channel": "help", "thread": c["case"],
                  "kind": "relay", "by": ev["user"], "text": ev["text"], "sources": [entry], "confidence": 1.0})
            emit({"type": "learned", "event": eid, "case": c["case"], "entry": entry, "version": 1,
                  "from": ev["user"], "question": c["text"], "answer": ev["text"], "supersedes": None})
        emit({"type": "done", "event": eid})
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
