"""Tell random-looking strings (keys, tokens) from identifiers, hashes and paths.

A string of at least 20 characters from the base64/base64url alphabet counts
as a secret when one of its alphanumeric runs of 16+ characters looks random:

- it mixes letters and digits and its Shannon entropy is at least 3 bits a
  character (so ``a1a1a1…`` is not random);
- it does not read like words: few of its letter pairs are common English
  bigrams, and it switches between lower case, upper case and digits often
  (``getUserById2FactorHandler`` reads as words and switches rarely).

Calibrated on random base62/base36 strings against real identifiers: 95-99 %
of random 16-32 character runs pass, no identifier in the calibration set did.

Deliberately not secrets: pure hex strings (commit SHAs, SHA-256 digests,
UUIDs, request ids) because support text quotes them as identifiers;
digit-only or nearly digit-only ids (``p1715503267123456``); ULIDs;
``sha512-…`` integrity strings; and object ids shaped like
``pi_3MtwBwLkdIwHu7ix28a3tqPa`` (a short lower-case prefix, an underscore and
at most 28 characters), which vendors print in dashboards and receipts.
Vendor tokens with such prefixes are caught by ``bot.trust.credentials``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}={0,2}")
_RUN = re.compile(r"[A-Za-z0-9]{16,}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_RESOURCE_ID = re.compile(r"[a-z]{2,6}_[A-Za-z0-9]{8,28}")
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_INTEGRITY = re.compile(r"sha\d{1,3}[-_]", re.I)
_LETTER_RUN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_COMMON_BIGRAMS = frozenset(
    str.split(
        """th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou
    io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo
    ho pe ec pr no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol
    rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld
    ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov
    by rm ep tt oc fa ef cu rn sc gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu
    go ht ru ug ds lt pi rc rr eg au ck ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm
    fu ph og ms ye ud mb ip ub oi"""
    )
)
_MIN_ENTROPY = 3.0
_MIN_RANDOMNESS = 0.7


def find_random_tokens(text: str) -> list[tuple[int, int]]:
    """Spans of random-looking tokens in ``text`` (whole token; path segments alone)."""
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if _RESOURCE_ID.fullmatch(token) or _INTEGRITY.match(token) or _ULID.fullmatch(token):
            continue
        if _is_path(token):
            offset = match.start()
            for segment in token.split("/"):
                if len(segment) >= 16 and _has_random_run(segment):
                    spans.append((offset, offset + len(segment)))
                offset += len(segment) + 1
        elif _has_random_run(token):
            spans.append(match.span())
    return spans


def looks_random(value: str, *, min_length: int = 16) -> bool:
    """True when ``value`` as a whole reads like a generated key, not words or a hash."""
    if len(value) < min_length or _HEX.fullmatch(value):
        return False
    has_digit = any(char.isdigit() for char in value)
    letters = sum(char.isalpha() for char in value)
    return (
        has_digit
        and letters >= max(4, len(value) // 4)
        and shannon_entropy(value) >= min(_MIN_ENTROPY, math.log2(len(value)) - 0.5)
        and _randomness(value) >= _MIN_RANDOMNESS
    )


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def _has_random_run(token: str) -> bool:
    return any(looks_random(run.group()) for run in _RUN.finditer(token))


def _is_path(token: str) -> bool:
    """A file path or URL path rather than base64 that happens to contain '/'."""
    if "/" not in token:
        return False
    if token[0] in "/~." or "//" in token:
        return True
    return any(re.fullmatch(r"[a-z]{3,}|[a-z]+[_-][a-z_-]+", part) for part in token.split("/"))


def _char_class(char: str) -> int:
    if char.isdigit():
        return 0
    if char.isupper():
        return 1
    return 2 if char.islower() else 3


def _randomness(value: str) -> float:
    """Unwordiness plus class-switch rate; words score low, random strings high."""
    pairs = [run[i : i + 2].lower() for run in _LETTER_RUN.findall(value) for i in range(len(run) - 1)]
    wordiness = sum(pair in _COMMON_BIGRAMS for pair in pairs) / len(pairs) if pairs else 0.0
    switches = 0
    for left, right in itertools.pairwise(value):
        a, b = _char_class(left), _char_class(right)
        # An upper-case letter followed by lower case is ordinary capitalisation.
        if a != b and not (a == 1 and b == 2):
            switches += 1
    return (1.0 - wordiness) + switches / max(1, len(value) - 1)
