"""One typed settings object, validated at start-up.

Values come from (highest first) explicit arguments, the environment
(``JOURNEYBOT_…``, nested with ``__``, e.g. ``JOURNEYBOT_POLICY__ANSWER_THRESHOLD``),
an optional YAML config file, then these defaults. Secrets (tokens, API keys)
are read only from the environment by the adapters that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PolicySettings(BaseModel):
    """Named thresholds of the answer / clarify / route decision.

    Scores are cosine similarities between the question and an entry's
    question forms (all-MiniLM-L6-v2, normalised). An entry is answered when
    it leads every other entry by ``answer_margin`` and scores at least
    ``answer_threshold`` while a second of its forms agrees (within
    ``agree_gap``), or ``lone_threshold`` when only one form is near; or when it
    scores ``sure_threshold`` with ``sure_margin``. Otherwise close entries are
    offered as options, or the question goes to staff. ``bench/quality.py``
    measures the trade these values make.
    """

    answer_threshold: float = Field(0.64, description="best score, when a second form agrees")
    lone_threshold: float = Field(0.76, description="best score, when only one form is near")
    answer_margin: float = Field(0.15, description="lead over the best different entry")
    agree_gap: float = Field(0.15, description="a second form this close to the best one agrees")
    sure_threshold: float = Field(0.90, description="answer at this score …")
    sure_margin: float = Field(0.05, description="… with at least this lead")
    clarify_floor: float = Field(0.55, description="offer options when the best entry scores at least this")
    option_floor: float = Field(0.50, description="and every option offered scores at least this")
    clarify_band: float = Field(0.14, description="options are entries within this of the best one")
    max_options: int = Field(3, ge=2, le=5)
    support_k: int = Field(5, ge=1, description="nearest forms counted as an entry's support (evidence)")
    conflict_threshold: float = Field(0.92, description="two entries' question forms this close …")
    conflict_answer_gap: float = Field(0.80, description="… with answers less alike than this conflict")
    repeat_threshold: float = Field(0.80, description="same person, same issue: question similarity")
    repeat_window_hours: float = 72.0
    auto_resolve_hours: float = 48.0
    owner_sla_minutes: float = 60.0
    max_clarifications: int = 1
    decide_by: Literal["calibrated", "thresholds"] = Field(
        "thresholds", description="thresholds: the cosine thresholds above (the default until the calibrated "
                                  "decision measures better, see bench/README.md); calibrated: answer when the "
                                  "estimated probability of being right meets the target wrong rate")
    target_wrong_rate: float = Field(0.01, gt=0, lt=0.5,
                                     description="share of the bot's own answers allowed to be wrong")
    clarify_at: float = Field(0.85, gt=0, le=1,
                              description="offer the first two (or three) entries when together they are "
                                          "this likely to hold the right one")


class LearningSettings(BaseModel):
    """The learning loop (issue 11): encoder adaptation, calibration, survival.

    The encoder adapts after ``every_lessons`` new taught pairs (or every
    ``every_hours``, if set), by the events' clock. On a platform it runs in
    the background; in ``replay`` it runs inside the event that made it due,
    so the output stays the same for the same input.
    """

    adapt: bool = Field(True, description="adapt the encoder to what the community taught")
    every_lessons: int = Field(200, ge=1, description="adapt after this many new taught pairs")
    every_hours: float | None = Field(None, gt=0, description="… or this long after the last adaptation")
    min_lessons: int = Field(20, ge=1, description="never adapt on fewer new pairs than this")
    background: bool = Field(True, description="run off the answering path (replay: false)")
    steps: int = Field(20, ge=1, le=1000, description="training steps per adaptation")
    batch: int = Field(16, ge=2, le=256, description="entries per training step (an anchor, a positive "
                                                      "and a hard negative each)")
    learning_rate: float = Field(5e-5, gt=0)
    threads: int = Field(1, ge=1, le=2, description="torch threads for training")
    held_out_share: int = Field(5, ge=2, description="one taught pair in this many is held out")
    answer_floor: float = Field(0.9, gt=0, le=1, description="never answer below this probability")
    prior_strength: float = Field(20.0, gt=0, description="how hard the cautious prior holds")
    survival_min_answers: int = Field(5, ge=1, description="judge an entry's survival after this many answers")
    survival_threshold: float = Field(0.6, ge=0, le=1,
                                      description="an entry whose answers work less often stops answering")


class LLMSettings(BaseModel):
    """Optional grounded generation through any OpenAI-compatible endpoint.

    Off unless a model is named: ``JOURNEYBOT_LLM_MODEL`` (or ``llm.model``
    in the config file, ``JOURNEYBOT_LLM__MODEL``). The endpoint is
    ``base_url``, else ``OPENAI_BASE_URL``, else api.openai.com; the key comes
    only from ``OPENAI_API_KEY``. ``timeout_seconds`` bounds the whole call,
    retry included, so an asker never waits longer for a model.
    """

    model: str | None = Field(default_factory=lambda: os.environ.get("JOURNEYBOT_LLM_MODEL") or None,
                              description="model (or Azure deployment) name; none = extractive only")
    base_url: str | None = Field(None, description="endpoint, e.g. http://localhost:11434/v1 (Ollama)")
    timeout_seconds: float = Field(30.0, gt=0, le=30.0)
    max_retries: int = Field(1, ge=0, le=1)
    max_prompt_chars: int = Field(12_000, ge=3_000, le=400_000,
                                  description="bound on every prompt (about 4 characters a token)")
    max_answer_tokens: int = Field(400, ge=50, le=4_000)
    max_answer_words: int = Field(150, ge=20, le=1_000)
    max_sources: int = Field(4, ge=1, le=8, description="entries offered to the model, the decided one included")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="none = the model's default")
    answer_token_field: Literal["max_completion_tokens", "max_tokens"] | None = Field(
        None, description="none = max_completion_tokens for OpenAI/Azure, max_tokens elsewhere")


class Settings(BaseSettings):
    """journeybot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEYBOT_", env_nested_delimiter="__", extra="ignore"
    )

    db: str = Field("journeybot.db", description="SQLite path of the store; ':memory:' is throw-away")
    help_channels: list[str] = Field(default_factory=lambda: ["help"])
    staff_channel: str = "staff"
    staff_role: str = "staff"
    moderator_role: str = "moderator"
    bot_name: str = "journeybot"
    staff_team_name: str = "the staff team"
    max_message_chars: int = 4000
    tick_seconds: float = Field(300.0, gt=0, description="live platforms: how often time passes (reminders, auto-resolve)")
    index_hnsw_min: int = Field(50_000, description="use an HNSW index from this many question forms")
    embedder: str = Field("minilm", description="'minilm' (fastest start), 'transformers' or 'sentence-transformers'")
    embed_threads: int = Field(
        1, ge=1, description="torch threads for embedding: one leaves the other cores to the event loop and "
                             "the store (measured faster end to end on 2 cores); bulk imports use all")
    policy: PolicySettings = Field(default_factory=PolicySettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    sensitive_examples: dict[str, list[str]] | None = None
    sensitive_threshold: float = Field(
        0.55, description="similarity to the sensitive examples that routes a question to a person")

    @model_validator(mode="after")
    def _channels_are_distinct(self) -> Settings:
        if self.staff_channel in self.help_channels:
            raise ValueError("the staff channel cannot also be a help channel")
        return self


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional YAML file, the environment and ``overrides``."""
    file_values: dict[str, Any] = {}
    if config is not None:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config}: expected a mapping of settings at the top level")
        file_values = loaded
    # Environment beats the file; explicit overrides beat both.
    env_values = Settings().model_dump(exclude_unset=True)
    merged = _deep_merge(_deep_merge(file_values, env_values), overrides)
    return Settings(**merged)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
