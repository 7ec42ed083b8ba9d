"""An entry's forms (its question forms and, for a docs section, its passages)
kept in step with the live index, inside the writing transaction.

``KnowledgeBase`` writes an entry, then calls these to store the forms that
changed and to add or remove their vectors in the space's index; each index
change is undone if the transaction rolls back (``Sql.on_rollback``). Only a
live entry's forms are in the index: a pending one's are stored and answer no
one until it is approved. Apart from ``knowledge.base`` so each reads on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from knowledge.docs.passages import passage_texts
from knowledge.entries import LIVE, PASSAGE, QUESTION, Entry

if TYPE_CHECKING:  # not a cycle at run time: the knowledge base calls these
    from knowledge.base import KnowledgeBase


async def add_forms(
    kb: KnowledgeBase,
    entry: Entry,
    texts: list[str],
    vectors: np.ndarray | None,
    *,
    author: str | None,
    case: str | None,
    at: datetime,
    kind: str = QUESTION,
) -> None:
    """Store ``texts`` as forms of ``entry`` (embedded unless ``vectors`` are given)
    and, when it is live, put them in its space's index."""
    if not texts:
        return
    if vectors is None:
        vectors = await kb.embedder.embed(texts)
    form_ids = await kb.store.add_forms(entry, texts, vectors, author=author, case=case, at=at,
                                        kind=kind)
    if entry.status != LIVE:
        return  # stored, but answers no one until approved
    kb.db.on_rollback(kb.indexes.add(entry.space, form_ids, entry.id, vectors,
                                     passages=kind == PASSAGE))


async def add_passages(kb: KnowledgeBase, entry: Entry, texts: Sequence[str],
                       known: Mapping[str, np.ndarray] | None, *, author: str | None,
                       at: datetime) -> None:
    """A docs section's passages as forms, with the vectors ``known`` holds if it
    holds them all."""
    texts = list(dict.fromkeys(texts))
    if not texts:
        return
    vectors = None
    if known is not None and all(t in known for t in texts):
        vectors = np.stack([known[t] for t in texts])
    await add_forms(kb, entry, texts, vectors, author=author, case=None, at=at, kind=PASSAGE)


async def replace_passages(kb: KnowledgeBase, old: Entry, new: Entry, known: Mapping[str, np.ndarray] | None,
                           *, author: str | None, at: datetime) -> None:
    """A section's text changed: passages that stayed the same keep their
    vectors; only the new ones are embedded."""
    current = await kb.store.live_forms(old.id, PASSAGE)
    wanted = list(dict.fromkeys(passage_texts(new))) if new.status == LIVE else []
    keep = set(wanted)
    await remove_forms(kb, old.space, [fid for fid, text in current if text not in keep])
    kept = [(fid, text) for fid, text in current if text in keep]
    if old.status != LIVE and kept:  # coming back: re-index the passages it kept
        vectors = await kb.store.form_vectors([fid for fid, _ in kept])
        kb.db.on_rollback(kb.indexes.add(new.space, [f for f, _ in kept], new.id, vectors,
                                         passages=True))
        await kb.store.note_forms([f for f, _ in kept], new.space, "add")
    have = {text for _, text in kept}
    await add_passages(kb, new, [t for t in wanted if t not in have], known, author=author, at=at)


async def remove_forms(kb: KnowledgeBase, space: str, form_ids: list[int]) -> None:
    """Live forms stop answering: out of the store's live forms and the index."""
    if not form_ids:
        return
    vectors = await kb.store.form_vectors(form_ids)
    await kb.store.kill_forms(form_ids, space)
    kb.db.on_rollback(kb.indexes.remove(space, form_ids, vectors))


async def replace_forms(
    kb: KnowledgeBase, old: Entry, new: Entry, *, author: str | None, case: str | None, at: datetime
) -> None:
    """A new version's question forms (or status) changed: forms it still has keep
    their vectors, gone ones leave the index, new ones are embedded."""
    current = await kb.store.live_forms(old.id, QUESTION)
    keep = set(new.questions)
    if new.status != LIVE and old.status == LIVE:
        await remove_forms(kb, old.space, [fid for fid, _ in current])
        return
    if new.status != LIVE:  # never searched (pending): the stored forms follow its questions
        await kb.store.kill_forms([fid for fid, text in current if text not in keep], old.space)
        have = {text for _, text in current if text in keep}
        await add_forms(kb, new, [q for q in new.questions if q not in have], None,
                        author=author, case=case, at=at)
        return
    gone = [fid for fid, text in current if text not in keep]
    await remove_forms(kb, old.space, gone)
    have = {text for fid, text in current if text in keep}
    if old.status != LIVE:  # coming back: re-index the forms it kept
        kept = [(fid, text) for fid, text in current if text in keep]
        if kept:
            vectors = await kb.store.form_vectors([fid for fid, _ in kept])
            kb.db.on_rollback(kb.indexes.add(new.space, [f for f, _ in kept], new.id, vectors))
            await kb.store.note_forms([f for f, _ in kept], new.space, "add")
    await add_forms(kb, new, [q for q in new.questions if q not in have], None,
                    author=author, case=case, at=at)
