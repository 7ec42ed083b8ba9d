"""The policy's named thresholds: when the bot answers, asks "did you mean" or
hands over, and how often it may ask. Part of ``bot.settings.Settings``
(``policy:`` in the config file, ``JOURNEYBOT_POLICY__…`` in the environment)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Score = Annotated[float, Field(ge=0, le=1)]  # a cosine, or a lead between two: 5 or -1 is a typo
ScoreOrOff = Annotated[float, Field(ge=0, le=2)]  # … and above 1, which no cosine reaches: never


class PolicySettings(BaseModel):
    """Named thresholds of the answer / clarify / route decision.

    Scores are cosine similarities between the question and an entry's
    question forms (all-MiniLM-L6-v2, normalised). An entry is answered when
    its best form scores at least ``answer_threshold`` and its centroid (the
    normalised mean of its forms) is ``centroid_lead`` closer to the question
    than any other entry's, its best form leading by ``form_margin``; or when it
    scores ``sure_threshold`` with ``sure_margin``. An entry that leads so but
    whose centroid is below ``centroid_floor`` (or whose one close form is below
    ``lone_floor``) is offered alone, "did you mean", instead of answered; so is a sure one whose
    centroid is below ``sure_centroid_floor``. With ``centroid_lead`` 0 the older form rule decides: a
    lead of ``answer_margin`` with a second form agreeing (within
    ``agree_gap``), or ``lone_threshold`` on one form. Otherwise close entries are
    offered as options, or the question goes to staff. ``bench/quality.py``
    measures the trade these values make.
    """

    answer_threshold: Score = Field(0.64, description="best score, when a second form agrees")
    lone_threshold: ScoreOrOff = Field(0.76, description="best score, when only one form is near "
                                                         "(above 1: never)")
    answer_margin: Score = Field(0.15, description="lead over the best different entry (without centroids)")
    centroid_lead: Score = Field(0.12, description="answer when the best entry's centroid (the mean of "
                                                   "its question forms) leads every other entry's by this "
                                                   "and its best form scores answer_threshold; 0: the "
                                                   "form rule (answer_margin, agree_gap, lone_threshold)")
    form_margin: Score = Field(0.05, description="… while its best form leads the best different "
                                                 "entry's by at least this")
    agree_gap: Score = Field(0.15, description="a second form this close to the best one agrees")
    centroid_floor: Score = Field(0.50, description="an entry that leads is answered only when the "
                                                    "question is at least this close to its centroid; "
                                                    "below, the asker is asked to confirm it")
    lone_floor: Score = Field(0.0, description="… and when no second form agrees, only when its one "
                                               "close form scores at least this (0: no such floor); "
                                               "below, the asker is asked to confirm it")
    sure_centroid_floor: Score = Field(0.45, description="a sure answer (below) is confirmed instead when "
                                                         "the question is less close than this to the entry's "
                                                         "centroid: its one near form is a stray (0: never)")
    sure_threshold: ScoreOrOff = Field(0.90, description="answer at this score (above 1: never) …")
    sure_margin: Score = Field(0.10, description="… with at least this lead over the best different "
                                                 "entry (two entries' forms both nearly the question are "
                                                 "a close call, not a sure one)")
    clarify_floor: Score = Field(0.55, description="offer options when the best entry scores at least this")
    option_floor: Score = Field(0.50, description="and every option offered scores at least this")
    clarify_band: Score = Field(0.14, description="options are entries within this of the best one")
    max_options: int = Field(3, ge=2, le=5)
    support_k: int = Field(5, ge=1, description="nearest forms counted as an entry's support (evidence)")
    conflict_threshold: Score = Field(0.92, description="two entries' question forms this close …")
    conflict_answer_gap: Score = Field(0.80, description="… with answers less alike than this conflict")
    repeat_threshold: Score = Field(0.80, description="same person, same issue: question similarity")
    repeat_window_hours: float = 72.0
    auto_resolve_hours: float = 48.0
    owner_sla_minutes: float = 60.0
    max_clarifications: int = 1
    docs_answer_estimate: float = Field(
        0.8512, gt=0.5, lt=1.0, description="answer from a docs section when the estimated chance of being "
                                           "right (bot/estimate.py) is at least this (fitted with the weights "
                                           "on eleven projects' docs, leave-one-project-out: bench/docs_fit.py)")
    decide_by: Literal["calibrated", "thresholds"] = Field(
        "thresholds", description="thresholds: the cosine thresholds above (the default until the calibrated "
                                  "decision measures better, see bench/README.md); calibrated: answer when the "
                                  "estimated probability of being right meets the target wrong rate")
    target_wrong_rate: float = Field(0.01, gt=0, lt=0.5,
                                     description="share of the bot's own answers allowed to be wrong")
    pick_teaches: bool = Field(True, description="when the asker picks a \"did you mean\" option the bot "
                                                 "had ranked below another, their question becomes a way to "
                                                 "ask the entry they picked (bench/README.md)")
    likely_at: float = Field(0.97, gt=0, le=1, description="answer what the cosine rules doubt when the "
                                                         "calibrated estimate that the best entry is right is "
                                                         "at least this (1: never) …")
    likely_centroid: float = Field(0.65, ge=0, description="… and the question is this close to the entry's "
                                                          "centroid …")
    likely_lead: float = Field(0.08, ge=0, description="… with the centroid this far ahead of every other "
                                                      "entry's")
    confirm_at: float = Field(0.6, gt=0, le=1, description="a question the cosine rules would hand over is "
                                                        "asked \"did you mean\" about the best entry when the "
                                                        "calibrated estimate that it is right is at least this "
                                                        "(1: never) …")
    confirm_centroid: float = Field(0.55, ge=0,
                                    description="… and the question is this close to that entry's "
                                                          "centroid, nearer it than to any other entry's")
    ask_budget: float = Field(0.15, gt=0, le=1,
                              description="at most this share of questions is asked \"did you "
                                                           "mean\": when more would be, the likeliest options are "
                                                           "offered and the rest go to staff (1: no budget)")
    ask_window: int = Field(300, ge=20, le=100_000, description="… counted over this many recent questions")
    clarify_at: float = Field(0.85, gt=0, le=1,
                              description="offer the first two (or three) entries when together they are "
                                          "this likely to hold the right one")


__all__ = ["PolicySettings"]
