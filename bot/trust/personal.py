"""Find personal data in free text: e-mail addresses, phone numbers, cards, IBANs.

Hand-written patterns rather than a library (see ``bot.trust.redact`` for the
evaluation). Every pattern has bounded repetition and a left-context
look-behind, so a scan stays linear even on hostile input. Numbers are
validated after matching: card numbers by Luhn, IBANs by country length and
mod-97, phone numbers by digit count and shape, so versions, dates, times,
order ids, prices and error codes are left alone.
"""

from __future__ import annotations

import re

Hit = tuple[str, int, int]
"""A finding: (kind, start, end), offsets into the scanned text."""

_URL_USERINFO = re.compile(r"://[^\s/@]*$")
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])"
)
# A digit run may not continue into a date, version, time or path.
_NOT_AFTER_NUMBER = r"(?![\w]|[.,:/-]\d)"
_NOT_BEFORE_NUMBER = r"(?<![\w#$€£¥/.:+@=-])"
_INTERNATIONAL = re.compile(
    _NOT_BEFORE_NUMBER + r"(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(?\d{1,5}\)?){1,6}" + _NOT_AFTER_NUMBER
)
_NANP = re.compile(
    _NOT_BEFORE_NUMBER
    + r"(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}"
    + _NOT_AFTER_NUMBER
)
_TRUNK = re.compile(_NOT_BEFORE_NUMBER + r"\(?0[1-9]\d{0,3}\)?(?:[ /.-]?\d{2,8}){1,4}" + _NOT_AFTER_NUMBER)
_PHONE_CUE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|cellphone|whats ?app|sms|text me|call me"
    r"|reach me|my number|contact number)\b[^\w\n]{0,3}(?:[a-z]{1,8}[^\w\n]{1,3}){0,3}?"
    r"(?P<num>\+?\(?\d[\d ().-]{5,22}\d)" + _NOT_AFTER_NUMBER
)
_PHONE_CUE_HINTS = ("phone", "tel", "mobile", "cell", "whats", "sms", "text me", "call me", "reach me",
                    "number")  # fmt: skip
_CARD = re.compile(
    r"(?<![\w#$€£¥.,/:-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){3}|\d{4}[ -]\d{6}[ -]\d{4,5})(?![\w])"
)
_IBAN = re.compile(r"(?i)(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}")
_IBAN_LENGTHS = dict(
    (entry[:2], int(entry[2:]))
    for entry in str.split(
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 "
        "DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 "
        "IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 "
        "ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 "
        "SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
    )
)


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    """True when an upper-case IBAN without spaces has the right length and mod-97."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def find_personal(text: str) -> list[Hit]:
    """Every e-mail address, phone number, payment card and IBAN in ``text``."""
    hits: list[Hit] = []
    if "@" in text:
        hits.extend(_emails(text))
    digit_count = sum(char.isdigit() for char in text)
    if digit_count >= 7:
        hits.extend(_phones(text))
    if digit_count >= 13:
        hits.extend(_cards(text))
    if digit_count >= 6:
        hits.extend(_ibans(text))
    return hits


def _emails(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in _EMAIL.finditer(text):
        start, end = match.span()
        # ``git@github.com:org/repo`` and ``ssh://user@host`` are not addresses.
        if text[end : end + 1] == ":" or _URL_USERINFO.search(text, max(0, start - 200), start):
            continue
        hits.append(("email", start, end))
    return hits


def _digits(value: str) -> str:
    return "".join(char for char in value if char.isdigit())


def _phones(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in _INTERNATIONAL.finditer(text):
        number = match.group()
        digits = _digits(number)
        if number.startswith("00"):
            digits = digits[2:]
        if 8 <= len(digits) <= 15:
            hits.append(("phone", *match.span()))
    for match in _NANP.finditer(text):
        hits.append(("phone", *match.span()))
    for match in _TRUNK.finditer(text):
        if _national_shape_ok(match.group()):
            hits.append(("phone", *match.span()))
    lowered = text.lower()
    cued = any(cue in lowered for cue in _PHONE_CUE_HINTS)
    for match in _PHONE_CUE.finditer(text) if cued else ():
        number = match.group("num")
        if 7 <= len(_digits(number)) <= 15 and not _looks_like_version(number):
            hits.append(("phone", *match.span("num")))
    return hits


def _national_shape_ok(number: str) -> bool:
    """A trunk-prefixed national number, not a date like ``05.03.2024 10``."""
    digits = _digits(number)
    if not 9 <= len(digits) <= 13:
        return False
    groups = re.split(r"[ /.()-]+", number.strip("()"))
    if "." in number and any(len(group) != 2 for group in groups if group):
        return False
    if "/" in number and len(groups) > 2:
        return False
    # A bare run needs to look like a whole number, not a zero-padded id.
    return len(groups) > 1 or 10 <= len(digits) <= 12


def _looks_like_version(number: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}(?:\.\d{1,4}){1,3}", number.strip()))


def _cards(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in _CARD.finditer(text):
        digits = _digits(match.group())
        # Issuer ranges start with 2-6 (Mastercard, Amex/Diners/JCB, Visa,
        # Discover/Maestro/UnionPay); epoch milliseconds and snowflake ids don't.
        if digits[0] in "23456" and luhn_ok(digits):
            hits.append(("card", *match.span()))
    return hits


def _ibans(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in _IBAN.finditer(text):
        start = match.start()
        expected = _IBAN_LENGTHS.get(match.group()[:2].upper())
        if expected is None:
            continue
        # The greedy match may run into the next word: keep exactly the
        # country's length of characters and require a boundary after them.
        kept, end = 0, start
        while end < match.end() and kept < expected:
            if text[end].isalnum():
                kept += 1
            end += 1
        if kept != expected or (end < len(text) and text[end].isalnum()):
            continue
        compact = re.sub(r"[ -]", "", text[start:end]).upper()
        if iban_ok(compact):
            hits.append(("iban", start, end))
    return hits
