"""The core's side of the learning loop (``learning.loop``): building the
learner from settings, running adaptation when it falls due, and adopting a
new model (embedder, sensitive examples, indexes, waiting cases' vectors)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bot.events import Event, Message, Tick
from bot.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from learning.adapt import AdaptConfig
from learning.loop import Learner, LoopConfig
from learning.models import ModelFiles
from learning.rule import FormRule
from storage.models import LearningRows
from storage.sql import Sql

if TYPE_CHECKING:
    from bot.core import Core

logger = logging.getLogger(__name__)


def loop_config(settings: Settings) -> LoopConfig:
    learning, policy = settings.learning, settings.policy
    return LoopConfig(
        adapt=AdaptConfig(steps=learning.steps, batch=learning.batch, lr=learning.learning_rate,
                          held_out_share=learning.held_out_share, target=policy.target_wrong_rate,
                          answer_floor=learning.answer_floor, prior_strength=learning.prior_strength,
                          threads=learning.threads, rule=form_rule(settings),
                          steps_per_pair=learning.steps_per_pair, max_steps=learning.max_steps,
                          judge_picks=learning.judge_picks),
        every_lessons=learning.every_lessons, every_hours=learning.every_hours,
        first_lessons=learning.first_lessons,
        min_lessons=learning.min_lessons, embed_threads=settings.embed_threads,
        survival_min_answers=learning.survival_min_answers,
        survival_threshold=learning.survival_threshold,
    )


def form_rule(settings: Settings) -> FormRule | None:
    """The thresholds a candidate model is judged by when the space decides by them
    (``None``: by the calibrated estimate, as the decision is then made)."""
    policy = settings.policy
    if policy.decide_by != "thresholds" or policy.centroid_lead <= 0:
        return None
    return FormRule(answer_threshold=policy.answer_threshold, centroid_lead=policy.centroid_lead,
                    form_margin=policy.form_margin, centroid_floor=policy.centroid_floor,
                    sure_threshold=policy.sure_threshold, sure_margin=policy.sure_margin,
                    lone_floor=policy.lone_floor, agree_gap=policy.agree_gap,
                    sure_centroid_floor=policy.sure_centroid_floor)


def make_learner(settings: Settings, db: Sql, kb: KnowledgeBase) -> Learner:
    files = ModelFiles(settings.db, settings.learning.models_dir)
    return Learner(store=LearningRows(db), kb=kb, files=files, config=loop_config(settings))


def _may_have_taught(event: Event) -> bool:
    """New questions teach nothing; staff replies, follow-ups, feedback and time may."""
    return isinstance(event, Tick) or not (isinstance(event, Message) and event.thread is None)


async def learn_after(core: Core, event: Event) -> None:
    learner: Learner | None = core.learner
    if learner is None or not _may_have_taught(event):
        return
    try:
        await learner.recalibrate_due(event.at)
        if not core.settings.learning.adapt or not await learner.due(event.at):
            return
        if not core.settings.learning.background:
            await learner.adapt(event.at, core.adopt)
            return
        if core._adapting is not None and not core._adapting.done():
            return
        core._adapting = asyncio.create_task(_in_background(core, learner, event), name="journeybot-adapt")
    except Exception:
        logger.exception("the learning loop failed after event %s; the current model keeps answering", event.id)


async def _in_background(core: Core, learner: Learner, event: Event) -> None:
    try:
        await learner.adapt(event.at, core.adopt, lock=core._lock)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("adapting the encoder failed; the current model keeps answering")


async def adopt(core: Core, embedder: CachedEmbedder) -> None:
    """Called with the store already swapped: the process follows. The sensitive
    detector stays on the model it has (its threshold is a cosine measured with
    the bundled model; ``bot.trust.sensitive``): it embeds a question itself
    when the answering model is another."""
    await reembed_waiting_cases(core, embedder)
    core.services = replace(core.services, embedder=embedder)
    core.kb.embedder = embedder
    await core.kb.reload()
    logger.info("now answering with %s", embedder.name)


async def reembed_waiting_cases(core: Core, embedder: CachedEmbedder) -> None:
    """Routed cases keep their question's vector for the fan-out of a later staff
    answer; it must come from the model that answers."""
    waiting = await core.cases.with_status(None, "routed")
    if not waiting:
        return
    vectors = await asyncio.to_thread(embedder.encode, [c.question for c in waiting])
    async with core.db.transaction():
        await core.cases.set_vectors([(c.space, c.key, np.asarray(v, np.float32))
                                      for c, v in zip(waiting, vectors, strict=True)])
