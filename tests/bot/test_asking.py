"""How often the bot asks "did you mean": at most the budget's share of recent
questions, the likeliest first; a community with few close calls asks them all;
a restart remembers what was asked."""

from __future__ import annotations

import asyncio
import json
import math
import random
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from bot.asking import FEWEST, AskingBudget, likelihood
from bot.cli import app
from bot.policy import Decision, Option
from knowledge.embedder import CachedEmbedder
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB


def did_you_mean(chance: float) -> tuple[Decision, list[Option]]:
    """A proposed "did you mean" between two options: the first is ``chance`` likely, the second a tenth."""
    options = [Option("a", 0.7, probability=chance), Option("b", 0.65, probability=0.1),
               Option("c", 0.5, probability=0.9)]  # not offered: it does not count
    return Decision("clarify", options=("a", "b"), confidence=0.7), options


ANSWERED = Decision("answer", entry="a", confidence=0.9), [Option("a", 0.9)]


async def test_a_community_with_few_close_calls_asks_every_one() -> None:
    budget = AskingBudget(0.15, window=300)
    rng = random.Random(3)
    asked = []
    for n in range(200):
        decision, options = did_you_mean(rng.random()) if n % 10 == 0 else ANSWERED
        verdict = await budget.weigh("default", f"c{n}", decision, options)
        if verdict is not None:
            asked.append(verdict.ask)
    assert len(asked) == 20 and all(asked)  # 10 % of questions: all under the budget


async def test_where_most_questions_are_close_calls_it_asks_the_likeliest_within_the_budget() -> None:
    budget = AskingBudget(0.15, window=300)
    rng = random.Random(7)
    verdicts = []
    for n in range(900):  # every question a close call
        verdict = await budget.weigh("default", f"c{n}", *did_you_mean(rng.random()))
        assert verdict is not None
        verdicts.append(verdict)
    settled = verdicts[300:]  # once the window is full
    asked = [v for v in settled if v.ask]
    assert len(asked) <= math.ceil(0.15 * 600) + 1
    assert len(asked) >= 0.10 * 600  # the budget is spent, not hoarded
    assert min(v.likelihood for v in asked) > 0.5  # only the likeliest …
    not_asked = [v for v in settled if not v.ask]
    assert sum(v.likelihood for v in asked) / len(asked) > sum(v.likelihood for v in not_asked) / len(not_asked) + 0.3
    assert all(v.bar is None or v.likelihood < v.bar for v in not_asked)  # … and each refusal says why
    # a space has its own budget; 1 means no budget
    assert (await budget.weigh("other", "c1", *did_you_mean(0.01))).ask  # type: ignore[union-attr]
    always = AskingBudget(1.0, window=300)
    assert all([(await always.weigh("default", f"c{n}", *did_you_mean(0.01))).ask  # type: ignore[union-attr]
                for n in range(50)])


async def test_the_budget_is_spent_on_close_calls_not_left_unused() -> None:
    """The bar ranks a little more than the budget allows and the cap holds the rate:
    with both at the budget, each refuses some the other passes and a tenth goes unspent."""
    spent = []
    for seed in (7, 8, 9):
        budget = AskingBudget(0.15, window=300)
        rng = random.Random(seed)
        verdicts = [await budget.weigh("default", f"c{n}", *did_you_mean(rng.random())) for n in range(900)]
        spent.append(sum(v.ask for v in verdicts[300:] if v is not None) / 600)
    assert 0.14 <= sum(spent) / len(spent) <= 0.15 + 1 / 600


def test_the_chance_that_one_of_the_options_is_right() -> None:
    decision, options = did_you_mean(0.5)
    assert likelihood(decision, options) == 1 - 0.5 * 0.9  # either may be right, neither counted twice
    unestimated = [replace(o, probability=None) for o in options]
    assert likelihood(decision, unestimated) == 0.7  # no learner: the best offered score


async def test_a_case_decided_again_counts_once_and_stays_asked() -> None:
    """More words from the asker, or a flow run again after a slow call, decide the
    same case again: it is one question, and once asked it stays asked."""
    budget = AskingBudget(0.15, window=300)
    for n in range(40):
        await budget.weigh("default", f"c{n}", *ANSWERED)
    again = [await budget.weigh("default", "c1", *did_you_mean(0.9)) for _ in range(5)]
    assert all(v is not None and v.ask for v in again)
    window = budget._windows["default"]
    assert len(window.cases) == 40 and window.cases["c1"] == (again[0].likelihood, True)  # type: ignore[union-attr]
    await budget.weigh("default", "c1", *ANSWERED)  # then answered or handed over: it was still asked
    assert window.cases["c1"][1] is True


async def test_a_new_space_may_ask_its_first_few_questions() -> None:
    budget = AskingBudget(0.15, window=300)
    first = [await budget.weigh("default", f"c{n}", *did_you_mean(0.9)) for n in range(5)]
    allowed = math.ceil(0.15 * FEWEST)
    assert [v.ask for v in first if v] == [True] * allowed + [False] * (5 - allowed)


async def test_over_the_budget_a_did_you_mean_goes_to_staff_and_a_restart_remembers(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    """Every question leads an entry that is confirmed, never answered (a centroid
    floor no question reaches): at a budget of 15 %, the first three are asked, the
    rest reach staff with a card; after a restart the count goes on."""
    db = str(tmp_path / "asking.db")
    policy = {"centroid_floor": 0.999, "sure_threshold": 1.5, "ask_budget": 0.15}
    core = await make_core(embedder, kb=DEMO_KB, db=db, policy=policy)
    kinds: list[str] = []
    try:
        chat = Chat(core)
        for n in range(FEWEST - 1):
            said = await chat.ask("how do I rotate my API key?", id=f"m{n}", user=f"u{n}")
            kinds.append("route" if said.routed else said.reply.kind)
            if said.routed:
                assert said.route.reason == "low_confidence"
        asking = [json.loads(r.body)["asking"] for r in await core.log.of_kind("decision", "default")]
    finally:
        await core.close()
    allowed = math.ceil(0.15 * FEWEST)
    assert kinds == ["clarify"] * allowed + ["route"] * (FEWEST - 1 - allowed)
    # the operator sees the budget beside what was asked (the command runs its own event loop)
    report = await asyncio.to_thread(CliRunner().invoke, app, ["report", "--db", db])
    assert report.exit_code == 0, report.output
    assert f'"did you mean" asked: budget 15% of questions, measured {allowed / (FEWEST - 1):.1%} ' \
           f"({allowed} of {FEWEST - 1} questions)" in report.output
    assert [a["asked"] for a in asking] == [k == "clarify" for k in kinds]
    assert all(a["likelihood"] is not None for a in asking)  # each was a proposal, weighed

    again = await make_core(embedder, kb=DEMO_KB, db=db, policy=policy)
    try:
        said = await Chat(again).ask("how do I rotate my API key?", id="m100", user="u100")
        assert said.routed  # the three asks of the last 19 questions are remembered: no room yet
        body = json.loads((await again.log.of_kind("decision", "default"))[-1].body)
        assert body["asking"] == {"likelihood": asking[0]["likelihood"], "asked": False, "bar": None}
        assert "not asked" in body["why"] and "already asked" in body["why"]
    finally:
        await again.close()
