"""Answer, ask one clarifying question, or route to staff: a pure decision.

No I/O. Inputs are the retrieval results (one per entry, best first) and what
the core already knows about the message and the case; the output says what
to do and why, with the thresholds that decided it so the evidence trail can
show them. A hand-over with a clear owner is a good outcome; a confidently
wrong answer is the worst one, so every doubt leans towards asking or routing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from bot.decision import Decision, Kind, Option, Signals, asdict_thresholds, plausible, route
from bot.estimate import DEFAULT_WEIGHTS, Weights, estimate, features_of, leader
from bot.settings import PolicySettings

DOCS = "docs"


def decide(options: Sequence[Option], signals: Signals, t: PolicySettings,
           weights: Weights = DEFAULT_WEIGHTS, answer_at: float | None = None) -> Decision:
    """The one place that chooses between answering, clarifying and routing.

    Question/answer entries (curated and taught) are weighed by their question
    forms' scores, as ever. Documentation sections, which have one question
    form (their heading path) and passages of text, are weighed by the
    estimate of ``bot.estimate`` over lexical and dense agreement, lead,
    coverage and kind. When both kinds are candidates, the answer with the
    higher estimate of being right wins; a doubt still routes.

    With ``answer_at`` (the probability the calibrated estimate must reach for
    the operator's target wrong rate), options carrying probabilities and
    ``decide_by: calibrated``, the calibrated decision decides instead.
    """
    if signals.sensitive and not signals.human_requested:
        return decide_sensitive(options, signals, t, weights, answer_at)
    if (answer_at is not None and t.decide_by == "calibrated" and options
            and all(o.probability is not None for o in options)):
        return decide_calibrated(options, signals, t, answer_at)
    top = options[0] if options else None
    score = top.score if top else 0.0
    margin = score - options[1].score if len(options) > 1 else score
    if signals.human_requested:
        return route("human_requested", "the asker asked for a person", score, margin)
    docs = [o for o in options if o.kind == DOCS]
    # Entries only the lexical side found take no part in the question-form rules.
    answers = [o for o in options if o.kind != DOCS and not (o.dense_rank is None and o.lexical_rank)]
    if not docs:
        return decide_forms(answers, signals, t)
    from_docs = decide_docs(options, t, weights, social=signals.social, words=signals.words)
    from_forms = decide_forms(answers, signals, t) if answers else None
    if from_forms is not None and from_forms.kind == "answer" and (
            from_docs.kind != "answer" or _form_estimate(from_forms, t) >= (from_docs.estimate or 0.0)):
        return from_forms
    if from_docs.kind == "answer" or from_forms is None or from_forms.kind != "clarify":
        return from_docs
    return from_forms


def decide_sensitive(options: Sequence[Option], signals: Signals, t: PolicySettings,
                     weights: Weights = DEFAULT_WEIGHTS, answer_at: float | None = None) -> Decision:
    """A person handles a sensitive question, unless it only *resembles* a category
    (no cue) and the entry the policy would answer with has been cleared for that
    category: staff answered such a question with it in public. Never a "did you
    mean" on a sensitive question: it answers from a cleared entry or routes."""
    top = options[0] if options else None
    score = top.score if top else 0.0
    margin = score - options[1].score if len(options) > 1 else score
    category = signals.sensitive
    if signals.sensitive_clearable and any(category in o.cleared for o in options):
        inner = decide(options, replace(signals, sensitive=None, sensitive_clearable=False), t, weights,
                       answer_at)
        chosen = next((o for o in options if o.entry == inner.entry), None)
        if inner.kind == "answer" and chosen is not None and category in chosen.cleared:
            return replace(inner, why=f"{inner.why}; it resembles {category}, but staff answered such "
                                      f"a question with {chosen.entry} in public")
    return route("sensitive", f"sensitive ({category}): a person should handle it", score, margin)


def _form_estimate(decision: Decision, t: PolicySettings) -> float:
    """A question-form answer's rule, read as an estimate comparable with the docs
    estimate: exactly the docs target at its answer threshold and margin, more above."""
    z = 12.0 * (decision.confidence - t.answer_threshold) + 6.0 * (decision.margin - t.answer_margin)
    base = math.log(t.docs_answer_estimate / (1.0 - t.docs_answer_estimate))
    return 1.0 / (1.0 + math.exp(-(base + z)))


def decide_docs(options: Sequence[Option], t: PolicySettings, weights: Weights = DEFAULT_WEIGHTS,
                *, social: bool = False, words: int = 0) -> Decision:
    """Answer from the leading documentation section when the estimate of its
    being right reaches ``docs_answer_estimate``; otherwise hand over. Thanks
    or a greeting is never stretched into a docs answer."""
    top = leader([o for o in options if o.kind == DOCS])
    found = features_of(top, options, words)
    chance = estimate(found, weights)
    margin = found.lead
    if social:
        return Decision("route", reason="low_confidence", confidence=chance, margin=margin,
                        why="thanks or a greeting, not a question for the docs", features=found,
                        estimate=chance)
    if chance < t.docs_answer_estimate:
        return Decision("route", reason="low_confidence", confidence=chance, margin=margin,
                        why=f"the docs do not clearly cover it (best {top.entry}: estimate {chance:.2f})",
                        features=found, estimate=chance)
    if top.stale:
        return Decision("route", reason="stale", confidence=chance, margin=margin,
                        why=f"the best entry {top.entry} is past its review date", features=found,
                        estimate=chance)
    close = {o.entry for o in options if o is not top and top.score - o.score <= t.clarify_band}
    if close.intersection(top.conflicts_with):
        return Decision("route", reason="conflict", confidence=chance, margin=margin,
                        why=f"{top.entry} conflicts with a close entry", features=found, estimate=chance)
    why = "the docs section leads by meaning and by words" if found.agree else "the docs section leads clearly"
    return Decision("answer", entry=top.entry, confidence=chance, margin=margin, why=why, features=found,
                    estimate=chance)


def decide_forms(options: Sequence[Option], signals: Signals, t: PolicySettings) -> Decision:
    """Question/answer entries: the best one by its question forms' scores, or, where
    those rules doubt it, by the calibrated estimate that it is right (``likely``)."""
    ruled = by_forms(options, signals, t)
    if ruled.kind == "answer":
        return ruled
    return likely(options, ruled, t) or confirm(options, signals, ruled, t) or ruled


def likely(options: Sequence[Option], ruled: Decision, t: PolicySettings) -> Decision | None:
    """An answer the cosine rules doubted, when the calibrated estimate that the best
    entry is right reaches ``likely_at`` and the question is near the way people ask
    that entry as a whole (its centroid at ``likely_centroid``, ``likely_lead`` ahead of
    every other entry's). The estimate learns from this space's own outcomes (staff
    answers, picks, Solved); the centroid guard keeps a question about something the
    knowledge does not cover, which the estimate alone can rate high, with a person.
    ``None``: the rules' decision stands."""
    found = likely_leader(options, t, at=t.likely_at, centroid=t.likely_centroid, lead=t.likely_lead)
    if found is None:
        return None
    top, lead = found
    return Decision("answer", entry=top.entry, confidence=top.score, margin=ruled.margin,
                    why=f"likely right: estimate {top.probability or 0.0:.3f} ≥ {t.likely_at:.2f}, the question "
                        f"{top.centroid or 0.0:.2f} from the way people ask it, {lead:.2f} ahead of any other "
                        f"entry's (the cosine rules alone: {ruled.why})")


def confirm(options: Sequence[Option], signals: Signals, ruled: Decision, t: PolicySettings) -> Decision | None:
    """"Did you mean X?" for a question the cosine rules would hand over, when the
    calibrated estimate that the best entry is right reaches ``confirm_at`` and the
    question is ``confirm_centroid`` from the way people ask that entry, nearer it than
    any other entry's: asking costs the asker one reply, a hand-over costs them a wait.
    Never below the floors of every "did you mean". Its reason is "likely": a "yes"
    teaches the question as staff answering it would. ``None``: the rules' decision stands."""
    if (ruled.kind != "route" or ruled.reason != "low_confidence" or not options
            or not plausible(options[0].score, t) or options[0].score < t.option_floor
            or signals.clarifications >= t.max_clarifications or signals.options_refused):
        return None
    found = likely_leader(options, t, at=t.confirm_at, centroid=t.confirm_centroid, lead=0.0)
    if found is None:
        return None
    top = found[0]
    return Decision("clarify", reason="likely", options=(top.entry,), confidence=top.score, margin=ruled.margin,
                    why=f"{top.entry} is likely ({top.probability or 0.0:.2f}) but not sure enough to answer: "
                        f"asking to confirm it (the cosine rules alone: {ruled.why})")


def likely_leader(options: Sequence[Option], t: PolicySettings, *, at: float, centroid: float,
                  lead: float) -> tuple[Option, float] | None:
    """The best entry and its centroid's lead, when the calibrated estimate that it is
    right reaches ``at`` (1: never), the question is ``centroid`` from the way people ask
    it and its centroid leads every other entry's by ``lead``; never a held-back, stale
    or conflicting entry (``likely`` answers it, ``confirm`` asks about it)."""
    top = options[0] if options else None
    if (top is None or at >= 1 or top.probability is None or top.probability < at
            or top.held_back or top.stale or top.centroid is None or top.centroid < centroid):
        return None
    ahead = centroid_lead(options)
    close = {o.entry for o in options[1:] if top.score - o.score <= t.clarify_band}
    if ahead is None or ahead < lead or close.intersection(top.conflicts_with):
        return None
    return top, ahead


def by_forms(options: Sequence[Option], signals: Signals, t: PolicySettings) -> Decision:
    """The cosine rules over question forms: answer, clarify or route."""
    top = options[0] if options else None
    score = top.score if top else 0.0
    margin = score - options[1].score if len(options) > 1 else score
    if top is None or not plausible(score, t):
        return route("low_confidence", "nothing in the knowledge base is close enough", score, margin)

    sure = score >= t.sure_threshold and margin >= t.sure_margin
    doubt: str | None = None
    if sure or leads(options, t):
        close = {o.entry for o in options[1:] if score - o.score <= t.clarify_band}
        if top.held_back:
            return route("low_confidence", top.held_back, score, margin)
        if top.stale:
            return route("stale", f"the best entry {top.entry} is past its review date", score, margin)
        if close.intersection(top.conflicts_with):
            return route("conflict", f"{top.entry} conflicts with a close entry", score, margin)
        doubt = far_for_sure(top, t) if sure else doubted(top, t)
        if doubt is None:
            return Decision("answer", entry=top.entry, confidence=score, margin=margin,
                            why="sure" if sure else why_leading(options, t))

    if signals.clarifications >= t.max_clarifications or signals.options_refused:
        return route("low_confidence", "still unsure after asking once", score, margin)
    choices = [o for o in options
               if score - o.score <= t.clarify_band and o.score >= t.option_floor and not o.stale]
    choices = choices[: t.max_options]
    if len(choices) >= 2:
        return Decision("clarify", options=tuple(o.entry for o in choices), confidence=score,
                        margin=margin, why="several entries are close")
    if doubt is not None:
        return Decision("clarify", options=(top.entry,), confidence=score, margin=margin,
                        why=f"{top.entry} leads, but {doubt}: asking to confirm it")
    return route("low_confidence", "not sure enough to answer or to offer options", score, margin)


def doubted(top: Option, t: PolicySettings) -> str | None:
    """Why an entry that leads every other one may still not be what was asked
    (``None``: no doubt). The lead says the question is nearer this entry than
    any other; these say whether it is near this entry at all: a question
    about something the knowledge does not cover is often nearest an entry on
    a neighbouring topic, near one of its forms, far from the way people ask it
    as a whole."""
    if top.centroid is not None and top.centroid < t.centroid_floor:
        return f"the question is far from the way people ask it ({top.centroid:.2f} < {t.centroid_floor:.2f})"
    agreed = top.second is not None and top.second >= top.score - t.agree_gap
    if not agreed and top.score < t.lone_floor:
        return f"only one of its forms is close ({top.score:.2f} < {t.lone_floor:.2f})"
    return None


def far_for_sure(top: Option, t: PolicySettings) -> str | None:
    """Why a "sure" leader (one form nearly the question) may still not be what
    was asked: the question is far from the way people ask the entry as a whole,
    so the form it matches is a stray one (``sure_centroid_floor``; 0: never)."""
    if top.centroid is not None and top.centroid < t.sure_centroid_floor:
        return (f"only one of its forms is close; the question is far from the way people ask it "
                f"({top.centroid:.2f} < {t.sure_centroid_floor:.2f})")
    return None


def centroid_lead(options: Sequence[Option]) -> float | None:
    """How far the best entry's centroid is ahead of every other entry's (None: not known)."""
    if options[0].centroid is None:
        return None
    others = [o.centroid for o in options[1:] if o.centroid is not None]
    return options[0].centroid - max(others, default=0.0)


def leads(options: Sequence[Option], t: PolicySettings) -> bool:
    """The best entry clearly leads: its centroid ahead of every other entry's by
    ``centroid_lead`` (the question is near the way people ask it as a whole, not
    one stray form) and its best form ahead by ``form_margin``; without
    centroids, its best form ahead by ``answer_margin``."""
    top = options[0]
    lead = centroid_lead(options)
    margin = top.score - options[1].score if len(options) > 1 else top.score
    if lead is not None and t.centroid_lead > 0:
        return top.score >= t.answer_threshold and lead >= t.centroid_lead and margin >= t.form_margin
    agreed = top.second is not None and top.second >= top.score - t.agree_gap
    return top.score >= (t.answer_threshold if agreed else t.lone_threshold) and margin >= t.answer_margin


def why_leading(options: Sequence[Option], t: PolicySettings) -> str:
    lead = centroid_lead(options)
    if lead is not None and t.centroid_lead > 0:
        return f"leads clearly: its forms as a whole {lead:.2f} ahead of any other entry's"
    top = options[0]
    agreed = top.second is not None and top.second >= top.score - t.agree_gap
    return "leads clearly, forms agree" if agreed else "leads clearly on one form"


def decide_calibrated(options: Sequence[Option], signals: Signals, t: PolicySettings,
                      answer_at: float) -> Decision:
    """Answer when the top entry is likely enough to be right; offer two or three
    options when together they are likely and none alone is; else route."""
    top = options[0]
    p = top.probability or 0.0
    margin = top.score - options[1].score if len(options) > 1 else top.score
    if signals.human_requested:
        return route("human_requested", "the asker asked for a person", p, margin)
    if signals.sensitive:
        return route("sensitive", f"sensitive ({signals.sensitive}): a person should handle it", p, margin)
    if p >= answer_at:
        close = {o.entry for o in options[1:] if top.score - o.score <= t.clarify_band}
        if top.held_back:
            return route("low_confidence", top.held_back, p, margin)
        if top.stale:
            return route("stale", f"the best entry {top.entry} is past its review date", p, margin)
        if close.intersection(top.conflicts_with):
            return route("conflict", f"{top.entry} conflicts with a close entry", p, margin)
        return Decision("answer", entry=top.entry, confidence=p, margin=margin,
                        why=f"likely right: {p:.3f} ≥ {answer_at:.3f} for a target of "
                            f"{t.target_wrong_rate:.1%} wrong")
    if signals.clarifications >= t.max_clarifications or signals.options_refused:
        return route("low_confidence", "still unsure after asking once", p, margin)
    usable = [o for o in options if not (o.stale or o.held_back)]
    for n, together in zip((2, 3), top.together, strict=True):
        if n <= min(len(usable), t.max_options) and together >= t.clarify_at and usable[0] is top:
            return Decision("clarify", options=tuple(o.entry for o in usable[:n]), confidence=p, margin=margin,
                            why=f"the first {n} entries are together {together:.2f} likely, none alone enough")
    if top.held_back:
        return route("low_confidence", top.held_back, p, margin)
    return route("low_confidence", f"not likely enough to be right ({p:.3f} < {answer_at:.3f})", p, margin)


__all__ = ["Decision", "Kind", "Option", "Signals", "asdict_thresholds", "by_forms", "confirm", "decide", "decide_calibrated", "decide_docs",
           "decide_forms", "decide_sensitive", "likely", "likely_leader", "plausible", "route"]
