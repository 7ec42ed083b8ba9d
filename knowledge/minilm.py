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

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    @torch.inference_mode()
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states, shape (batch, tokens, hidden)."""
        batch, length = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length].unsqueeze(0)
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        keep = mask.bool()[:, None, None, :]  # padding never attended to
        per_head = self.hidden // self.heads
        for n in range(self.layers):
            at = f"encoder.layer.{n}"

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(batch, length, self.heads, per_head).transpose(1, 2)

            q = split(self._linear(x, f"{at}.attention.self.query"))
            k = split(self._linear(x, f"{at}.attention.self.key"))
            v = split(self._linear(x, f"{at}.attention.self.value"))
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            attended = attended.transpose(1, 2).reshape(batch, length, self.hidden)
            x = self._norm(self._linear(attended, f"{at}.attention.output.dense") + x,
                           f"{at}.attention.output.LayerNorm")
            inner = F.gelu(self._linear(x, f"{at}.intermediate.dense"))
            x = self._norm(self._linear(inner, f"{at}.output.dense") + x, f"{at}.output.LayerNorm")
        return x
