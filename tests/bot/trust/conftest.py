"""Fixtures for the trust detectors: corpus loading and the bundled embedding model."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"

Embed = Callable[[Sequence[str]], np.ndarray]


def read_corpus(name: str) -> list[dict[str, Any]]:
    """Rows of ``data/<name>.jsonl``."""
    with (DATA / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def corpus() -> Callable[[str], list[dict[str, Any]]]:
    """Loader for the JSON-lines corpora beside these tests."""
    return read_corpus


@pytest.fixture(scope="session")
def embed(embedder: Any) -> Embed:
    """Batch embedding with the session's bundled all-MiniLM-L6-v2 (tests/conftest.py)."""
    return embedder.encode  # type: ignore[no-any-return]
