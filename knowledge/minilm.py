"""all-MiniLM-L6-v2's forward pass in plain torch, over the bundled weights.

Why not ``transformers.BertModel``: importing it costs about 2 s of the 5 s
start-up budget at 100k entries, for a 6-layer BERT encoder that is a few
matrix products per layer. This module reads the same ``model.safetensors``
and ``config.json`` the package ships and computes the same hidden states
(``tests/knowledge/test_embedder.py`` checks it against sentence-transformers
and transformers to 1e-5).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


class BertEncoder:
    """A BERT encoder (absolute positions, post-norm, GELU) in inference mode."""

    def __init__(self, path: Path) -> None:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if config.get("position_embedding_type", "absolute") != "absolute" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{path}: not a plain BERT encoder this module can run")
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        weights = load_file(str(path / "model.safetensors"))
        prefix = "bert." if any(k.startswith("bert.") for k in weights) else ""
        self.w: dict[str, Any] = {k.removeprefix(prefix): v for k, v in weights.items()}

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (self.hidden,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token, position and type embeddings, normalised: the input of layer 0."""
        w = self.w
        length = ids.shape[1]
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length].unsqueeze(0)
             + w["embeddings.token_type_embeddings.weight"][0])
        return self._norm(x, "embeddings.LayerNorm")

    def run(self, x: torch.Tensor, mask: torch.Tensor, layers: Iterable[int],
            weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """``x`` through ``layers``; ``weights`` replaces some of the model's own
        (a tuned top layer, see ``learning.tuning``). Differentiable."""
        w = self.w if weights is None else {**self.w, **weights}
        batch, length, _ = x.shape
        keep = mask.bool()[:, None, None, :]  # padding never attended to
        per_head = self.hidden // self.heads

        def linear(t: torch.Tensor, name: str) -> torch.Tensor:
            return F.linear(t, w[f"{name}.weight"], w[f"{name}.bias"])

        def norm(t: torch.Tensor, name: str) -> torch.Tensor:
            return F.layer_norm(t, (self.hidden,), w[f"{name}.weight"], w[f"{name}.bias"], self.eps)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, per_head).transpose(1, 2)

        for n in layers:
            at = f"encoder.layer.{n}"
            q = split(linear(x, f"{at}.attention.self.query"))
            k = split(linear(x, f"{at}.attention.self.key"))
            v = split(linear(x, f"{at}.attention.self.value"))
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            attended = attended.transpose(1, 2).reshape(batch, length, self.hidden)
            x = norm(linear(attended, f"{at}.attention.output.dense") + x, f"{at}.attention.output.LayerNorm")
            inner = F.gelu(linear(x, f"{at}.intermediate.dense"))
            x = norm(linear(inner, f"{at}.output.dense") + x, f"{at}.output.LayerNorm")
        return x

    @torch.inference_mode()
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states, shape (batch, tokens, hidden)."""
        return self.run(self.embed(ids), mask, range(self.layers))
