"""The ledger (``learning.ledger``) kept current from the event log, and kept
in the store between runs.

``catch_up`` folds the records written since the ledger's head, a batch at a
time (memory stays bounded however long the log). Every ``CHUNK`` records of
the log, what was folded is kept in the store's ``meta`` table, compressed, as
one chunk that never changes again (the log only grows); ``restore`` reads the
chunks back, so a restart folds only what came after the last one. The key
names what a chunk holds (``FIELDS``): when a figure reads a new field, old
chunks are not read, and the log is folded again.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from learning.ledger import Ledger
from learning.tally import CANDIDATE_FIELDS, FIELDS
from storage.eventlog import EventLog, Record
from storage.meta import Meta
from storage.sql import Sql

logger = logging.getLogger(__name__)

CHUNK = 50_000  # log records per kept chunk
BATCH = 5_000  # records folded at a time
_SHAPE = hashlib.sha256(repr((sorted(FIELDS.items()), CANDIDATE_FIELDS)).encode()).hexdigest()[:12]
KEY = f"scorecard-ledger:{_SHAPE}:"


@contextmanager
def no_collection() -> Iterator[None]:
    """Folding or counting makes many objects and no cycles: the cycle collector
    would walk the whole ledger again and again for nothing. After, what is left
    is frozen out of its sight (reference counting still frees it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        gc.freeze()


async def catch_up(ledger: Ledger, db: Sql, *, keep_in: Sql | None = None) -> int:
    """Fold what the log gained since the ledger's head; returns how many
    records. With ``keep_in`` (a connection that may write), every ``CHUNK``
    records are kept there as they are folded."""
    taken = 0
    batch: list[Record] = []
    async for rec in EventLog(db).records(after=ledger.head):
        batch.append(rec)
        if len(batch) >= BATCH:
            taken += _fold(ledger, batch)
            batch = []
            if keep_in is not None and ledger.head - ledger.saved_head >= CHUNK:
                try:
                    await keep(ledger, keep_in)
                except Exception as exc:  # a busy or full store: it is only kept to save time
                    logger.warning("scorecard ledger: keeping a chunk failed (%s); it is kept later", exc)
    return taken + _fold(ledger, batch)


def _fold(ledger: Ledger, batch: list[Record]) -> int:
    with no_collection():
        return ledger.fold(batch)


async def keep(ledger: Ledger, db: Sql) -> None:
    """Keep what was folded since the last chunk as the next chunk."""
    if ledger.head == ledger.saved_head:
        return
    number, chunk = ledger.chunks, ledger.chunk()
    data = zlib.compress(json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    await Meta(db).put(f"{KEY}{number}", base64.b64encode(data).decode("ascii"))
    ledger.kept(chunk)
    logger.info("scorecard ledger: kept chunk %d (up to record %d, %d KB)", number, ledger.head, len(data) // 1024)


async def restore(db: Sql) -> Ledger:
    """The ledger as kept in the store. A chunk that does not read or does not
    follow ends the reading: the log is folded from there (and the chunks from
    there are written again)."""
    ledger = Ledger()
    while (text := await Meta(db).get(f"{KEY}{ledger.chunks}")) is not None:
        try:
            chunk = json.loads(zlib.decompress(base64.b64decode(text)))
            with no_collection():
                ledger.take(chunk)
        except (ValueError, KeyError, TypeError, zlib.error) as exc:
            logger.warning("scorecard ledger: chunk %d cannot be read (%s); the log is read again from record %d",
                           ledger.chunks, exc, ledger.head)
            break
    if ledger.chunks:
        logger.info("scorecard ledger: %d chunks read back, up to record %d", ledger.chunks, ledger.head)
    return ledger
