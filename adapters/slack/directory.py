"""Which channel is which and who is who, looked up through the Web API.

Settings name channels and staff by name or id; Slack events carry ids.
Lookups are cached for ``cache_seconds`` so a renamed channel or a new
member of the staff group is picked up without a restart, and a missing
scope degrades to "not configured" with a warning rather than a crash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.names import CoreNames
from adapters.slack.errors import SlackUnreachable, error_of
from adapters.slack.settings import SlackSettings, is_slack_id
from bot.events import ChannelKind

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class StaffChannelMissing(LookupError):
    """The staff channel cannot be found: cards have nowhere to go."""


class Expiring(Generic[K, V]):
    """A dict whose entries are forgotten ``ttl`` seconds after they were put."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        item = self._items.get(key)
        if item is None or item[0] < self._clock():
            return False, None
        return True, item[1]

    def put(self, key: K, value: V) -> V:
        self._items[key] = (self._clock() + self.ttl, value)
        return value


class Directory:
    """Channel kinds, the staff channel, display names, roles and DM channels."""

    def __init__(self, client: AsyncWebClient, settings: SlackSettings, names: CoreNames) -> None:
        self.client = client
        self.settings = settings
        self.names = names
        ttl = settings.cache_seconds
        self._channel_ids: Expiring[str, dict[str, str]] = Expiring(ttl)
        self._channel_names: Expiring[str, str | None] = Expiring(ttl)
        self._user_names: Expiring[str, str | None] = Expiring(ttl)
        self._group_ids: Expiring[str, dict[str, str]] = Expiring(ttl)
        self._members: Expiring[str, frozenset[str]] = Expiring(ttl)
        self._dms: dict[str, str] = {}
        self._warned: set[str] = set()

    # -- channels -----------------------------------------------------------------

    async def channel_kind(self, channel: str, channel_type: str | None = None) -> ChannelKind:
        if channel_type == "im" or (channel_type is None and channel.startswith("D")):
            return "dm"
        help_names = set(self.settings.help_channels)
        if channel in help_names:
            return "help"
        if channel == self.settings.staff_channel:
            return "staff"
        name = await self.channel_name(channel)
        if name is not None and name in help_names:
            return "help"
        if name is not None and name == self.settings.staff_channel:
            return "staff"
        return "other"

    async def channel_name(self, channel: str) -> str | None:
        found, name = self._channel_names.get(channel)
        if found:
            return name
        by_name = await self._by_name()
        name = next((n for n, cid in by_name.items() if cid == channel), None)
        if name is None:
            info = await self._call("conversations.info", "channels:read / groups:read", channel=channel)
            name = (info or {}).get("channel", {}).get("name")
        return self._channel_names.put(channel, name)

    async def channel_id(self, name_or_id: str) -> str | None:
        """The id of a configured channel name (ids pass through)."""
        bare = name_or_id.strip().lstrip("#")
        if is_slack_id(bare):
            return bare
        return (await self._by_name()).get(bare.lower())

    async def staff_channel(self) -> str:
        found = await self.channel_id(self.settings.staff_channel)
        if found is None:
            raise StaffChannelMissing(
                f"the staff channel #{self.settings.staff_channel} was not found: invite the bot to it "
                "(/invite @journeybot) or set slack.staff_channel to its id")
        return found

    async def _by_name(self) -> dict[str, str]:
        found, names = self._channel_ids.get("all")
        if found and names is not None:
            return names
        names = {}
        cursor: str | None = None
        for _ in range(50):  # 50 pages of 1000 channels is plenty
            page = await self._call("conversations.list", "channels:read / groups:read",
                                    types="public_channel,private_channel", exclude_archived=True,
                                    limit=1000, cursor=cursor)
            if page is None:
                break
            names.update({c["name"]: c["id"] for c in page.get("channels", []) if "name" in c})
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return self._channel_ids.put("all", names)

    async def dm_channel(self, user: str) -> str:
        """The direct-message channel with ``user``, opened once."""
        if user not in self._dms:
            opened = await self.client.conversations_open(users=user)
            self._dms[user] = opened["channel"]["id"]
        return self._dms[user]

    # -- people -----------------------------------------------------------------

    async def user_name(self, user: str | None) -> str | None:
        if not user:
            return None
        found, name = self._user_names.get(user)
        if found:
            return name
        try:
            info = await self._call("users.info", "users:read", user=user)
        except SlackUnreachable as exc:
            # A name is a courtesy: the message is stored without it rather than refused.
            self._warn("users.info:unreachable", "names unknown while Slack is unreachable (%s)", exc)
            return None
        self._warned.discard("users.info:unreachable")  # reachable again: warn at the next outage
        person = (info or {}).get("user") or {}
        profile = person.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or person.get("real_name")
                or person.get("name") or None)
        return self._user_names.put(user, name)

    async def roles(self, user: str | None) -> tuple[str, ...]:
        """Core role names for ``user``: staff and moderator, from ids and user groups."""
        if not user:
            return ()
        s = self.settings
        roles: list[str] = []
        if user in s.staff_users or user in await self._members_of(s.staff_groups):
            roles.append(self.names.staff_role)
        if user in s.moderator_users or user in await self._members_of(s.moderator_groups):
            roles.append(self.names.moderator_role)
        return tuple(roles)

    async def _members_of(self, groups: Iterable[str]) -> frozenset[str]:
        members: set[str] = set()
        for group in groups:
            group_id = group if is_slack_id(group) else (await self._group_ids_by_handle()).get(group)
            if group_id is None:
                self._warn(f"group:{group}", "user group @%s not found: check slack settings", group)
                continue
            found, users = self._members.get(group_id)
            if not found or users is None:
                listed = await self._call("usergroups.users.list", "usergroups:read", usergroup=group_id)
                users = self._members.put(group_id, frozenset((listed or {}).get("users", [])))
            members |= users
        return frozenset(members)

    async def _group_ids_by_handle(self) -> dict[str, str]:
        found, handles = self._group_ids.get("all")
        if found and handles is not None:
            return handles
        listed = await self._call("usergroups.list", "usergroups:read")
        handles = {g["handle"].lower(): g["id"] for g in (listed or {}).get("usergroups", [])
                   if "handle" in g}
        return self._group_ids.put("all", handles)

    # -- plumbing -----------------------------------------------------------------

    async def _call(self, method: str, scope: str, **params: Any) -> dict[str, Any] | None:
        """A lookup; a failure Slack answered is logged (once per kind) and reads as
        "unknown"; no answer at all raises ``SlackUnreachable``."""
        try:
            call = getattr(self.client, method.replace(".", "_"))
            response = await call(**{k: v for k, v in params.items() if v is not None})
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackUnreachable(f"{method}: {exc}") from exc
        except SlackApiError as exc:
            error = error_of(exc) or "error"
            if error == "missing_scope":
                self._warn(method, "%s needs the %s scope: reinstall the app from the manifest",
                           method, scope)
            else:
                self._warn(f"{method}:{error}", "%s failed (%s)", method, error)
            return None
        return dict(response.data) if isinstance(response.data, dict) else None

    def _warn(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)
