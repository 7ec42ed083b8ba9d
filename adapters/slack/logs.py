"""What slack-bolt logs, kept to what an operator needs.

Bolt writes a refused request's whole body into its log line (at INFO), and a
body holds what members wrote; and it warns at every start that the token in
``SLACK_BOT_TOKEN`` is unused, because we hand it our own Web API client
(base URL, retries, one shared session) which carries that very token. The
app is given ``bolt_logger()``, whose filter Bolt copies to every logger it
makes: bodies are cut from its lines, and that one warning is not logged.
"""

from __future__ import annotations

import logging
import re

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

# Bolt's own wording, so a change of it in Bolt cannot silently bring the warning back.
UNUSED_TOKEN = warning_client_prioritized_and_token_skipped()
_BODY = re.compile(r"\b(request )?body[:=]\s.*", re.IGNORECASE | re.DOTALL)


class WithoutBodies(logging.Filter):
    """Cuts request bodies out of Bolt's records; drops the unused-token warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message == UNUSED_TOKEN:
            return False
        cut = _BODY.sub("body not logged (it holds what members wrote))", message)
        if cut != message:
            record.msg, record.args = cut, ()
        return True


def bolt_logger() -> logging.Logger:
    """The base logger for a Bolt app (its loggers copy this one's filter)."""
    logger = logging.getLogger("adapters.slack.bolt")
    if not any(isinstance(f, WithoutBodies) for f in logger.filters):
        logger.addFilter(WithoutBodies())
    return logger
