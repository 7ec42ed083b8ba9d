"""One typed settings object, validated at start-up.

Values come from (highest first) explicit arguments, the environment
(``JOURNEYBOT_…``, nested with ``__``, e.g. ``JOURNEYBOT_POLICY__ANSWER_THRESHOLD``),
an optional YAML config file, then these defaults. Secrets (tokens, API keys)
are read only from the environment by the adapters that need them.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as EnvSettingsError

from bot.policy_settings import PolicySettings as PolicySettings


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
    first_lessons: int | None = Field(None, ge=1, description="the first adaptation after this many taught "
                                                              "pairs (none: every_lessons)")
    min_lessons: int = Field(20, ge=1, description="never adapt on fewer new pairs than this")
    background: bool = Field(True, description="run off the answering path (replay: false)")
    steps: int = Field(20, ge=1, le=1000, description="training steps per adaptation")
    batch: int = Field(16, ge=2, le=256, description="entries per training step (an anchor, a positive "
                                                      "and a hard negative each)")
    steps_per_pair: float = Field(0.04, ge=0, le=1, description="training steps grow with the pairs trained "
                                                                "on (this × pairs, at least steps; 0: always "
                                                                "steps): a small store trains as little as "
                                                                "ever, a large one up to max_steps")
    max_steps: int = Field(60, ge=1, le=1000, description="… up to this many")
    judge_picks: bool = Field(False, description="held-out \"did you mean\" picks and Solved questions judge "
                                                 "a candidate model too, beside the held-out taught forms")
    learning_rate: float = Field(5e-5, gt=0)
    docs_steps: int = Field(200, ge=0, le=2000, description="training steps when docs are imported: the model "
                                                             "learns the docs' own words (0: never)")
    threads: int = Field(1, ge=1, le=2, description="torch threads for training")
    held_out_share: int = Field(5, ge=2, description="one taught pair in this many is held out")
    answer_floor: float = Field(0.9, gt=0, le=1, description="never answer below this probability")
    prior_strength: float = Field(20.0, gt=0, description="how hard the cautious prior holds")
    survival_min_answers: int = Field(5, ge=1, description="judge an entry's survival after this many answers")
    survival_threshold: float = Field(0.6, ge=0, le=1,
                                      description="an entry whose answers work less often stops answering")
    models_dir: str | None = Field(None, description="where tuned weights are kept (default: beside an SQLite "
                                                     "store; for PostgreSQL, journeybot.models/<database>, "
                                                     "which every worker must share)")


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


class PastThreadsSettings(BaseModel):
    """Importing past threads (``journeybot kb import`` of a Slack or Discord
    export): who answered as staff, and how to link back to a thread.

    ``staff`` are user ids (safest: Slack ``U…``, Discord snowflakes) or names
    (user name, display name or real name, any case); ``staff_roles`` are
    Discord role names or ids as the export records each author's roles, and
    on Slack ``admin`` or ``owner`` (workspace admins and owners).
    """

    staff: list[str] = Field(default_factory=list, description="staff user ids (or names) in the exports")
    staff_roles: list[str] = Field(default_factory=list, description="Discord roles; on Slack admin, owner")
    slack_workspace_url: str | None = Field(None, description="e.g. https://tidepool.slack.com, for thread links")
    channels: list[str] = Field(default_factory=list, description="import only these channels (default: all public)")

    @field_validator("slack_workspace_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip().rstrip("/")
        return value if value.startswith(("https://", "http://")) else f"https://{value}"


class Settings(BaseSettings):
    """journeybot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="JOURNEYBOT_", env_nested_delimiter="__", extra="ignore"
    )

    db: str = Field("journeybot.db", description="the store: an SQLite file (':memory:' is throw-away) "
                    "or a postgresql:// URL (several workers share one)")
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
    embed_batch_ms: float = Field(
        2.0, ge=0, le=1000, description="questions arriving this close together (ms) are embedded in one "
                                        "forward pass; a question waits at most this long, and only while "
                                        "another is being handled (a burst queues then)")
    embed_batch_max: int = Field(64, ge=1, description="at most this many questions in one forward pass")
    policy: PolicySettings = Field(default_factory=PolicySettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    past_threads: PastThreadsSettings = Field(default_factory=PastThreadsSettings)
    sensitive_examples: dict[str, list[str]] | None = None
    sensitive_threshold: float = Field(
        0.55, description="similarity to the sensitive examples that routes a question to a person (0.55: "
                          "precision 0.89, recall 0.77 on tests/bot/trust/data/sensitive.jsonl; 0.45, the "
                          "detector's own default: 0.88 / 0.86, more ordinary look-alikes sent to a person)")

    @model_validator(mode="after")
    def _channels_are_distinct(self) -> Settings:
        if self.staff_channel in self.help_channels:
            raise ValueError("the staff channel cannot also be a help channel")
        return self


class SettingsError(ValueError):
    """Settings that cannot be used, said in one line that names the file, the key and the line."""


# Adapters declare their own section of the settings file beside their code
# (``slack:``, ``discord:`` …) and register its name under this entry-point
# group; the core knows the names, never the adapters.
SECTIONS_GROUP = "journeybot.settings"
# Variables that are not settings but are read by name: ``JOURNEYBOT_LLM_MODEL``
# (the documented shortcut for ``llm.model``) and ``JOURNEYBOT_REVIEWER``
# (who `kb review` records by default).
_ENV_SHORTCUTS = {"LLM_MODEL", "REVIEWER"}


def adapter_sections() -> set[str]:
    from importlib.metadata import entry_points

    return {point.name for point in entry_points(group=SECTIONS_GROUP)}


def adapter_models(names: set[str]) -> dict[str, type[BaseModel]]:
    """The settings model each installed adapter registered for its section (by name: the core
    never imports a platform; a section whose model can't be loaded is left to its adapter)."""
    from importlib.metadata import entry_points

    models: dict[str, type[BaseModel]] = {}
    for point in entry_points(group=SECTIONS_GROUP):
        if point.name in names:
            try:
                models[point.name] = point.load()
            except Exception:  # an adapter's own failure is its own to report
                continue
    return models


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional YAML file, the environment and ``overrides``.

    Unknown keys (in the file or in ``JOURNEYBOT_…`` variables), malformed
    YAML and wrong values are refused with a ``SettingsError`` naming where.
    A relative ``db`` path in the file is relative to the file.
    """
    sections = adapter_sections()
    check_environment(os.environ, sections)
    file_values: dict[str, Any] = {}
    lines: dict[tuple[str, ...], int] = {}
    if config is not None:
        file_values, lines = read_settings_file(config)
        check_keys(file_values, Settings, where=lambda path: _at(config, lines, path), skip=sections)
        for name, model in adapter_models(set(file_values) & sections).items():  # `discord:`, `slack:`
            if isinstance(file_values[name], dict):  # a token there is the adapter's to refuse, saying where
                check_keys({k: v for k, v in file_values[name].items() if "token" not in str(k)}, model,
                           where=lambda path: _at(config, lines, path), path=(name,))
        db = file_values.get("db")
        if isinstance(db, str) and _is_relative_path(db):
            file_values["db"] = str((config.parent / db).resolve())
    try:
        # Environment beats the file; explicit overrides beat both.
        try:
            env_values = Settings().model_dump(exclude_unset=True)
        except EnvSettingsError as exc:  # a list or a section given as plain text
            field = str(exc).split('field "', 1)[-1].split('"', 1)[0].upper()
            variable = f"JOURNEYBOT_{field}"
            named = sorted(n for n in os.environ if n == variable or n.startswith(variable + "__"))
            raise SettingsError(
                f"{', '.join(named) or variable}: a list or a section is JSON in the environment "
                f"(e.g. '[\"support\"]' for a list), or set it in the settings file") from None
        merged = _deep_merge(_deep_merge(file_values, env_values), overrides)
        return Settings(**merged)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc, config, lines)) from None


def read_settings_file(config: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """The file's mapping, and the line of every key in it (for messages)."""
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{config}: cannot read it ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{config}:{mark.line + 1}" if mark is not None else str(config)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SettingsError(f"{where}: not valid YAML ({problem})") from None
    if loaded is None:
        return {}, {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{config}: expected a mapping of settings at the top level")
    lines: dict[tuple[str, ...], int] = {}
    _note_lines(node, (), lines)
    return loaded, lines


def _note_lines(node: Any, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            lines[here] = key.start_mark.line + 1
            _note_lines(value, here, lines)


def check_keys(values: dict[str, Any], model: type[BaseModel], *, where: Any,
               path: tuple[str, ...] = (), skip: set[str] | None = None) -> None:
    """Refuse a key the model does not have, with a "did you mean"."""
    fields = model.model_fields
    for key, value in values.items():
        here = (*path, str(key))
        if skip and not path and key in skip:
            continue
        if key not in fields:
            known = sorted(fields) + sorted(skip or ())
            raise SettingsError(f"{where(here)}: unknown setting {'.'.join(here)!r}{_did_you_mean(str(key), known)}")
        sub = _model_of(fields[key].annotation)
        if sub is not None and isinstance(value, dict):
            check_keys(value, sub, where=where, path=here)


def check_environment(environ: Any, sections: set[str]) -> None:
    """``JOURNEYBOT_…`` variables must name a setting: a typo is refused, not ignored."""
    for name in sorted(environ):
        if not name.startswith("JOURNEYBOT_"):
            continue
        rest = name[len("JOURNEYBOT_"):]
        if rest in _ENV_SHORTCUTS:
            continue
        parts = [p.lower() for p in rest.split("__")]
        if parts[0] in sections:
            continue  # the adapter checks its own section
        model: type[BaseModel] | None = Settings
        for depth, part in enumerate(parts):
            fields = model.model_fields if model is not None else {}
            if part not in fields:
                known = ["JOURNEYBOT_" + "__".join([*parts[:depth], f]).upper() for f in fields]
                if depth == 0:
                    known += ["JOURNEYBOT_" + s.upper() + "__…" for s in sorted(sections)]
                raise SettingsError(f"environment variable {name}: no such setting"
                                    f"{_did_you_mean(name, known)}")
            model = _model_of(fields[part].annotation)
            if model is None and depth < len(parts) - 1:
                raise SettingsError(f"environment variable {name}: "
                                    f"{'.'.join(parts[:depth + 1])} has no parts")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _did_you_mean(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _at(config: Path, lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> str:
    for depth in range(len(path), 0, -1):
        if path[:depth] in lines:
            return f"{config}:{lines[path[:depth]]}"
    return str(config)


def _one_line(exc: ValidationError, config: Path | None, lines: dict[tuple[str, ...], int]) -> str:
    error = exc.errors()[0]
    path = tuple(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not path:
        return f"{config or 'settings'}: {message}"
    where = _at(config, lines, path) if config is not None and path in lines else "settings"
    value = error.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{where}: {'.'.join(path)}: {message}{shown}{more}"


def _is_relative_path(db: str) -> bool:
    return db != ":memory:" and "://" not in db and not Path(db).is_absolute()


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
