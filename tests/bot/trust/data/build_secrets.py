"""Regenerate ``secrets.jsonl``: support messages that leak fake secrets and personal data.

Every value is fake but well-formed: cards pass Luhn, IBANs pass mod-97, tokens
have their vendor's prefix, alphabet and length, JWTs decode to JSON. Run with
``python tests/bot/trust/data/build_secrets.py``; the seed keeps it stable.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

rng = random.Random(20240512)
B62 = string.ascii_letters + string.digits
B64 = B62 + "+/"
URLSAFE = B62 + "-_"
HEXL = "0123456789abcdef"


def pick(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + pick(string.digits, length - len(prefix) - 1)
    for check in string.digits:
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            v = int(ch)
            if i % 2:
                v = v * 2 - 9 if v > 4 else v * 2
            total += v
        if total % 10 == 0:
            return digits
    raise AssertionError


def card() -> str:
    brand = rng.choice(["visa", "visa", "mc", "mc2", "amex", "discover"])
    if brand == "amex":
        n = luhn_complete(rng.choice(["34", "37"]), 15)
        return rng.choice([n, f"{n[:4]} {n[4:10]} {n[10:]}", f"{n[:4]}-{n[4:10]}-{n[10:]}"])
    prefix = {"visa": "4", "mc": str(rng.randint(51, 55)), "mc2": "2221", "discover": "6011"}[brand]
    n = luhn_complete(prefix, 16)
    sep = rng.choice(["", " ", "-"])
    return sep.join(n[i : i + 4] for i in range(0, 16, 4))


IBAN_FORMATS = {
    "DE": "8n10n",
    "GB": "4a6n8n",
    "FR": "5n5n11c2n",
    "NL": "4a10n",
    "ES": "20n",
    "IT": "1a5n5n12c",
    "CH": "5n12c",
    "BE": "12n",
    "AT": "16n",
    "PL": "24n",
}


def iban() -> str:
    country = rng.choice(list(IBAN_FORMATS))
    bban = ""
    spec = IBAN_FORMATS[country]
    num = ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        alphabet = {
            "n": string.digits,
            "a": string.ascii_uppercase,
            "c": string.ascii_uppercase + string.digits,
        }[ch]
        bban += pick(alphabet, int(num))
        num = ""
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    compact = f"{country}{check:02d}{bban}"
    style = rng.random()
    if style < 0.5:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact.lower() if style > 0.9 else compact


FIRST = [
    "anna",
    "james",
    "li",
    "sofia",
    "mohammed",
    "olga",
    "pierre",
    "yuki",
    "carlos",
    "emma",
    "noah",
    "priya",
]
LAST = [
    "schmidt",
    "nguyen",
    "okafor",
    "rossi",
    "kowalski",
    "smith",
    "tanaka",
    "garcia",
    "müller",
    "johansson",
]
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "proton.me",
    "acme-corp.io",
    "example.co.uk",
    "mail.uni-heidelberg.de",
    "yahoo.fr",
]


def email() -> str:
    f, last = rng.choice(FIRST), rng.choice(LAST).replace("ü", "ue")
    local = rng.choice(
        [
            f"{f}.{last}",
            f"{f}{rng.randint(1, 99)}",
            f"{f[0]}{last}",
            f"{f}_{last}+support",
            f"{f.title()}.{last.title()}",
        ]
    )
    return f"{local}@{rng.choice(DOMAINS)}"


def phone() -> str:
    d = lambda n: pick(string.digits, n)  # noqa: E731
    a = lambda: str(rng.randint(2, 9)) + d(2)  # noqa: E731
    return rng.choice(
        [
            f"+1 {a()} {a()} {d(4)}",
            f"+1 ({a()}) {a()}-{d(4)}",
            f"({a()}) {a()}-{d(4)}",
            f"{a()}-{a()}-{d(4)}",
            f"{a()}.{a()}.{d(4)}",
            f"1-{a()}-{a()}-{d(4)}",
            f"+44 20 {d(4)} {d(4)}",
            f"+44 7{d(3)} {d(6)}",
            f"07{d(3)} {d(6)}",
            f"020 {d(4)} {d(4)}",
            f"+49 30 {d(8)}",
            f"+49 (0)30 {d(4)} {d(4)}",
            f"0151 {d(8)}",
            f"030/{d(7)}",
            f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"+61 4{d(2)} {d(3)} {d(3)}",
            f"+91 98{d(3)} {d(5)}",
            f"+81 90-{d(4)}-{d(4)}",
            f"0044 20 {d(4)} {d(4)}",
            f"+34 6{d(2)} {d(3)} {d(3)}",
            f"+48 5{d(2)}-{d(3)}-{d(3)}",
            f"+55 11 9{d(4)}-{d(4)}",
        ]
    )


def jwt() -> str:
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")  # noqa: E731
    header = enc({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = enc(
        {
            "sub": str(rng.randint(10**5, 10**9)),
            "name": rng.choice(FIRST).title(),
            "iat": 1715500000 + rng.randint(0, 10**6),
        }
    )
    return f"{header}.{payload}.{pick(URLSAFE, 43)}"


def pem() -> tuple[str, str]:
    label = rng.choice(
        ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
    )
    lines = [pick(B64, 64) for _ in range(rng.randint(3, 8))] + [pick(B64, rng.randint(8, 60)) + "=="]
    sep = rng.choice(["\n", "\n", " "])
    block = f"-----BEGIN {label}-----{sep}{sep.join(lines)}{sep}-----END {label}-----"
    if rng.random() < 0.15:  # truncated paste
        block = f"-----BEGIN {label}-----{sep}{sep.join(lines[:3])}"
    return block, block


TOKENS: dict[str, Callable[[], str]] = {
    "api_key": lambda: rng.choice(
        [
            "sk-" + pick(B62, 48),
            "sk-proj-" + pick(URLSAFE, rng.choice([48, 74, 132])),
            "sk-svcacct-" + pick(URLSAFE, 64),
            "sk-ant-api03-" + pick(URLSAFE, 93) + "AA",
            "AIza" + pick(URLSAFE, 35),
            "glpat-" + pick(URLSAFE, 20),
            "npm_" + pick(B62, 36),
            "hf_" + pick(string.ascii_letters, 34),
        ]
    ),
    "slack_token": lambda: rng.choice(
        [
            f"xoxb-{pick(string.digits, 12)}-{pick(string.digits, 13)}-{pick(B62, 24)}",
            f"xoxp-{pick(string.digits, 12)}-{pick(string.digits, 12)}-{pick(string.digits, 13)}-{pick(HEXL, 32)}",
            f"xapp-1-A{pick(string.ascii_uppercase + string.digits, 10)}-{pick(string.digits, 13)}-{pick(HEXL, 64)}",
            f"xoxa-2-{pick(string.digits, 12)}-{pick(string.digits, 12)}-{pick(HEXL, 32)}",
        ]
    ),
    "slack_webhook": lambda: (
        f"https://hooks.slack.com/services/T{pick(string.ascii_uppercase + string.digits, 8)}/"
        f"B{pick(string.ascii_uppercase + string.digits, 10)}/{pick(B62, 24)}"
    ),
    "github_token": lambda: rng.choice(
        [
            rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + pick(B62, 36),
            "github_pat_" + pick(B62, 22) + "_" + pick(B62, 59),
        ]
    ),
    "aws_access_key": lambda: rng.choice(["AKIA", "ASIA"]) + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "aws_secret_key": lambda: pick(B64, 40),
    "stripe_key": lambda: rng.choice(
        [
            "sk_live_" + pick(B62, rng.choice([24, 99])),
            "sk_test_" + pick(B62, 24),
            "rk_live_" + pick(B62, 24),
            "pk_live_" + pick(B62, 24),
            "whsec_" + pick(B62, 32),
        ]
    ),
    "discord_token": lambda: f"M{pick(B62, 25)}.{pick(URLSAFE, 6)}.{pick(URLSAFE, 38)}",
    "jwt": jwt,
    "bearer_token": lambda: rng.choice(
        [pick(B62, 32), pick(URLSAFE, 48), f"{pick(B62, 20)}.{pick(B62, 24)}"]
    ),
    "secret": lambda: rng.choice(
        [
            pick(B62, 32),
            pick(B62, 24),
            pick(string.ascii_lowercase + string.digits, 40),
            pick(B64, 44) + "=",
            pick(URLSAFE, 43),
        ]
    ),
}
PASSWORDS = [
    "Summer2024!",
    "hunter2",
    "Tr0ub4dor&3",
    "correct-horse-battery-staple",
    "P@ssw0rd123",
    "qwerty123!",
    "MyDogRex2019",
    "s3cr3t_Pa55",
    "Welcome#2024",
    "letmein",
    "sunshine88",
    "Zx9!kLp#2q",
    "Bayern1900",
    "iloveyou2",
    "blue-Whale-77",
    "Passw0rd!",
    "Montreal$2023",
    "dragon",
    "N0vember*",
    "kitty123",
]

CONTEXT: dict[str, list[str]] = {
    "email": [
        "Please contact me at {v}, I can't log in.",
        "{v}",
        "my email is {v} — the invite never came",
        "Hi, this is Sofia ({v}), our workspace billing is wrong.",
        "Can you resend it to {v}? Thanks!",
        "Account email: {v}\nPlan: Team",
        "It was sent to <{v}> instead of my work address.",
        "cc {v} and {v2} on the ticket please",
        "user {v} reported the same bug (ticket 4471).",
    ],
    "phone": [
        "Call me at {v} after 5pm.",
        "My phone number is {v}",
        "you can reach me on {v} or by email",
        "tel: {v}",
        "WhatsApp {v} works best",
        "Our office line {v} is on the invoice, and the bot shows it publicly!",
        "Customer called from {v} about order #12345.",
        "mobile: {v}\nname: Carlos",
        "text me at {v} when it's fixed",
    ],
    "card": [
        "My card {v} was charged twice.",
        "I paid with {v}, exp 09/27, can you check?",
        "card number: {v}",
        "The charge on {v} on 2024-03-05 is wrong.",
        "{v} was declined but my bank says it's fine.",
        "payment method ending... actually the full number is {v}, sorry",
        "Visa {v} / CVC 123",
    ],
    "iban": [
        "Please refund to IBAN {v}.",
        "My IBAN is {v}, account holder Anna Schmidt.",
        "IBAN: {v}\nBIC: COBADEFFXXX",
        "send it to {v} please",
        "Bank details changed, new IBAN {v} from next month.",
    ],
    "password": [
        "my password is {v} and it still fails",
        "password: {v}",
        "Login: admin / password: {v}",
        "I set pwd={v} in the config",
        "DB_PASSWORD={v}",
        "mysql --user=root --password={v} -h db",
        '{{"username": "carlos", "password": "{v}"}}',
        "postgres://journeybot:{v}@db.acme.io:5432/jb",
        "The wifi password is {v} if the installer needs network.",
        "PASSWORD = '{v}'",
        "my old password was {v}, the new one doesn't work either",
        "passwd: {v}",
        "Passwort... sorry, password: {v}",
        "redis://default:{v}@cache.internal:6379/0",
        'smtp_password: "{v}"',
    ],
    "token": [
        "Here is my key: {v}",
        "I'm using {v} and get 401",
        "export KEY={v}",
        "config:\n  key: {v}\n  model: gpt-4o",
        "token={v}",
        "Is {v} still valid? It says revoked.",
        "```\n{v}\n```",
        "curl https://api.example.com -d key={v}",
        "my api key {v} stopped working after the update",
        "SECRET: {v}",
        "the bot uses {v} as token, is that wrong?",
        "Traceback: AuthError: invalid key '{v}'",
        'settings.json -> "apiKey": "{v}"',
    ],
    "aws_secret_key": [
        "aws_secret_access_key = {v}",
        "AWS secret key: {v}",
        "export AWS_SECRET_ACCESS_KEY={v}",
        "[default]\naws_access_key_id = {k}\naws_secret_access_key = {v}",
        "my aws secret is {v} and access key {k}",
    ],
    "slack_webhook": [
        "webhook url: {v}",
        "posting to {v} returns 404",
        "SLACK_WEBHOOK={v}",
        "I configured {v} in the alerts tab",
    ],
    "jwt": [
        "The session token is {v}",
        "Authorization: Bearer {v}",
        "decode this for me: {v}",
        "cookie: jb_session={v}; Path=/",
    ],
    "private_key": [
        "Here is the key I use:\n{v}\nIs the format wrong?",
        "{v}",
        "deploy key below\n{v}",
        "I pasted {v} into the field",
    ],
    "bearer_token": [
        "curl -H 'Authorization: Bearer {v}' https://api.acme.io/v1/cases",
        "Authorization: Bearer {v}",
        '{{"headers": {{"Authorization": "Bearer {v}"}}}}',
        "requests.get(url, headers={{'Authorization': 'Bearer {v}'}})",
        "authorization: token {v}",
        "the header is Bearer {v} and I get 403",
    ],
    "secret": [
        "client_secret: {v}",
        "my token is {v}",
        "SESSION_SECRET={v}",
        '"secret": "{v}"',
        "api key {v}",
        "Here's the license key: {v}",
        "app secret {v} — do I paste it in the console?",
        "access_token={v}&expires=3600",
        "https://app.example.com/reset?token={v}",
        "JB_SIGNING_SECRET={v}",
        'bot secret = "{v}"',
    ],
}


def main() -> None:
    rows: list[dict[str, object]] = []

    def add(text: str, kinds: list[str], values: list[str]) -> None:
        rows.append({"text": text, "kinds": kinds, "values": values})

    for _ in range(22):
        v, v2 = email(), email()
        template = rng.choice(CONTEXT["email"])
        both = "{v2}" in template
        add(template.format(v=v, v2=v2), ["email", "email"] if both else ["email"], [v, v2] if both else [v])
    for _ in range(26):
        v = phone()
        add(rng.choice(CONTEXT["phone"]).format(v=v), ["phone"], [v])
    for _ in range(18):
        v = card()
        add(rng.choice(CONTEXT["card"]).format(v=v), ["card"], [v])
    for _ in range(14):
        v = iban()
        add(rng.choice(CONTEXT["iban"]).format(v=v), ["iban"], [v])
    for template in CONTEXT["password"]:
        v = rng.choice(PASSWORDS)
        add(template.format(v=v), ["password"], [v])
    for template in CONTEXT["password"][:10]:
        v = rng.choice([p for p in PASSWORDS if any(c.isdigit() for c in p)])
        add(template.format(v=v), ["password"], [v])
    for kind in ("api_key", "slack_token", "github_token", "aws_access_key", "stripe_key", "discord_token"):
        for _ in range(8):
            v = TOKENS[kind]()
            add(rng.choice(CONTEXT["token"]).format(v=v), [kind], [v])
    for kind in ("aws_secret_key", "slack_webhook", "jwt", "bearer_token", "secret"):
        for template in CONTEXT[kind]:
            v, k = TOKENS[kind](), TOKENS["aws_access_key"]()
            text = template.format(v=v, k=k)
            if "{k}" in template:
                add(text, [kind, "aws_access_key"], [v, k])
            else:
                add(text, [kind], [v])
    for _ in range(8):
        v, _ = pem()
        add(rng.choice(CONTEXT["private_key"]).format(v=v), ["private_key"], [v])
    mixes = [
        (
            "Hi! I'm {e}, phone {p}. My card {c} got charged twice, please refund to {i}.",
            ["email", "phone", "card", "iban"],
        ),
        (
            "bot config:\nSLACK_BOT_TOKEN={s}\nOPENAI_API_KEY={o}\nADMIN_EMAIL={e}",
            ["slack_token", "api_key", "email"],
        ),
        ("Logs: user={e} token={g} status=401 (retrying in 5s)", ["email", "github_token"]),
        ("{e} / {pw} — that's the login that stopped working on 2.3.1", ["email", "password"]),
        ("Stripe: {st} and webhook secret {wh}; support: {e}", ["stripe_key", "stripe_key", "email"]),
    ]
    for _ in range(4):
        for template, kinds in mixes:
            values = {
                "e": email(),
                "p": phone(),
                "c": card(),
                "i": iban(),
                "s": TOKENS["slack_token"](),
                "o": TOKENS["api_key"](),
                "g": TOKENS["github_token"](),
                "pw": rng.choice(PASSWORDS),
                "st": "sk_live_" + pick(B62, 24),
                "wh": "whsec_" + pick(B62, 32),
            }
            used = [
                values[key]
                for key in ("e", "p", "c", "i", "s", "o", "g", "pw", "st", "wh")
                if "{" + key + "}" in template
            ]
            add(template.format(**values), kinds, used)
    out = Path(__file__).with_name("secrets.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows -> {out}")


if __name__ == "__main__":
    main()
