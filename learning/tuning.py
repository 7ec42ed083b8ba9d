"""Contrastive fine-tuning of the bundled MiniLM's top layers, on CPU.

Why only the top layers: on 2 shared cores a full fine-tune of all six
layers costs seconds per step. The lower layers are frozen, so their output
for a text is computed once and kept (``Lower``); a training step then runs
forward and backward through the top ``TOP`` layers only, and re-embedding
every question form after a promotion costs a third of a full pass.

The objective is Multiple Negatives Ranking (in-batch negatives, as
sentence-transformers' ``MultipleNegativesRankingLoss``): each anchor question
must be closer to another question form of its own entry than to the other
anchors' positives, plus one hard negative per anchor, a form of the entry the
current model confuses it with most. Everything is seeded and single-threaded
so the same pairs give the same weights (``replay`` stays deterministic).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from knowledge.embedder import MAX_TOKENS
from knowledge.minilm import BertEncoder

logger = logging.getLogger(__name__)

Fn = TypeVar("Fn", bound=Callable[..., Any])


def _without_grad(fn: Fn) -> Fn:
    """``torch.no_grad`` as a decorator that keeps ``fn``'s type (torch is not type-checked)."""
    return cast(Fn, torch.no_grad()(fn))

TOP = 2  # layers trained; the ones below are frozen and cached
TRAIN_TOKENS = 24  # training sees a text's first tokens only (questions are short; cost is per token)


def layer_names(layers: Sequence[int]) -> list[str]:
    return [f"encoder.layer.{n}." for n in layers]


class TopLayers:
    """The base encoder split in two: frozen lower layers, trainable upper ones.

    ``weights`` (the upper layers' tensors) can be replaced by a tuned set;
    ``encode`` then gives exactly what the full model with those weights gives.
    """

    def __init__(self, path: Path, *, top: int = TOP, max_tokens: int = MAX_TOKENS) -> None:
        self.base = BertEncoder(path)
        self.split = self.base.layers - top
        self.upper = list(range(self.split, self.base.layers))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        prefixes = tuple(layer_names(self.upper))
        self.base_upper = {k: v for k, v in self.base.w.items() if k.startswith(prefixes)}

    # -- the frozen part ------------------------------------------------------

    @_without_grad
    def lower(self, texts: Sequence[str], batch: int = 64) -> list[torch.Tensor]:
        """Hidden states after the frozen layers, one (tokens, hidden) tensor per text."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding per batch
        found: dict[int, torch.Tensor] = {}
        for start in range(0, len(order), batch):
            picked = order[start:start + batch]
            chunk = [texts[i] for i in picked]
            enc = self.tokenizer.encode_batch(chunk)
            ids = torch.tensor([e.ids for e in enc])
            mask = torch.tensor([e.attention_mask for e in enc])
            x = self.base.embed(ids)
            x = self.base.run(x, mask, range(self.split))
            for i, row, m in zip(picked, x, mask, strict=True):
                found[i] = row[: int(m.sum())].clone()
        return [found[i] for i in range(len(texts))]

    # -- the trainable part ---------------------------------------------------

    def upper_pass(self, states: Sequence[torch.Tensor], weights: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled, normalised sentence vectors from lower states through the upper layers."""
        length = max(int(s.shape[0]) for s in states)
        x = torch.zeros(len(states), length, self.base.hidden)
        mask = torch.zeros(len(states), length, dtype=torch.long)
        for i, s in enumerate(states):
            x[i, : s.shape[0]] = s
            mask[i, : s.shape[0]] = 1
        x = self.base.run(x, mask, self.upper, weights=weights)
        w = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * w).sum(1) / w.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=1)

    @_without_grad
    def encode_states(self, states: Sequence[torch.Tensor], weights: dict[str, torch.Tensor] | None,
                      batch: int = 64) -> np.ndarray:
        weights = weights if weights is not None else self.base_upper
        out = np.zeros((len(states), self.base.hidden), dtype=np.float32)
        order = sorted(range(len(states)), key=lambda i: int(states[i].shape[0]))
        for start in range(0, len(order), batch):
            picked = order[start:start + batch]
            out[picked] = self.upper_pass([states[i] for i in picked], weights).numpy()
        return out


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """One adaptation's training.

    ``loss``: ``mnrl`` (an anchor, one positive form of its entry, the other
    anchors' positives and the hard negatives as negatives) or ``supcon`` (a
    supervised contrastive loss by entry: ``forms`` forms of each entry in the
    batch, every other form of the same entry a positive). ``keep`` weighs a
    term that holds the similarities between forms of *different* entries
    where the base model put them (the off-topic side of the space).
    """

    steps: int = 20
    batch: int = 16
    lr: float = 5e-5
    scale: float = 20.0
    hard_negatives: bool = True
    seed: int = 0
    max_tokens: int = TRAIN_TOKENS
    loss: str = "mnrl"
    forms: int = 2
    keep: float = 0.0
    temperature: float = 0.05


@dataclass(frozen=True, slots=True)
class Batch:
    rows: list[int]  # indices into the training rows
    labels: list[str]  # the entry of each row
    anchors: int  # mnrl: the first ``anchors`` rows are anchors, the next as many their positives


def draw(rng: random.Random, pairable: Sequence[str], by_label: dict[str, list[int]],
         confusions: dict[str, str], config: TrainConfig) -> Batch:
    """One step's rows: ``batch`` entries with their forms, then one hard negative per entry."""
    chosen = rng.sample(pairable, min(config.batch, len(pairable)))
    per = 2 if config.loss == "mnrl" else max(2, config.forms)
    groups, negatives, negative_labels = [], [], []
    for label in chosen:
        groups.append(rng.sample(by_label[label], min(per, len(by_label[label]))))
        other = confusions.get(label)
        if config.hard_negatives and other is not None and other in by_label and other not in chosen:
            negatives.append(rng.choice(by_label[other]))
            negative_labels.append(other)
    if config.loss == "mnrl":
        return Batch([g[0] for g in groups] + [g[1] for g in groups] + negatives,
                     chosen + chosen + negative_labels, len(chosen))
    rows = [i for g in groups for i in g]
    labels = [label for label, g in zip(chosen, groups, strict=True) for _ in g]
    return Batch(rows + negatives, labels + negative_labels, 0)


def batch_loss(vectors: torch.Tensor, batch: Batch, config: TrainConfig) -> torch.Tensor:
    if config.loss == "mnrl":
        n = batch.anchors
        logits = config.scale * vectors[:n] @ vectors[n:].T
        return F.cross_entropy(logits, torch.arange(n))
    names = {label: k for k, label in enumerate(dict.fromkeys(batch.labels))}
    ids = torch.tensor([names[label] for label in batch.labels])
    same = (ids[:, None] == ids[None, :]).float()
    eye = torch.eye(len(ids))
    positives = same - eye
    logits = (vectors @ vectors.T) / config.temperature - eye * 1e4
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    count = positives.sum(1)
    anchors = count > 0
    per_anchor = -(log_prob * positives).sum(1)[anchors] / count[anchors]
    return per_anchor.mean()


def geometry_loss(vectors: torch.Tensor, base: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Mean squared change of the similarities between forms of different entries."""
    other = torch.tensor([[a != b for b in batch.labels] for a in batch.labels], dtype=torch.bool)
    change = (vectors @ vectors.T - base @ base.T)[other]
    return (change ** 2).mean() if change.numel() else vectors.sum() * 0.0


def train(model: TopLayers, states: Sequence[torch.Tensor], labels: Sequence[str],
          start: dict[str, torch.Tensor] | None, config: TrainConfig,
          confusions: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Tuned upper-layer weights from (text state, entry) rows, starting at ``start``.

    ``confusions`` maps an entry to the entry it is most often mistaken for;
    a form of that one is each anchor's hard negative.
    """
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    pairable = sorted(k for k, v in by_label.items() if len(v) >= 2)
    source = start if start is not None else model.base_upper
    weights = {k: v.detach().clone().requires_grad_(True) for k, v in source.items()}
    if len(pairable) < 2:
        return {k: v.detach() for k, v in weights.items()}
    optimiser = Adam(list(weights.values()), lr=config.lr)
    confusions = confusions or {}
    cut = config.max_tokens
    for _ in range(config.steps):
        batch = draw(rng, pairable, by_label, confusions, config)
        texts = [states[i][:cut] for i in batch.rows]
        vectors = model.upper_pass(texts, weights)
        loss = batch_loss(vectors, batch, config)
        if config.keep > 0:
            with torch.no_grad():
                base = model.upper_pass(texts, model.base_upper)
            loss = loss + config.keep * geometry_loss(vectors, base, batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return {k: v.detach() for k, v in weights.items()}


class Adam:
    """Adam (Kingma & Ba), a few lines: ``torch.optim`` imports the compiler
    machinery on first use, which costs seconds inside an event on 2 cores."""

    def __init__(self, params: list[torch.Tensor], *, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = params
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @_without_grad
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        fix1, fix2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            if p.grad is None:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p.addcdiv_(m / fix1, (v / fix2).sqrt_().add_(self.eps), value=-self.lr)
