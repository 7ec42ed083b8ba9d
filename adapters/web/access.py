"""Who may use the console, and as what.

Bound to a loopback address the console needs no login: whoever can reach it
is on the machine, and acts as the local operator. Any other bind requires a
login. The first start creates an ``admin`` account and prints its token
once; only a hash of each token is kept. The admin creates accounts for
staff, moderators and read-only viewers, each with its own token.

Tokens are 32 random bytes, so a plain SHA-256 of them cannot be reversed or
guessed; the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

Role = Literal["admin", "staff", "moderator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "staff", "moderator", "viewer")
ACCOUNTS = "web-accounts"
SECRET_KEY = "web-session-secret"
ADMIN = "admin"

# What each console role may do; core roles travel on the events it sends.
CORE_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("staff", "moderator"),
    "staff": ("staff",),
    "moderator": ("moderator",),
    "viewer": (),
}


@dataclass(frozen=True, slots=True)
class User:
    """Someone using the console. ``local`` is the operator on the machine itself."""

    name: str
    role: Role
    local: bool = False

    @property
    def can_change(self) -> bool:
        return self.role != "viewer"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def core_roles(self) -> tuple[str, ...]:
        return CORE_ROLES[self.role]

    @property
    def core_id(self) -> str:
        """The user id on events this person sends through the console."""
        return f"web:{self.name}"


LOCAL_OPERATOR = User("operator", "admin", local=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class AccessError(ValueError):
    """An account request that cannot be done, with a message for the page."""


def _user(name: str, value: dict[str, str]) -> User:
    role = value.get("role")
    return User(name, role if role in ROLES else "viewer")


class Accounts:
    """Console accounts (hashes only), kept by the core's overview as one value."""

    def __init__(self, overview: Any) -> None:
        self.overview = overview

    async def _all(self) -> dict[str, dict[str, str]]:
        found = await self.overview.kept(ACCOUNTS)
        return found if isinstance(found, dict) else {}

    async def session_secret(self) -> str:
        """The key that signs session cookies: made once, kept in the store, so
        sessions survive a restart."""
        secret = await self.overview.kept(SECRET_KEY)
        if not isinstance(secret, str):
            secret = secrets.token_hex(32)
            await self.overview.keep(SECRET_KEY, secret)
        return secret

    async def ensure_admin(self) -> str | None:
        """Create the ``admin`` account on first start; its token (shown once)
        or ``None`` when it exists already."""
        accounts = await self._all()
        if ADMIN in accounts:
            return None
        token = new_token()
        accounts[ADMIN] = {"role": "admin", "token_sha256": hash_token(token)}
        await self.overview.keep(ACCOUNTS, accounts)
        logger.info("created the console's admin account")
        return token

    async def create(self, name: str, role: str, *, by: str) -> str:
        """A new account; returns its token (shown once)."""
        name = name.strip()
        if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
            raise AccessError("A name is 1 to 64 letters, digits, dots, dashes or underscores.")
        if role not in ROLES or role == "admin":
            raise AccessError("The role must be staff, moderator or viewer.")
        accounts = await self._all()
        if name in accounts:
            raise AccessError(f"There is already an account named {name}.")
        token = new_token()
        accounts[name] = {"role": role, "token_sha256": hash_token(token), "by": by}
        await self.overview.keep(ACCOUNTS, accounts)
        logger.info("console account %s (%s) created by %s", name, role, by)
        return token

    async def remove(self, name: str, *, by: str) -> None:
        if name == ADMIN:
            raise AccessError("The admin account cannot be removed.")
        accounts = await self._all()
        if accounts.pop(name, None) is None:
            raise AccessError(f"There is no account named {name}.")
        await self.overview.keep(ACCOUNTS, accounts)
        logger.info("console account %s removed by %s", name, by)

    async def all(self) -> list[User]:
        return [_user(name, value) for name, value in sorted((await self._all()).items())]

    async def get(self, name: str) -> User | None:
        value = (await self._all()).get(name)
        return None if value is None else _user(name, value)

    async def login(self, token: str) -> User | None:
        """The account this token belongs to, if any."""
        if not token:
            return None
        wanted = hash_token(token.strip())
        found: User | None = None
        for name, value in (await self._all()).items():
            if hmac.compare_digest(str(value.get("token_sha256", "")), wanted):
                found = _user(name, value)
        return found


def describe(user: Any) -> str:
    return f"{user.name} ({user.role})" if user is not None else "nobody"
