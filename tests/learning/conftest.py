"""A core with a learning loop on a store on disk (model files live beside it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core
from bot.learn import make_learner
from knowledge.embedder import CachedEmbedder
from tests.chat import make_core

ROOT = Path(__file__).resolve().parents[2]
DEMO_KB = ROOT / "data" / "demo" / "knowledge.yaml"


async def core_with_learner(embedder: CachedEmbedder, db: str, **settings: Any) -> Core:
    core = await make_core(embedder, kb=DEMO_KB, db=db, **settings)
    core.learner = make_learner(core.settings, core.db, core.kb)
    await core.learner.open()
    return core


@pytest.fixture
async def learning_core(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[Core]:
    core = await core_with_learner(embedder, str(tmp_path / "store.db"))
    try:
        yield core
    finally:
        await core.close()
