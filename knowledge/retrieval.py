"""From a question to candidate entries: dense (FAISS) and lexical (FTS5/BM25)
rankings, fused, each candidate with the named features the policy weighs.

Dense: the question's nearest forms (question forms and documentation
passages), grouped by entry. Lexical: BM25 over every form's terms, grouped
by entry the same way; ``coverage`` is the share of the question's
informative words (weighted by how rare they are) that the entry's best
matching form contains. The two rankings are fused by reciprocal rank
(``fused``); an entry that only the lexical side found gets its dense score
from its stored vectors, so every candidate has both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from knowledge.entries import DOCS, LIVE, PASSAGE, Entry
from knowledge.lexical import coverage, idf, query_terms, terms
from knowledge.store import EntryStore

RRF_K = 60  # the usual reciprocal-rank-fusion constant
LEXICAL_K = 48  # forms fetched from the full-text index per question
LEXICAL_EXTRA = 3  # entries the lexical side alone may add to the candidates


@dataclass(frozen=True, slots=True)
class Hit:
    """One entry's standing for a question.

    ``score`` is the best cosine similarity between the question and any of
    the entry's forms (question forms, and passages for a docs section);
    ``second`` the next best of its question forms among the question's
    nearest (``None`` when only one of them is near): a question close to
    several ways of asking an entry is that entry far more often than one
    close to a single form. ``support`` counts how many of the question's
    nearest forms belong to this entry.

    Features for the policy: ``form_score`` (best question form) and
    ``passage_score`` (best passage) apart; ``dense_rank`` and
    ``lexical_rank`` (1 = first; ``None`` = not found that way),
    ``lexical_score`` (BM25 of the best form), ``coverage`` (0..1) and
    ``fused`` (reciprocal-rank fusion of the two ranks). ``centroid`` is the
    cosine between the question and the normalised mean of all the entry's
    question forms (``knowledge.indexes.SpaceIndexes.centroid``).
    ``heading_coverage`` (docs sections) is the share of the question's
    informative words that the section's heading path holds; ``known`` the
    share of the question's words that any form in the space uses at all (the
    same for every candidate of a question: a question in words the docs never
    use is likely about something they do not cover).
    """

    entry: Entry
    score: float
    support: int
    second: float | None = None
    form_score: float | None = None
    passage_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float = 0.0
    coverage: float = 0.0
    fused: float = 0.0
    centroid: float | None = None
    heading_coverage: float = 0.0
    known: float = 1.0


    @property
    def kind(self) -> str:
        return self.entry.kind


@dataclass(slots=True)
class _Dense:
    scores: list[float]  # best first, question forms
    passage: float | None = None
    support: int = 0


@dataclass(frozen=True, slots=True)
class Lexical:
    """The full-text side for one question: per entry (best first) its BM25,
    coverage and best form id; and the question's terms with their weights."""

    ranked: tuple[tuple[str, float, float, int], ...]  # entry id, bm25, coverage, form id
    words: tuple[str, ...]
    weights: dict[str, float]


async def lexical_search(store: EntryStore, space: str, text: str, *, total: int) -> Lexical:
    words = query_terms(text)
    if not words:
        return Lexical((), (), {})
    counts = await store.term_counts(words)
    rows = await store.lexical(space, words, LEXICAL_K, counts=counts)
    if not rows:
        return Lexical((), tuple(words), {})
    # Coverage counts only words the index knows: a time stamp, a typo or a
    # word no entry uses cannot be covered by any of them and tells none apart.
    weights = {w: idf(counts[w], max(total, 1)) for w in words if counts.get(w)}
    best: dict[str, tuple[float, float, int]] = {}
    for form_id, entry_id, _kind, form_text, bm25 in rows:
        if entry_id in best:
            continue
        best[entry_id] = (bm25, coverage(list(weights), terms(form_text), weights), form_id)
    ranked = tuple((e, b, c, f) for e, (b, c, f) in best.items())
    return Lexical(ranked, tuple(words), weights)


def _rrf(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (RRF_K + rank)


async def fuse(
    near: Sequence[tuple[str, float, int]],
    lexical: Lexical | None,
    *,
    is_passage: Callable[[int], bool],
    entries: Callable[[Sequence[str]], Awaitable[dict[str, Entry]]],
    vectors: Callable[[Sequence[int]], Awaitable[np.ndarray]],
    query: np.ndarray,
    support_k: int,
    limit: int,
) -> list[Hit]:
    """Candidates from both rankings, best dense score first (the order the
    policy's question-form rules were calibrated on); entries found only
    lexically come after, among the lexical side's best ``LEXICAL_EXTRA``."""
    dense: dict[str, _Dense] = {}
    order: list[str] = []
    for rank, (entry_id, score, form_id) in enumerate(near):
        found = dense.get(entry_id)
        if found is None:
            found = dense[entry_id] = _Dense([])
            order.append(entry_id)
        if rank < support_k:
            found.support += 1
        if is_passage(form_id):
            found.passage = score if found.passage is None else max(found.passage, score)
        elif len(found.scores) < 2:
            found.scores.append(score)
    lexical_ranks: dict[str, tuple[int, float, float, int]] = {}
    if lexical is not None:
        for rank, (entry_id, bm25, cover, form_id) in enumerate(lexical.ranked, start=1):
            lexical_ranks[entry_id] = (rank, bm25, cover, form_id)
    extra = [e for e, *_ in (lexical.ranked[:LEXICAL_EXTRA] if lexical else ()) if e not in dense]
    wanted = order[: limit + 2] + extra
    found_entries = await entries(wanted)
    # Only a docs section can be answered on its words: other entries found
    # only lexically are not worth a trip to the store for their vectors.
    extra = [e for e in extra if e in found_entries and found_entries[e].kind == DOCS]
    missing: dict[str, float] = {}
    if extra:
        form_ids = [lexical_ranks[e][3] for e in extra]
        for entry_id, row in zip(extra, await vectors(form_ids), strict=True):
            missing[entry_id] = float(np.dot(row, query.reshape(-1)))
    ranked_dense = [e for e in order if e in found_entries and found_entries[e].status == LIVE]
    dense_rank = {e: n for n, e in enumerate(ranked_dense, start=1)}
    hits: list[Hit] = []
    for entry_id in [*ranked_dense[:limit], *extra]:
        entry = found_entries.get(entry_id)
        if entry is not None and entry.status == LIVE:
            hit = _hit(entry, dense.get(entry_id), lexical_ranks.get(entry_id), missing.get(entry_id, 0.0),
                       dense_rank.get(entry_id), is_passage)
            hits.append(replace(hit, heading_coverage=heading_coverage(entry, lexical), known=known_share(lexical)))
    return hits


def known_share(lexical: Lexical | None) -> float:
    """Share of the question's words the space's forms use at all (1.0 when
    the question has no searchable words: nothing tells against it)."""
    if lexical is None or not lexical.words:
        return 1.0
    return sum(1 for w in lexical.words if w in lexical.weights) / len(lexical.words)


def heading_coverage(entry: Entry, lexical: Lexical | None) -> float:
    """Share of the question's informative words (IDF-weighted) that a docs
    section's heading path holds: a question asked in its heading's words."""
    if lexical is None or not lexical.weights or entry.kind != DOCS or not entry.section:
        return 0.0
    heading = entry.section.split("#", 1)[-1]
    return coverage(list(lexical.weights), terms(heading), lexical.weights)


def _hit(entry: Entry, got: _Dense | None, lex: tuple[int, float, float, int] | None, score_if_unseen: float,
         rank_d: int | None, is_passage: Callable[[int], bool]) -> Hit:
    """One candidate with both rankings' features; ``score_if_unseen`` is its
    dense score when only the lexical side found it."""
    if got is not None:
        form_score = got.scores[0] if got.scores else None
        second = got.scores[1] if len(got.scores) > 1 else None
        candidates = [s for s in (form_score, got.passage) if s is not None]
        score, support, passage = max(candidates), got.support, got.passage
    else:
        score, support, second = score_if_unseen, 0, None
        passage = score if lex is not None and is_passage(lex[3]) else None
        form_score = None if passage is not None else score
    rank_l = lex[0] if lex else None
    return Hit(entry, score, support, second, form_score=form_score, passage_score=passage,
               dense_rank=rank_d, lexical_rank=rank_l, lexical_score=lex[1] if lex else 0.0,
               coverage=lex[2] if lex else 0.0, fused=_rrf(rank_d) + _rrf(rank_l))


async def ranked_passages(store: EntryStore, entry: Entry, vector: np.ndarray, text: str) -> list[str]:
    """A documentation section's passages, the one that best answers ``text``
    first: closeness in meaning plus the share of the question's words it holds."""
    forms = await store.live_forms(entry.id, PASSAGE)
    if not forms:
        return [entry.answer]
    vectors = await store.form_vectors([fid for fid, _ in forms])
    words = query_terms(text)
    scored = []
    for order, ((_, form_text), row) in enumerate(zip(forms, vectors, strict=True)):
        body = form_text.split("\n", 1)[1] if "\n" in form_text else form_text
        closeness = float(np.dot(row, vector.reshape(-1)))
        lead_in = 0.05 if order == 0 else 0.0  # a section says its main point first
        scored.append((-(closeness + 0.3 * coverage(words, terms(body), {}) + lead_in), order, body))
    return [body for _, _, body in sorted(scored)]


__all__ = ["Hit", "Lexical", "fuse", "heading_coverage", "known_share", "lexical_search", "ranked_passages"]
