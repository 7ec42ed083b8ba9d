"""The decision, with no I/O: answer, clarify or route, and why."""

from __future__ import annotations

from dataclasses import replace

from bot.policy import Option, Signals, decide
from bot.settings import PolicySettings

T = PolicySettings()


def opt(entry: str, score: float, **kw: object) -> Option:
    """An option whose second question form agrees unless told otherwise."""
    kw.setdefault("second", score - 0.01)
    return Option(entry=entry, score=score, support=kw.pop("support", 3), **kw)  # type: ignore[arg-type]


def test_a_clear_leader_is_answered() -> None:
    decision = decide([opt("a", T.answer_threshold + 0.05), opt("b", 0.3)], Signals(), T)
    assert decision.kind == "answer" and decision.entry == "a"


def test_one_lone_close_form_needs_a_higher_score() -> None:
    between = (T.answer_threshold + T.lone_threshold) / 2
    lone = [opt("a", between, second=None), opt("b", 0.2)]
    assert decide(lone, Signals(), T).kind == "route"
    far_second = [opt("a", between, second=between - T.agree_gap - 0.05), opt("b", 0.2)]
    assert decide(far_second, Signals(), T).kind == "route"
    agreeing = [opt("a", between, second=between - T.agree_gap + 0.01), opt("b", 0.2)]
    assert decide(agreeing, Signals(), T).kind == "answer"
    assert decide([opt("a", T.lone_threshold + 0.01, second=None), opt("b", 0.2)], Signals(), T).kind == "answer"


def test_two_entries_both_nearly_the_question_are_a_close_call_not_a_sure_one() -> None:
    """Fine-grained topics ("card not working" and "virtual card not working") each
    have a form nearly the question: a lead of a few hundredths is not sure."""
    twins = [opt("a", 0.94, centroid=0.85), opt("b", 0.87, centroid=0.84)]
    decision = decide(twins, Signals(), T)
    assert decision.kind == "clarify" and decision.options[:2] == ("a", "b")
    clear = [opt("a", 0.94, centroid=0.85), opt("b", 0.94 - T.sure_margin - 0.01, centroid=0.84)]
    assert decide(clear, Signals(), T).kind == "answer"


def test_a_narrow_lead_is_not_enough_even_when_high() -> None:
    narrow = [opt("a", 0.85), opt("b", 0.85 - T.clarify_band + 0.02)]
    assert decide(narrow, Signals(), T).kind == "clarify"
    very_high = [opt("a", T.sure_threshold + 0.02), opt("b", T.sure_threshold + 0.02 - T.sure_margin - 0.01)]
    assert decide(very_high, Signals(), T).kind == "answer"


def test_nothing_close_routes_for_low_confidence() -> None:
    assert decide([opt("a", T.clarify_floor - 0.01)], Signals(), T).reason == "low_confidence"
    assert decide([], Signals(), T).reason == "low_confidence"


def test_two_close_entries_are_offered_as_options() -> None:
    high = T.answer_threshold + 0.05
    decision = decide([opt("a", high), opt("b", high - T.clarify_band / 2), opt("c", 0.2)], Signals(), T)
    assert decision.kind == "clarify" and decision.options == ("a", "b")


def test_implausible_options_are_not_offered() -> None:
    low = T.clarify_floor + 0.01
    decision = decide([opt("a", low, second=None), opt("b", T.option_floor - 0.02)], Signals(), T)
    assert decision.kind == "route"


def test_options_never_exceed_the_maximum() -> None:
    close = [opt(str(i), T.answer_threshold - 0.001 * i) for i in range(8)]
    decision = decide(close, Signals(), T)
    assert decision.kind == "clarify" and len(decision.options) == T.max_options


def test_asking_once_is_enough() -> None:
    high = T.answer_threshold + 0.05
    options = [opt("a", high), opt("b", high - 0.01)]
    assert decide(options, Signals(clarifications=1), T).kind == "route"
    assert decide(options, Signals(options_refused=True), T).kind == "route"


def test_a_person_requested_routes_even_when_sure() -> None:
    decision = decide([opt("a", 0.99)], Signals(human_requested=True), T)
    assert decision.kind == "route" and decision.reason == "human_requested"


def test_sensitive_routes_even_when_sure() -> None:
    decision = decide([opt("a", 0.99)], Signals(sensitive="billing_dispute"), T)
    assert decision.reason == "sensitive"


def test_a_look_alike_of_a_sensitive_question_is_answered_only_from_an_entry_cleared_for_it() -> None:
    looks = Signals(sensitive="billing_dispute", sensitive_clearable=True)
    clear = [opt("a", 0.99, cleared=("billing_dispute",)), opt("b", 0.3)]
    decision = decide(clear, looks, T)
    assert decision.kind == "answer" and decision.entry == "a" and "resembles billing_dispute" in decision.why
    # cleared for another category, or not cleared at all: a person
    assert decide([opt("a", 0.99, cleared=("personal_data",))], looks, T).reason == "sensitive"
    assert decide([opt("a", 0.99), opt("b", 0.3)], looks, T).reason == "sensitive"
    # a cue (not clearable) or a request for a person: a person, whatever was cleared
    assert decide(clear, Signals(sensitive="billing_dispute"), T).reason == "sensitive"
    assert decide(clear, replace(looks, human_requested=True), T).reason == "human_requested"


def test_a_sensitive_look_alike_is_never_asked_did_you_mean() -> None:
    looks = Signals(sensitive="billing_dispute", sensitive_clearable=True)
    high = T.answer_threshold + 0.05
    close = [opt("a", high, cleared=("billing_dispute",)), opt("b", high - 0.01, cleared=("billing_dispute",))]
    assert decide(close, Signals(), T).kind == "clarify"
    assert decide(close, looks, T).reason == "sensitive"
    # the policy would answer with an entry that is not the cleared one: a person
    other = [opt("a", 0.99), opt("b", 0.3, cleared=("billing_dispute",))]
    assert decide(other, looks, T).reason == "sensitive"


def test_stale_best_entry_routes() -> None:
    assert decide([opt("a", 0.95, stale=True)], Signals(), T).reason == "stale"


def test_a_conflicting_close_pair_routes() -> None:
    options = [opt("a", 0.95, conflicts_with=("b",)), opt("b", 0.95 - T.sure_margin - 0.01)]  # close, though sure
    assert decide(options, Signals(), T).reason == "conflict"
    far = [opt("a", 0.95, conflicts_with=("b",)), opt("b", 0.95 - T.clarify_band - 0.2)]
    assert decide(far, Signals(), T).kind == "answer"


def test_asking_for_a_commitment_alone_does_not_route() -> None:
    # Only a reply that would promise something is held back, and that check
    # needs the reply's text (bot/flows/deciding.py), not the question.
    assert decide([opt("a", 0.95)], Signals(wants_commitment=True), T).kind == "answer"


def test_evidence_names_the_thresholds_used() -> None:
    evidence = decide([opt("a", 0.95)], Signals(), T).evidence(T)
    assert evidence["thresholds"]["answer_threshold"] == T.answer_threshold  # type: ignore[index]
    assert evidence["decision"] == "answer"


def test_the_centroids_lead_decides_when_the_index_knows_them() -> None:
    """A question near one stray form of an entry, but no nearer the way people
    ask that entry as a whole than another entry, is not answered on its score."""
    score = T.answer_threshold + 0.10
    near_as_a_whole = [opt("a", score, centroid=0.70), opt("b", score - 0.2, centroid=0.70 - T.centroid_lead - 0.01)]
    decision = decide(near_as_a_whole, Signals(), T)
    assert decision.kind == "answer" and decision.entry == "a" and "as a whole" in decision.why
    stray_form = [opt("a", score, centroid=0.55), opt("b", score - 0.2, centroid=0.50)]
    assert decide(stray_form, Signals(), T).kind == "route"
    # the old form rule would answer both (a 0.2 lead, a second form agreeing)
    assert decide([replace(o, centroid=None) for o in stray_form], Signals(), T).kind == "answer"


def test_a_centroid_lead_needs_the_best_form_to_lead_too() -> None:
    score = T.answer_threshold + 0.10
    tied_forms = [opt("a", score, centroid=0.80), opt("b", score - T.form_margin / 2, centroid=0.50)]
    assert decide(tied_forms, Signals(), T).kind == "clarify"
    low = [opt("a", T.answer_threshold - 0.01, centroid=0.80), opt("b", 0.3, centroid=0.30)]
    assert decide(low, Signals(), T).kind != "answer"


def test_a_centroid_lead_of_zero_turns_the_form_rule_back_on() -> None:
    score = T.answer_threshold + 0.10
    stray_form = [opt("a", score, centroid=0.55), opt("b", score - 0.2, centroid=0.50)]
    assert decide(stray_form, Signals(), T.model_copy(update={"centroid_lead": 0.0})).kind == "answer"


def test_a_leader_far_from_the_way_people_ask_it_is_offered_alone_to_confirm() -> None:
    """The best entry leads every other one, but the question is far from its
    forms as a whole (a topic next door that the knowledge does not cover):
    the asker is asked "did you mean" with that one entry, not answered."""
    score = T.answer_threshold + 0.10
    far = [opt("a", score, centroid=T.centroid_floor - 0.02), opt("b", 0.3, centroid=0.1)]
    decision = decide(far, Signals(), T)
    assert decision.kind == "clarify" and decision.options == ("a",) and "confirm" in decision.why
    near = [opt("a", score, centroid=T.centroid_floor + 0.02), opt("b", 0.3, centroid=0.1)]
    assert decide(near, Signals(), T).kind == "answer"
    # asked once already: no second question, it goes to staff
    assert decide(far, Signals(clarifications=1), T).kind == "route"
    # a sure answer needs less from the entry as a whole: between the two floors it is answered
    assert T.sure_centroid_floor < T.centroid_floor
    between = (T.sure_centroid_floor + T.centroid_floor) / 2
    sure = [opt("a", T.sure_threshold + 0.02, centroid=between), opt("b", 0.3, centroid=0.1)]
    assert decide(sure, Signals(), T).kind == "answer"


def test_a_lone_close_form_below_the_lone_floor_is_offered_alone() -> None:
    t = T.model_copy(update={"lone_floor": 0.70})
    lone = [opt("a", 0.68, second=None, centroid=0.68), opt("b", 0.3, centroid=0.1)]
    decision = decide(lone, Signals(), t)
    assert decision.kind == "clarify" and decision.options == ("a",)
    assert decide(lone, Signals(), T).kind == "answer"  # no floor by default
    agreeing = [opt("a", 0.68, centroid=0.68), opt("b", 0.3, centroid=0.1)]
    assert decide(agreeing, Signals(), t).kind == "answer"


def test_a_doubted_leader_with_close_rivals_offers_them_all() -> None:
    score = T.answer_threshold + 0.10
    doubted = [opt("a", score, centroid=T.centroid_floor - 0.1), opt("b", score - 0.06, centroid=0.2),
               opt("c", 0.2, centroid=0.1)]
    decision = decide(doubted, Signals(), T)
    assert decision.kind == "clarify" and decision.options == ("a", "b")


def test_a_sure_match_to_one_stray_form_is_confirmed_not_answered() -> None:
    """One form is nearly the question (a "sure" score), but the question is far
    from the way people ask that entry as a whole: the form is a stray one (a
    mislabelled example, an odd taught question), and a question about something
    the knowledge does not cover can match it word for word. The asker is asked
    to confirm that one entry; a sure match near the entry as a whole is answered."""
    t = T  # the default floor
    below, above = T.sure_centroid_floor - 0.05, T.sure_centroid_floor + 0.02
    stray = [opt("a", T.sure_threshold + 0.01, second=0.33, centroid=below), opt("b", 0.56, centroid=0.30)]
    decision = decide(stray, Signals(), t)
    assert decision.kind == "clarify" and decision.options == ("a",) and "far from the way people ask" in decision.why
    near = [opt("a", T.sure_threshold + 0.01, second=0.33, centroid=above), opt("b", 0.56, centroid=0.30)]
    assert decide(near, Signals(), t).kind == "answer"
    # no centroid known (an index without them): sure stays sure
    assert decide([replace(o, centroid=None) for o in stray], Signals(), t).kind == "answer"
    # asked once already: it goes to staff, it is not answered
    assert decide(stray, Signals(clarifications=1), t).kind == "route"
    # 0 turns the floor off
    assert decide(stray, Signals(), T.model_copy(update={"sure_centroid_floor": 0.0})).kind == "answer"


def test_what_the_cosine_rules_doubt_is_answered_when_this_space_has_learned_it_is_likely_right() -> None:
    """A best form just under the answer threshold: the cosine rules hand it over.
    When the estimate learned from this space's outcomes puts it at ``likely_at``
    and the question is near the way people ask that entry as a whole, it is
    answered, and the evidence says why and what the rules alone would have done."""
    score = T.answer_threshold - 0.02
    near = T.likely_centroid + 0.05
    doubted = [opt("a", score, centroid=near), opt("b", score - 0.2, centroid=near - T.likely_lead - 0.01)]
    assert decide(doubted, Signals(), T).kind == "route"  # no estimate yet: the rules decide
    likely = [replace(doubted[0], probability=T.likely_at + 0.01), replace(doubted[1], probability=0.01)]
    decision = decide(likely, Signals(), T)
    assert decision.kind == "answer" and decision.entry == "a"
    assert decision.why.startswith("likely right") and "the cosine rules alone" in decision.why
    assert decide(likely, Signals(), T.model_copy(update={"likely_at": 1.0, "confirm_at": 1.0})).kind == "route"


def test_a_likely_entry_is_not_answered_far_from_the_way_people_ask_it_or_without_a_lead() -> None:
    """The estimate can rate a question about something the knowledge does not
    cover high; the entry's centroid keeps that one with a person."""
    p = T.likely_at + 0.02
    score = T.answer_threshold - 0.02
    far = [opt("a", score, centroid=T.likely_centroid - 0.01, probability=p),
           opt("b", score - 0.2, centroid=0.3, probability=0.0)]
    assert decide(far, Signals(), T).kind != "answer"
    no_lead = [opt("a", score, centroid=0.80, probability=p),
               opt("b", score - 0.2, centroid=0.80 - T.likely_lead / 2, probability=0.0)]
    assert decide(no_lead, Signals(), T).kind != "answer"
    unlikely = [opt("a", score, centroid=0.80, probability=T.likely_at - 0.01),
                opt("b", score - 0.2, centroid=0.40, probability=0.0)]
    assert decide(unlikely, Signals(), T).kind != "answer"


def test_a_likely_entry_held_back_stale_or_in_conflict_still_goes_to_staff() -> None:
    p = T.likely_at + 0.02
    score = T.answer_threshold - 0.02
    base = [opt("a", score, centroid=0.80, probability=p), opt("b", score - 0.1, centroid=0.50, probability=0.0)]
    assert decide(base, Signals(), T).kind == "answer"
    for held_or_stale in ({"held_back": "a is held back: 3 of its 5 answers met Not solved"}, {"stale": True}):
        assert decide([replace(base[0], **held_or_stale), base[1]], Signals(), T).kind != "answer"  # type: ignore[arg-type]
    conflict = [replace(base[0], conflicts_with=("b",)), base[1]]
    assert decide(conflict, Signals(), T).kind != "answer"
    # a person asked for, or a sensitive question, is never answered on the estimate
    assert decide(base, Signals(human_requested=True), T).kind == "route"
    assert decide(base, Signals(sensitive="account_access"), T).kind == "route"


def test_a_likely_entry_the_rules_would_hand_over_is_offered_to_confirm() -> None:
    """Below the answering rules and below ``likely_at``, but the estimate learned
    from this space puts the best entry at ``confirm_at`` and the question is near
    the way people ask it: "did you mean X?" costs the asker one reply, where a
    hand-over costs them a wait. Without that estimate, far from the entry, nearer
    another entry's centroid, held back, stale, or asked once already: staff."""
    score = T.answer_threshold - 0.05
    base = [opt("a", score, centroid=T.confirm_centroid + 0.02, probability=T.confirm_at + 0.01),
            opt("b", score - T.clarify_band - 0.05, centroid=T.confirm_centroid - 0.1, probability=0.01)]
    decision = decide(base, Signals(), T)
    assert decision.kind == "clarify" and decision.options == ("a",) and decision.reason == "likely"
    assert "asking to confirm" in decision.why and "the cosine rules alone" in decision.why

    unsure = [replace(base[0], probability=T.confirm_at - 0.01), base[1]]
    far = [replace(base[0], centroid=T.confirm_centroid - 0.01), base[1]]
    nearer_other = [base[0], replace(base[1], centroid=T.confirm_centroid + 0.05)]
    no_estimate = [replace(o, probability=None) for o in base]
    for handed_over in (unsure, far, nearer_other, no_estimate):
        assert decide(handed_over, Signals(), T).kind == "route"
    for held_or_stale in ({"held_back": "a is held back: 3 of its 5 answers met Not solved"}, {"stale": True}):
        assert decide([replace(base[0], **held_or_stale), base[1]], Signals(), T).kind == "route"  # type: ignore[arg-type]
    assert decide(base, Signals(clarifications=1), T).kind == "route"
    assert decide(base, Signals(options_refused=True), T).kind == "route"
    assert decide(base, Signals(), T.model_copy(update={"confirm_at": 1.0})).kind == "route"  # 1: never
    # nothing is offered below the floors of every "did you mean", however likely
    faint = [replace(base[0], score=T.clarify_floor - 0.01, second=None), base[1]]
    assert decide(faint, Signals(), T).kind == "route"
    # a hand-over for another reason than doubt stands: a conflict with a close entry
    close = replace(base[1], score=score - 0.02, probability=0.01)
    conflict = decide([replace(base[0], conflicts_with=("b",)), close], Signals(), T)
    assert conflict.kind != "clarify" or conflict.options != ("a",)
