"""Words as the lexical index sees them: the same terms for what is indexed
and for what is asked, so an exact term (an error message, a config key, a
command, a path, a version) finds the passage that quotes it.

Terms are lower-case words without stop words, lightly stemmed (plurals,
``-ing``, ``-ed``, a final ``e``; consistent rather than linguistic), plus
each compound kept whole with ``_`` between its parts
(``PAPERLESS_OCR_LANGUAGE``, ``docker-compose.yml``, ``/api/documents/``),
so a pasted key matches itself exactly and its parts match too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

MAX_QUERY_TERMS = 40

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_COMPOUND = re.compile(r"[^\W_]+(?:[_./:-]+[^\W_]+)+", re.UNICODE)

STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each few for from further had hadn't has hasn't have haven't having he her here hers herself him
himself his how i i'm if in into is isn't it it's its itself just let's me more most my myself no nor
not of off on once only or other ought our ours ourselves out over own same she should shouldn't so
some such than that that's the their theirs them themselves then there there's these they this those
through to too under until up very was wasn't we were weren't what what's when where which while who
whom why will with won't would wouldn't you your yours yourself yourselves im ive id dont cant wont
doesnt isnt didnt thats whats hi hello hey thanks thank please pls anyone anybody someone guys folks
also get got getting still even really like just use using used want wanted need needs way ways make
does know trying tried try help one two any every much many lot bit kinda sort thing things
""".replace("'", "").split())


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light, consistent suffix stripper: ``files``/``file`` → ``file``,
    ``consuming``/``consumed``/``consume`` → ``consum``."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            word = base
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("'", "").replace("\u2019", ""))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def terms(text: str) -> list[str]:
    """The terms of ``text``, in order, repeats kept (BM25 counts them)."""
    folded = _fold(text)
    out = [stem(w) for w in _WORD.findall(folded) if len(w) > 1 and w not in STOP_WORDS]
    for compound in _COMPOUND.findall(folded):
        parts = [p for p in re.split(r"[_./:-]+", compound) if p]
        if len(parts) > 1 and sum(len(p) for p in parts) >= 4:
            out.append("_".join(parts))
    return out


def indexed(text: str) -> tuple[int, dict[str, int]]:
    """What the full-text index stores for ``text``: its length in terms and
    each distinct term with its count."""
    found = terms(text)
    counts: dict[str, int] = {}
    for term in found:
        counts[term] = counts.get(term, 0) + 1
    return len(found), counts


def query_terms(text: str) -> list[str]:
    """The distinct terms of a question, compounds first, at most ``MAX_QUERY_TERMS``."""
    found = list(dict.fromkeys(terms(text)))
    found.sort(key=lambda t: "_" not in t)
    return found[:MAX_QUERY_TERMS]


BM25_K1, BM25_B = 1.2, 0.75  # SQLite FTS5's constants


def bm25_idf(doc_count: int, total: int) -> float:
    """The inverse document frequency BM25 ranks by (FTS5's: a term in more
    than half the forms counts for almost nothing)."""
    value = math.log((total - doc_count + 0.5) / (doc_count + 0.5)) if total else 0.0
    return value if value > 0 else 1e-6


def idf(doc_count: int, total: int) -> float:
    """BM25's inverse document frequency, floored at a small positive value."""
    return max(0.05, math.log(1 + (total - doc_count + 0.5) / (doc_count + 0.5)))


def coverage(question: Iterable[str], text_terms: Iterable[str], weights: Mapping[str, float]) -> float:
    """Share of the question's term weight (IDF) that ``text_terms`` contain: 1.0
    when every informative word of the question is in the text."""
    asked = list(dict.fromkeys(question))
    if not asked:
        return 0.0
    have = set(text_terms)
    total = sum(weights.get(t, 1.0) for t in asked)
    found = sum(weights.get(t, 1.0) for t in asked if t in have)
    return found / total if total else 0.0
