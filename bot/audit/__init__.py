"""The evidence trail for a reviewer: verify the chain, show a case, export.

``trail`` reads the hash-chained event log (read-only) and checks it;
``render`` tells one case's story in words. The ``journeybot audit`` commands
are thin wrappers over these.
"""

from bot.audit.render import describe, render
from bot.audit.trail import (
    CaseNotFound,
    ChainCheck,
    LogRecord,
    Story,
    export,
    read_export,
    records,
    story,
    verify,
)

__all__ = ["CaseNotFound", "ChainCheck", "LogRecord", "Story", "describe", "export", "read_export",
           "records", "render", "story", "verify"]
