"""Every space's live vector index, the form → entry map, and their snapshots.

Loading never re-embeds: vectors come from the store, and a large space's
HNSW graph from its snapshot when that matches the store's change feed
exactly. Changes happen in place; each returns how to undo it, so the
caller can undo it should its transaction roll back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from knowledge.store import EntryStore
from knowledge.vectors import VectorIndex

logger = logging.getLogger(__name__)

Undo = Callable[[], None]


class SpaceIndexes:
    """One ``VectorIndex`` per space (one space never searches another's)."""

    def __init__(self, store: EntryStore, *, dim: int, hnsw_min: int, snapshot_dir: Path | None) -> None:
        self.store = store
        self.dim = dim
        self.hnsw_min = hnsw_min
        self.snapshot_dir = snapshot_dir
        self._indexes: dict[str, VectorIndex] = {}
        self._form_entry: dict[int, str] = {}
        self._dirty: set[str] = set()
        self._seq = 0  # the change feed has been applied up to here
        self._following = asyncio.Lock()  # one catch-up at a time: a form is never added twice
        self.version = 0  # bumped by every change: tells a result computed earlier from a current one

    async def load(self) -> None:
        ids, entry_ids, spaces = await self.store.load_live_forms()
        self._form_entry = dict(zip(ids.tolist(), entry_ids, strict=True))
        counts: dict[str, int] = defaultdict(int)
        for space in spaces:
            counts[space] += 1
        seq = self._seq = await self.store.change_seq()
        for space, count in counts.items():
            index = await asyncio.to_thread(self._from_snapshot, space, count, seq)
            if index is None:
                space_ids, vectors = await self.store.space_vectors(space, self.dim)
                index = await asyncio.to_thread(self._build, space, space_ids, vectors, seq)
            self._indexes[space] = index
        logger.info("knowledge loaded: %d question forms in %d space(s)", len(ids), len(self._indexes))

    async def catch_up(self) -> int:
        """Apply what other processes changed (the store's change feed) since
        the last look; our own changes in it are recognised and skipped.
        Returns how many forms were added or removed."""
        async with self._following:
            return await self._apply_changes()

    async def _apply_changes(self) -> int:
        changes = await self.store.changes_since(self._seq)
        if not changes:
            return 0
        self._seq = changes[-1][0]
        final: dict[int, tuple[str, str]] = {}
        for _, form_id, space, op in changes:
            final[form_id] = (op, space)
        gone: dict[str, list[int]] = defaultdict(list)
        wanted: list[int] = []
        for form_id, (op, space) in final.items():
            if op == "remove" and form_id in self._form_entry:
                gone[space].append(form_id)
            elif op == "add" and form_id not in self._form_entry:
                wanted.append(form_id)
        applied = 0
        for space, form_ids in gone.items():
            self.index_of(space).remove(np.array(form_ids, dtype=np.int64))
            for form_id in form_ids:
                self._form_entry.pop(form_id, None)
            self._dirty.add(space)
            applied += len(form_ids)
        for form_id, entry_id, space, blob in await self.store.answerable_forms(wanted):
            vector = np.frombuffer(blob, dtype=np.float32).reshape(1, self.dim)
            self.index_of(space).add(np.array([form_id], dtype=np.int64), vector)
            self._form_entry[form_id] = entry_id
            self._dirty.add(space)
            applied += 1
        self.version += 1
        if applied:
            logger.info("knowledge changed elsewhere: %d question form(s) followed into the index", applied)
        return applied

    async def save(self) -> None:
        if not self._dirty:
            return
        seq = await self.store.change_seq()
        for space in sorted(self._dirty):
            index = self._indexes.get(space)
            if index is not None and index.kind == "hnsw":
                await asyncio.to_thread(self._save_snapshot, space, index, seq)
        self._dirty.clear()

    def index_of(self, space: str) -> VectorIndex:
        index = self._indexes.get(space)
        if index is None:
            index = self._indexes[space] = VectorIndex(self.dim)
        return index

    def size(self, space: str | None = None) -> int:
        if space is not None:
            index = self._indexes.get(space)
            return len(index) if index else 0
        return sum(len(index) for index in self._indexes.values())

    async def nearest(self, space: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(entry id, score) of the ``k`` nearest question forms, best first."""
        return await asyncio.to_thread(self.nearest_now, space, vector, k)

    def nearest_now(self, space: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """``nearest`` on the calling thread (callers off the event loop only)."""
        index = self._indexes.get(space)
        if index is None or len(index) == 0:
            return []
        scores, form_ids = index.search(vector, k)
        found = []
        for score, form_id in zip(scores[0], form_ids[0], strict=True):
            entry_id = self._form_entry.get(int(form_id))
            if entry_id is not None:
                found.append((entry_id, float(score)))
        return found

    def add(self, space: str, form_ids: Sequence[int], entry_id: str, vectors: np.ndarray) -> Undo:
        index = self.index_of(space)
        ids = np.array(form_ids, dtype=np.int64)
        index.add(ids, vectors)
        for form_id in form_ids:
            self._form_entry[form_id] = entry_id
        self._dirty.add(space)
        self.version += 1

        def undo() -> None:
            index.remove(ids)
            self.version += 1
            for form_id in form_ids:
                self._form_entry.pop(form_id, None)

        return undo

    def remove(self, space: str, form_ids: Sequence[int], vectors: np.ndarray) -> Undo:
        index = self.index_of(space)
        ids = np.array(form_ids, dtype=np.int64)
        owners = {fid: self._form_entry.pop(fid, None) for fid in form_ids}
        index.remove(ids)
        self._dirty.add(space)
        self.version += 1

        def undo() -> None:
            index.add(ids, vectors)
            self.version += 1
            for fid, owner in owners.items():
                if owner is not None:
                    self._form_entry[fid] = owner

        return undo

    # -- snapshots -------------------------------------------------------------

    def _kind_for(self, count: int) -> str:
        return "hnsw" if count >= self.hnsw_min else "exact"

    def _from_snapshot(self, space: str, count: int, seq: int) -> VectorIndex | None:
        """A saved HNSW graph, if it matches the store exactly."""
        snapshot = self._snapshot_path(space)
        if self._kind_for(count) != "hnsw" or snapshot is None or not snapshot.exists():
            return None
        try:
            meta = json.loads(snapshot.with_suffix(".json").read_text())
            index = VectorIndex.load(snapshot, self.dim, "hnsw")
        except (OSError, ValueError, RuntimeError) as exc:
            logger.warning("index snapshot for %s unreadable (%s); rebuilding", space, exc)
            return None
        if meta.get("seq") == seq and len(index) == count:
            return index
        logger.info("index snapshot for %s is out of date; rebuilding", space)
        return None

    def _build(self, space: str, ids: np.ndarray, vectors: np.ndarray, seq: int) -> VectorIndex:
        kind = self._kind_for(len(ids))
        if kind == "hnsw":
            logger.info("building an HNSW index over %d forms in %s (saved for next start)", len(ids), space)
        index = VectorIndex(self.dim, kind=kind)
        index.add(ids, vectors)
        if kind == "hnsw":
            self._save_snapshot(space, index, seq)
        return index

    def _snapshot_path(self, space: str) -> Path | None:
        if self.snapshot_dir is None:
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in space)
        return self.snapshot_dir / f"{safe}.faiss"

    def _save_snapshot(self, space: str, index: VectorIndex, seq: int) -> None:
        path = self._snapshot_path(space)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        index.save(tmp)
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps({"seq": seq}))
