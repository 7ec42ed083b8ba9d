"""The decision on documentation evidence, with no I/O: a docs section that
leads by meaning and by words is answered though it has one question form;
a question the docs do not cover is handed over, not stretched to fit."""

from __future__ import annotations

from dataclasses import replace

from bot.estimate import Features, estimate, family, features_of, leader
from bot.policy import Option, Signals, decide
from bot.settings import PolicySettings

T = PolicySettings()
PAGE = "docs/troubleshooting.md#Troubleshooting"


def doc(entry: str, score: float, *, dense: int, lexical: int | None, bm25: float = 10.0,
        coverage: float = 0.5, section: str | None = None) -> Option:
    fused = (1 / (60 + dense)) + (1 / (60 + lexical) if lexical else 0.0)
    return Option(entry=entry, score=score, support=1, second=None, kind="docs",
                  section=section or f"{PAGE} > {entry}", dense_rank=dense, lexical_rank=lexical,
                  lexical_score=bm25, coverage=coverage, fused=fused)


def test_a_section_first_by_meaning_and_by_words_is_answered_on_its_one_form() -> None:
    options = [doc("consumer-fails", 0.70, dense=1, lexical=1, bm25=35.0, coverage=0.7),
               doc("ghostscript", 0.52, dense=2, lexical=3, bm25=11.6, coverage=0.12),
               doc("permissions", 0.42, dense=3, lexical=2, bm25=14.4, coverage=0.18)]
    decision = decide(options, Signals(), T)
    assert decision.kind == "answer" and decision.entry == "consumer-fails"
    assert decision.confidence >= T.docs_answer_estimate
    # The same score would never pass the question-form rules on one form.
    assert T.lone_threshold > 0.70


def test_the_features_are_named_and_logged_with_the_decision() -> None:
    options = [doc("a", 0.7, dense=1, lexical=1, bm25=30.0), doc("b", 0.5, dense=2, lexical=2, bm25=10.0)]
    evidence = decide(options, Signals(), T).evidence(T)
    features = evidence["features"]
    assert isinstance(features, dict)
    assert features["agree"] is True and features["kind"] == "docs"
    assert abs(features["lead"] - 0.2) < 1e-6 and abs(features["lexical_lead"] - 3.0) < 1e-6
    assert evidence["estimate"] == evidence["confidence"]
    assert evidence["thresholds"]["docs_answer_estimate"] == T.docs_answer_estimate  # type: ignore[index]


def test_a_neighbouring_section_with_a_small_lead_and_few_words_is_handed_over() -> None:
    # "how do I set up a mail rule …": the nearest section is about something else.
    options = [doc("retagger", 0.43, dense=1, lexical=2, bm25=9.0, coverage=0.18),
               doc("fetching-mail", 0.30, dense=2, lexical=1, bm25=12.1, coverage=0.23)]
    decision = decide(options, Signals(), T)
    assert decision.kind == "route" and decision.reason == "low_confidence"
    assert decision.estimate is not None and decision.estimate < T.docs_answer_estimate


def test_chit_chat_close_to_nothing_is_handed_over() -> None:
    options = [doc("fetching-mail", 0.13, dense=1, lexical=None, bm25=0.0, coverage=0.0)]
    assert decide(options, Signals(), T).kind == "route"


def test_agreement_of_both_rankings_is_worth_more_than_either_alone() -> None:
    base = Features(kind="docs", dense=0.55, lead=0.08, agree=True, dense_rank=1, lexical_rank=1,
                    lexical_lead=1.5, coverage=0.4, forms_agree=False)
    apart = Features(kind="docs", dense=0.55, lead=0.08, agree=False, dense_rank=1, lexical_rank=2,
                     lexical_lead=0.8, coverage=0.4, forms_agree=False)
    assert estimate(base) > estimate(apart)
    # and the estimate rises with each piece of evidence
    assert estimate(Features(**{**base.logged(), "dense": 0.7})) > estimate(base)
    assert estimate(Features(**{**base.logged(), "coverage": 0.7})) > estimate(base)
    assert estimate(Features(**{**base.logged(), "lead": 0.2})) > estimate(base)


def test_a_parent_and_its_subsection_do_not_take_the_lead_from_each_other() -> None:
    parent = f"{PAGE} > Secret key"
    child = f"{parent} > Action required"
    assert family(parent, child) and not family(parent, f"{PAGE} > Secret keys")
    options = [doc("action", 0.59, dense=1, lexical=1, bm25=24.6, coverage=0.33, section=child),
               doc("secret", 0.57, dense=2, lexical=2, bm25=21.9, coverage=0.29, section=parent),
               doc("other", 0.48, dense=3, lexical=3, bm25=14.0, coverage=0.23)]
    found = features_of(options[0], options)
    assert abs(found.lead - 0.11) < 1e-6 and abs(found.lexical_lead - 24.6 / 14.0) < 1e-6


def test_a_taught_answer_and_a_docs_section_are_weighed_by_one_policy() -> None:
    taught = Option(entry="k7", score=0.86, support=3, second=0.84, kind="taught", dense_rank=1, fused=0.03)
    weak_doc = doc("neighbour", 0.50, dense=2, lexical=1, bm25=8.0, coverage=0.2)
    assert decide([taught, weak_doc], Signals(), T).entry == "k7"
    lone = Option(entry="k8", score=0.66, support=1, second=None, kind="curated", dense_rank=2, fused=0.02)
    strong_doc = doc("exact", 0.72, dense=1, lexical=1, bm25=40.0, coverage=0.7)
    decision = decide([strong_doc, lone], Signals(), T)
    assert decision.kind == "answer" and decision.entry == "exact"


def test_question_answer_entries_keep_their_rules_and_ignore_lexical_only_candidates() -> None:
    leader = Option(entry="a", score=0.70, support=3, second=0.69, dense_rank=1, lexical_rank=2, fused=0.03)
    words_only = Option(entry="b", score=0.66, support=0, second=None, dense_rank=None, lexical_rank=1,
                        fused=0.016)
    assert decide([leader, words_only], Signals(), T).entry == "a"
    assert decide([leader], Signals(), T).entry == "a"


def test_thanks_or_a_greeting_is_never_stretched_into_a_docs_answer() -> None:
    from bot.text import is_social

    assert is_social("thanks everyone, finally got hardware transcoding going 🎉")
    assert is_social("good morning folks ☕ happy friday")
    assert not is_social("hi, the consumer fails with Permission denied")
    assert not is_social("thanks, how do I rotate the key?")
    strong = [doc("transcoding", 0.75, dense=1, lexical=1, bm25=30.0, coverage=0.7),
              doc("other", 0.40, dense=2, lexical=2, bm25=5.0)]
    assert decide(strong, Signals(), T).kind == "answer"
    assert decide(strong, Signals(social=True), T).kind == "route"


def test_first_by_words_on_its_parent_section_still_counts_as_agreement() -> None:
    parent = f"{PAGE} > Minimum CPU"
    options = [doc("symptoms", 0.43, dense=1, lexical=2, bm25=30.0, coverage=0.6, section=f"{parent} > Symptoms"),
               doc("cpu", 0.40, dense=3, lexical=1, bm25=33.7, coverage=0.46, section=parent),
               doc("ocr", 0.25, dense=2, lexical=5, bm25=6.1, coverage=0.09)]
    top = max(options, key=lambda o: (o.fused, o.score))
    assert features_of(top, options).agree
    unrelated = [options[0], doc("cpu", 0.40, dense=3, lexical=1, bm25=33.7, section=f"{PAGE} > Other"), options[2]]
    assert not features_of(unrelated[0], unrelated).agree


def test_the_lead_over_other_pages_and_their_agreement_are_features_of_the_leader() -> None:
    here = "docs/setup.md#Setup"
    options = [doc("docker", 0.66, dense=1, lexical=2, bm25=20.0, section=f"{here} > Docker"),
               doc("compose", 0.62, dense=2, lexical=1, bm25=22.0, section=f"{here} > Compose"),
               doc("faq", 0.50, dense=3, lexical=3, bm25=9.0, section="docs/faq.md#FAQ > Docker")]
    found = features_of(options[0], options, words=9)
    assert abs(found.page_lead - 0.16) < 1e-6 and abs(found.lead - 0.04) < 1e-6
    assert found.page_agree and not found.agree  # both rankings lead on its page, not on it
    assert found.words == 9 and found.logged()["page_lead"] == 0.16
    elsewhere = [options[0], doc("compose", 0.62, dense=2, lexical=1, bm25=22.0, section="docs/faq.md#FAQ > Compose")]
    assert not features_of(elsewhere[0], elsewhere).page_agree


def test_of_two_siblings_the_one_whose_heading_names_the_question_leads() -> None:
    # "how do i upgrade ruff that i installed with uv tool install": both sections
    # say "tool" and "upgrade" in their text; one says it in its heading.
    versions = doc("versions", 0.62, dense=1, lexical=1, bm25=18.0, section=f"{PAGE} > Tool versions")
    upgrading = doc("upgrading", 0.60, dense=2, lexical=3, bm25=15.0, section=f"{PAGE} > Upgrading tools")
    assert leader([versions, upgrading]) is versions  # no heading evidence: fusion decides
    named = replace(upgrading, heading_coverage=0.8)
    assert leader([replace(versions, heading_coverage=0.1), named]) is named
    # but never past a section both rankings found while only one found it
    alone = doc("alone", 0.70, dense=1, lexical=None, section=f"{PAGE} > Elsewhere")
    assert leader([replace(alone, heading_coverage=1.0), replace(versions, dense_rank=2)]).entry == "versions"


def test_a_heading_naming_the_question_and_words_the_docs_use_raise_the_estimate() -> None:
    base = Features(kind="docs", dense=0.6, lead=0.08, agree=True, dense_rank=1, lexical_rank=1,
                    lexical_lead=1.5, coverage=0.5, forms_agree=False, words=10)
    assert estimate(replace(base, heading_coverage=0.8)) > estimate(base)
    assert estimate(replace(base, known=0.5)) < estimate(base)  # half its words the docs never use
    assert estimate(replace(base, page_lead=0.2)) > estimate(base)


def test_how_far_its_heading_names_the_question_beyond_other_sections_headings_is_a_feature() -> None:
    # "how do i upgrade a tool installed with uv": "Upgrading tools" names it, "Tool versions" half.
    here = "docs/tools.md#Tools"
    upgrading = replace(doc("upgrading", 0.62, dense=1, lexical=1, section=f"{here} > Upgrading tools"),
                        heading_coverage=0.8, form_score=0.60)
    # its own subsection names the question better still, and does not count against it
    pipx = replace(doc("pipx", 0.61, dense=2, lexical=2, section=f"{here} > Upgrading tools > From pipx"),
                   heading_coverage=0.9, form_score=0.70)
    versions = replace(doc("versions", 0.58, dense=3, lexical=3, section=f"{here} > Tool versions"),
                       heading_coverage=0.3, form_score=0.52)
    found = features_of(upgrading, [upgrading, pipx, versions])
    assert abs(found.heading_lead - 0.5) < 1e-6 and abs(found.heading_dense_lead - 0.08) < 1e-6
    assert found.logged()["heading_lead"] == 0.5
    named_too = replace(versions, heading_coverage=0.8, form_score=0.65)
    level = features_of(upgrading, [upgrading, pipx, named_too])
    assert level.heading_lead == 0.0 and level.heading_dense_lead < 0
    assert estimate(found) > estimate(level)
    # a heading path not near at all (no cosine to it came back) leads nothing
    unseen = replace(upgrading, form_score=None)
    assert features_of(unseen, [unseen, versions]).heading_dense_lead == -0.52


def test_a_heading_that_names_the_question_more_than_any_other_raises_the_estimate() -> None:
    base = Features(kind="docs", dense=0.6, lead=0.08, agree=True, dense_rank=1, lexical_rank=1,
                    lexical_lead=1.5, coverage=0.5, forms_agree=False, heading_coverage=0.5, words=10)
    assert estimate(replace(base, heading_lead=0.5)) > estimate(base) > estimate(replace(base, heading_lead=-0.5))
    assert estimate(replace(base, heading_dense_lead=0.1)) > estimate(base)
    # a lead by meaning beyond LEAD_CAP says nothing more
    assert estimate(replace(base, heading_dense_lead=0.9)) == estimate(replace(base, heading_dense_lead=0.25))
