"""Reading Slack's errors: which call failed how, and whether trying again helps."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

# A retry will not fix these: the action is logged and dropped instead of
# holding up every later action in the outbox.
PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found",
    "user_not_found", "cannot_dm_bot", "user_disabled", "restricted_action",
})
# The bot cannot show an ephemeral message there: try the response URL or a DM.
NOT_VISIBLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel", "is_archived"})
# The token itself is the problem.
REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                     "token_expired", "not_allowed_token_type"})


class SlackSetupError(RuntimeError):
    """journeybot cannot work in this workspace as set up; the message says how to fix it."""


class SlackTokenError(SlackSetupError):
    """A token is missing or Slack refused it; the message says which and how to fix it."""


class SlackUnreachable(ConnectionError):
    """Slack's Web API could not be reached (connection refused, dropped or timed out)."""


def error_of(exc: SlackApiError) -> str:
    """Slack's error code (``ratelimited``, ``not_in_channel`` …), or "" when there is none."""
    response = exc.response
    data = getattr(response, "data", response)
    return str(data.get("error", "")) if isinstance(data, dict) else ""
