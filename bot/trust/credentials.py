"""Find credentials in free text: vendor tokens, keys, passwords, random secrets.

Vendor tokens are matched by their documented prefixes and lengths; passwords
by the ways people write them ("password: …", "pwd=…", "my password is …",
``scheme://user:pass@host``); anything else by ``bot.trust.entropy``. Values
that are obviously placeholders (``$TOKEN``, ``<your key>``, ``****``,
``YOUR_API_KEY``) are left alone so documentation survives. Patterns are
bounded and anchored on a look-behind, so scans stay linear on hostile input.
"""

from __future__ import annotations

import re

from bot.trust.entropy import find_random_tokens, shannon_entropy

Hit = tuple[str, int, int]

# (kind, literal hints of which one must occur, pattern). The hints skip a
# pattern cheaply when its prefix is absent, which keeps a message under 0.3 ms.
_VENDOR_TOKENS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (kind, tuple(hints.split()), re.compile(pattern))
    for kind, hints, pattern in (
        ("slack_webhook", "hooks.slack.com",
         r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/-]{10,}"),
        ("slack_token", "xox xapp-", r"(?<![\w.-])(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]{10,}"),
        ("github_token", "gh github_pat_",
         r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})"),
        ("aws_access_key", "AKIA ASIA", r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        ("stripe_key", "_live_ _test_ whsec_",
         r"(?<![\w-])(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_\w{20,})"),
        ("api_key", "sk-", r"(?<![\w-])sk-[\w-]{20,}"),
        ("jwt", "eyJ", r"(?<![\w-])eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"),
        ("discord_token", ".", r"(?<![\w-])[MN][A-Za-z\d]{23,27}\.[\w-]{6,7}\.[\w-]{27,40}"),
        ("api_key", "AIza glpat- npm_ hf_",
         r"(?<![\w-])(?:AIza[\w-]{35}|glpat-[\w-]{20}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z]{34})"),
    )
)  # fmt: skip
_PEM_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"(?:\s*[A-Za-z0-9+/=]{16,})*")
_AUTH_HEADER = re.compile(
    r"(?i)(?:\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|bot)\s+)?|\bbearer\s+)"
    r"(?P<val>[A-Za-z0-9._~+/=-]{12,})"
)
_QUOTED_OR_BARE = r"(?P<val>\"[^\"\n]{1,200}\"|'[^'\n]{1,200}'|[^\s\"',;]{1,200})"
_KEY_VALUE = re.compile(
    r"(?i)(?<![A-Za-z])(?P<key>password|passwd|passphrase|pass(?=\s*[:=])|pwd|secret|token|api[_-]?key"
    r"|apikey|access[_-]?key|private[_-]?key|(?:secret|signing|encryption|master|license)[_-]?key"
    r"|credentials?)[\"']?\s*(?::=|=>|[:=])\s*" + _QUOTED_OR_BARE
)
_PROSE_PASSWORD = re.compile(
    r"(?i)\b(?:(?P<owner>my|our|new|temporary|temp|admin|root|wifi|wi-fi|default|current|old)\s+)?"
    r"(?P<key>password|passwd|passphrase|passcode|pin|pwd)\s+"
    r"(?P<verb>(?:is now|is set to|was set to|would be|is|was|=)\s*:?\s*)?" + _QUOTED_OR_BARE
)
# "I changed my password to hunter2!Secure", "reset the admin pin to 4711".
_CHANGED_PASSWORD = re.compile(
    r"(?i)\b(?:chang\w*|set|sets|setting|reset\w*|updat\w*|switch\w*|made|making|turn\w*)\s+"
    r"(?:(?:my|our|the|his|her|their|its|a|an|new)\s+)?(?:[\w-]{1,20}\s+)?"
    r"(?P<key>password|passwd|passphrase|passcode|pin|pw|pwd)\s+(?:back\s+)?(?:to|into|as)\s*:?\s*"
    + _QUOTED_OR_BARE
)
_CUED_SECRET = re.compile(
    r"(?i)\b(?:api[ _-]?key|access[ _-]?key|auth[ _-]?key|license[ _-]?key|secret|token)\b"
    r"[^\w\n]{0,3}(?:is\s+|was\s+)?(?P<val>[A-Za-z0-9_+/-]{16,}={0,2})"
)
# "anna@example.com / Summer2024!": a login written as address and password.
_LOGIN_PAIR = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}[ \t]*[/|][ \t]*(?P<val>[^\s/|,]{4,64})"
)
_URL_PASSWORD = re.compile(r"(?<=://)[^\s:/@,]{1,64}:(?P<val>[^\s@/,]{1,128})@")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")

_NOT_A_VALUE = frozenset(
    str.split(
        """none null nil true false yes no required optional empty blank redacted hidden
    incorrect correct wrong right invalid valid expired reset changed missing set saved
    not too being the a an it this that what still also same different ok okay fine
    strong weak long short accepted rejected shown case-sensitive sensitive updated
    needed protected encrypted masked stored unknown n/a tbd in on for of from and or
    password pass passwd pwd secret token key here there below above at about only just
    now really definitely probably exactly literally actually working longer shorter 2fa
    something anything whatever one match default"""
    )
)
# Verbs that follow "set the password to …" when it is about a rule, not a value.
_AFTER_TO = frozenset(
    str.split(
        """expire expires be never always change reset match require include use allow update
        contain have meet work stay remain last rotate lock unlock sync show hide prompt ask"""
    )
)
_PLACEHOLDER = re.compile(r"[$<{%\[(]|your[_-]|\*{2,}|x{4,}|•|\.\.\.", re.I)
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def find_credentials(text: str) -> list[Hit]:
    """Every credential-shaped value in ``text`` as (kind, start, end)."""
    hits: list[Hit] = []
    for kind, hints, pattern in _VENDOR_TOKENS:
        if not any(hint in text for hint in hints):
            continue
        for match in pattern.finditer(text):
            # Documentation writes xoxb-xxxxxxxxxx-xxxx…: a real token is not that plain.
            if shannon_entropy(match.group()) >= 3.0:
                hits.append((kind, *match.span()))
    if "PRIVATE KEY" in text:
        hits.extend(_private_keys(text))
    lowered = text.lower()
    if "authorization" in lowered or "bearer" in lowered:
        for match in _AUTH_HEADER.finditer(text):
            if _secret_value_ok(match.group("val")):
                hits.append(("bearer_token", *match.span("val")))
    hits.extend(_passwords(text, lowered))
    if any(word in lowered for word in ("key", "secret", "token")):
        for match in _CUED_SECRET.finditer(text):
            if _secret_value_ok(match.group("val")):
                hits.append(("secret", *match.span("val")))
    if "aws" in lowered or "secret" in lowered:
        hits.extend(_aws_secrets(text, lowered))
    hits.extend(("secret", start, end) for start, end in find_random_tokens(text))
    return hits


def _private_keys(text: str) -> list[Hit]:
    hits: list[Hit] = []
    covered = 0
    for begin in _PEM_BEGIN.finditer(text):
        if begin.start() < covered:
            continue
        end = _PEM_END.search(text, begin.end())
        # A truncated paste still leaks the key: take the base64 body that follows.
        stop = end.end() if end else _PEM_BODY.match(text, begin.end()).end()  # type: ignore[union-attr]
        hits.append(("private_key", begin.start(), stop))
        covered = stop
    return hits


def _passwords(text: str, lowered: str) -> list[Hit]:
    hits: list[Hit] = []
    keyed = any(word in lowered for word in ("pass", "pwd", "secret", "token", "key", "credential"))
    for match in _KEY_VALUE.finditer(text) if keyed else ():
        key = match.group("key").lower()
        is_password = key.startswith("pass") or key == "pwd"
        span = _value_span(match)
        value = text[span[0] : span[1]]
        if key == "pass" and not re.search(r"[A-Za-z]", value):
            continue  # "tests pass: 42" is a count, not a password
        if is_password and _password_ok(value, key=key, owned=True):
            hits.append(("password", *span))
        elif not is_password and _secret_value_ok(value):
            hits.append(("secret", *span))
    prose = any(word in lowered for word in ("pass", "pwd", "pin"))
    for match in _PROSE_PASSWORD.finditer(text) if prose else ():
        # "password hunter2" (no verb) counts only when the value looks typed.
        owned = match.group("owner") is not None and match.group("verb") is not None
        if match.group("key").lower() == "pin" and not owned:
            continue
        span = _value_span(match)
        if _password_ok(text[span[0] : span[1]], key=match.group("key").lower(), owned=owned):
            hits.append(("password", *span))
    for match in _LOGIN_PAIR.finditer(text) if "@" in text else ():
        if _password_ok(match.group("val"), key="password", owned=True):
            hits.append(("password", *match.span("val")))
    for match in _CHANGED_PASSWORD.finditer(text) if prose or " pw " in lowered else ():
        span = _value_span(match)
        value = text[span[0] : span[1]]
        if value.lower() in _AFTER_TO:
            continue  # "set the password to expire": what it does, not what it is
        if _password_ok(value, key=match.group("key").lower(), owned=True):
            hits.append(("password", *span))
    for match in _URL_PASSWORD.finditer(text) if "://" in text else ():
        if _password_ok(match.group("val"), key="password", owned=True):
            hits.append(("password", *match.span("val")))
    return hits


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    """The value's span without quotes and without sentence punctuation."""
    start, end = match.span("val")
    value = match.group("val")
    if value[0] in "\"'":
        return start + 1, end - 1
    while end > start + 1 and value[end - start - 1] in ".,;:)":
        end -= 1
    return start, end


def _password_ok(value: str, *, key: str, owned: bool) -> bool:
    """Is this a password someone typed, rather than prose or a placeholder?"""
    if not _token_value_ok(value) or value.lower() in _NOT_A_VALUE:
        return False
    if (key == "pwd" and value[0] in "/~\\") or re.match(r"[A-Za-z]:\\", value):
        return False  # $PWD is the working directory, not a password.
    if owned:
        return not re.fullmatch(r"[a-z]+(?:ly|ed|ing)", value)
    # Unowned prose ("password is …") must look typed, not like a word.
    return bool(re.search(r"\d|[^\w\s-]", value) or re.search(r"[a-z][A-Z]", value))


def _token_value_ok(value: str) -> bool:
    if not any(char.isalnum() for char in value):
        return False  # also what a blanked placeholder looks like on a second pass
    return not (_PLACEHOLDER.match(value) or _ENV_NAME.fullmatch(value))


def _secret_value_ok(value: str) -> bool:
    """A value under a secret-sounding key: anything but a word, number or placeholder."""
    if len(value) < 8 or not _token_value_ok(value) or value.lower() in _NOT_A_VALUE:
        return False
    if value.isdigit():
        return len(value) >= 12
    mixed = re.search(r"[a-z].*[A-Z]", value)  # not just a capitalised word
    return bool(mixed or re.search(r"\d", value) or re.search(r"[^\w\s.-]", value))


def _aws_secrets(text: str, lowered: str) -> list[Hit]:
    hits: list[Hit] = []
    for match in _AWS_SECRET.finditer(text):
        window = lowered[max(0, match.start() - 100) : match.start()]
        if ("aws" in window or "secret" in window) and _base64_key_ok(match.group()):
            hits.append(("aws_secret_key", *match.span()))
    return hits


def _base64_key_ok(value: str) -> bool:
    """Forty mixed-case base64 characters with digits, as AWS issues them."""
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    return classes == 3 and shannon_entropy(value) >= 3.5
