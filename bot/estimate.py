"""How likely is the leading candidate to be the right answer? Named retrieval
features in, a conservative estimate out. Pure: no I/O.

The features are the evidence a person would weigh: how close the question
is in meaning (``dense``), whether the best match by meaning is also the
best match by words (``agree``), how far it leads every candidate outside
its own section family (``lead``, ``lexical_lead``), how much of what was
asked its text contains (``coverage``), whether a second way of asking it
agrees (``forms_agree``), what kind of source it is and how old. They are
logged with every decision (``Decision.features``) so a calibration can be
learned per space later on exactly these.

``estimate`` is a logistic function of them. Its weights were first set by
hand from the retrieval behaviour of several projects' docs (a question the
docs answer usually leads by meaning and by words at once; one they do not
cover lands on a neighbouring section with a small lead and few of its
words), then fitted across projects starting from those (``Weights``).
Beside them: the lead over every other *page*, whether both rankings lead
on its page, how much of the question its heading path names, how many of
the question's words the docs use at all (a question in words they never
use is about something else), the best passage's closeness, the
question's length (a long question's cosine means more than a short one's),
and how far its heading path names the question beyond every other section's
outside its family, in words and in meaning (of two sections that both say
the question's words, the one whose heading names it is the one asked about;
a question that lands on a section no heading names is often one the docs do
not cover).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.decision import Option


@dataclass(frozen=True, slots=True)
class Features:
    """The leading candidate's standing, in named features."""

    kind: str  # docs | curated | taught
    dense: float  # best cosine to a question form or passage
    lead: float  # dense lead over the best candidate outside its own section family
    agree: bool  # first by meaning and first by words (itself, or its parent or subsection)
    dense_rank: int | None
    lexical_rank: int | None
    lexical_lead: float  # its BM25 over the best other candidate's (1.0 = level)
    coverage: float  # share of the question's informative words it contains (IDF-weighted)
    forms_agree: bool  # a second question form is near too
    age_days: float | None = None
    page_lead: float = 0.0  # dense lead over the best candidate on another page
    page_agree: bool = False  # first by meaning and first by words are both on its page
    heading_coverage: float = 0.0  # share of the question's informative words in its heading path
    known: float = 1.0  # share of the question's words the docs use at all
    passage: float | None = None  # best cosine to one of its passages
    words: int = 0  # the question's length in words (0: not known)
    heading_lead: float = 0.0  # heading_coverage over the best candidate's outside its section family
    heading_dense_lead: float = 0.0  # cosine to its heading path over the best such candidate's

    def logged(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


LEAD_CAP = 0.25  # a lead beyond this says nothing more
LEXICAL_CLIP = 4.0  # a BM25 ratio is read between 1/4 and 4
TYPICAL_WORDS = 12  # ``words`` counts from a question of this length (log scale)


def terms_of(f: Features) -> dict[str, float]:
    """The estimate's inputs, one number per named term (centred where that
    makes a weight readable: ``dense`` counts from a cosine of 0.5)."""
    return {
        "agree": float(f.agree),
        "dense": f.dense - 0.5,
        "lead": min(f.lead, LEAD_CAP),
        "coverage": f.coverage - 0.3,
        "lexical_lead": math.log(min(max(f.lexical_lead, 1 / LEXICAL_CLIP), LEXICAL_CLIP)),
        "forms_agree": float(f.forms_agree),
        "page_lead": min(f.page_lead, LEAD_CAP),
        "page_agree": float(f.page_agree),
        "heading_coverage": f.heading_coverage,
        "known": f.known - 1.0,
        "passage": (f.dense if f.passage is None else f.passage) - 0.5,
        "words": math.log(max(f.words, 1) / TYPICAL_WORDS) if f.words else 0.0,
        "heading_lead": f.heading_lead,
        "heading_dense_lead": max(-LEAD_CAP, min(f.heading_dense_lead, LEAD_CAP)),
    }


@dataclass(frozen=True, slots=True)
class Weights:
    """The estimate's coefficients: log-odds per unit of each term of ``terms_of``.

    Fitted by ``python bench/docs_fit.py --sets /work/docs-eval/sets --adapt-steps 200``
    on eleven projects' docs, each retrieved with the model adapted to its own
    docs as ``kb import`` leaves it (``learning.docs``; 233 questions written
    before the bot saw them; docs-dev kept out as the check), starting from the hand-set weights
    (``bench/docs_model.PRIOR``). ``passage`` and ``page_agree`` come out
    negative beside ``dense`` and ``agree``, which they mostly repeat: a
    section near by its text rather than its heading, or first on its page
    rather than itself, is a little less often the one asked about.
    ``heading_lead`` and ``heading_dense_lead`` (round 5) were fitted the same
    way on the same retrieval (``--cache /work/docs-eval/cache-r4a``): held out
    one project at a time they answer 78 of 167 right at 4 of 233 wrong, where
    the weights without them answered 63 at 4.
    """

    bias: float = -1.6999
    agree: float = 1.5539
    dense: float = 8.8699
    lead: float = 3.9333
    coverage: float = 2.0283
    lexical_lead: float = 0.8049
    forms_agree: float = 0.5
    page_lead: float = 0.8117
    page_agree: float = -1.2485
    heading_coverage: float = 1.4067
    known: float = 2.4937
    passage: float = -1.1565
    words: float = 0.7045
    heading_lead: float = 1.2504
    heading_dense_lead: float = 1.4932

    def of(self, term: str) -> float:
        return float(getattr(self, term))


DEFAULT_WEIGHTS = Weights()


def family(a: str | None, b: str | None) -> bool:
    """Two sections of one page where one encloses the other (a parent and its
    subsection): a question that lands between them is still on that topic."""
    if not a or not b or "#" not in a or "#" not in b:
        return False
    file_a, path_a = a.split("#", 1)
    file_b, path_b = b.split("#", 1)
    return file_a == file_b and (path_a.startswith(path_b + " > ") or path_b.startswith(path_a + " > "))


def page_of(section: str | None) -> str:
    return (section or "").split("#", 1)[0]


def features_of(top: Option, options: Sequence[Option], words: int = 0) -> Features:
    """The leading candidate's features among all of a question's candidates
    (``words``: the question's length, 0 when not known)."""
    others = [o for o in options if o is not top and not family(o.section, top.section)]
    lead = top.score - max((o.score for o in others), default=0.0)
    elsewhere = [o.score for o in options if page_of(o.section) != page_of(top.section)]
    best_other_bm25 = max((o.lexical_score for o in others if o.lexical_rank is not None), default=0.0)
    if top.lexical_rank is None:
        lexical_lead = 0.25
    elif best_other_bm25 <= 0:
        lexical_lead = 4.0
    else:
        lexical_lead = top.lexical_score / best_other_bm25
    first_dense = next((o for o in options if o.dense_rank == 1), None)
    first_words = next((o for o in options if o.lexical_rank == 1), None)

    def ours(first: Option | None) -> bool:  # first is the leader itself or its parent/subsection
        return first is not None and (first is top or family(first.section, top.section))

    heading_cosine = [o.form_score or 0.0 for o in others]  # None: its heading path was not near at all
    on_page = (first_dense is not None and first_words is not None
               and page_of(first_dense.section) == page_of(top.section) == page_of(first_words.section))
    return Features(
        kind=top.kind, dense=top.score, lead=lead,
        agree=ours(first_dense) and ours(first_words),
        dense_rank=top.dense_rank, lexical_rank=top.lexical_rank, lexical_lead=lexical_lead,
        coverage=top.coverage, forms_agree=top.second is not None, age_days=top.age_days,
        page_lead=top.score - max(elsewhere, default=0.0), page_agree=on_page,
        heading_coverage=top.heading_coverage, known=top.known, passage=top.passage_score, words=words,
        heading_lead=top.heading_coverage - max((o.heading_coverage for o in others), default=0.0),
        heading_dense_lead=(top.form_score or 0.0) - max(heading_cosine, default=0.0),
    )


def estimate(f: Features, w: Weights = DEFAULT_WEIGHTS) -> float:
    """The chance that answering with this candidate is right, 0..1."""
    z = w.bias + sum(w.of(term) * value for term, value in terms_of(f).items())
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# How much a heading path that holds the question's words counts when the
# leader is chosen: a heading holding all of them moves a section about eight
# places up one ranking (1/61 - 1/62 is one place at the top), never past a
# section both rankings found while it was found by one only (1/60 apart).
HEADING_PULL = 0.002


def leader(options: Sequence[Option]) -> Option:
    """The candidate both rankings put first, by reciprocal-rank fusion, its
    heading path holding the question's words pulling it up (ties: by meaning).
    Siblings on one page often share the question's words in their text; the
    one whose heading names what was asked ("Upgrading tools" for "how do I
    upgrade a tool") is the one that answers it."""
    return max(options, key=lambda o: (o.fused + HEADING_PULL * o.heading_coverage, o.score))
