"""Model versions: the tuned weights beside the store, and an embedder for each.

Version 0 is the bundled all-MiniLM-L6-v2 and has no file. Version N keeps
only what adaptation changes, the top layers' weights
(``learning.tuning.TOP``), in ``<store>.models/vN.safetensors`` (about 14 MB),
written to a temporary name and renamed, so a file is either whole or absent.
The database records each version's parent, status and held-out figures
(``LearningRepository.models``) and which one answers (``model.current``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import torch
from safetensors.torch import load_file, save_file

from knowledge.embedder import MODEL_NAME, CachedEmbedder, MiniLMEmbedder, model_path

logger = logging.getLogger(__name__)

Weights = dict[str, torch.Tensor]


def model_name(version: int) -> str:
    """What the evidence calls a version: ``all-MiniLM-L6-v2`` or ``all-MiniLM-L6-v2+v3``."""
    return MODEL_NAME if version == 0 else f"{MODEL_NAME}+v{version}"


class ModelFiles:
    """Where tuned weights live: beside the store, or in a throw-away folder for ``:memory:``."""

    def __init__(self, db_path: str, folder: str | None = None) -> None:
        self._tmp: str | None = None
        if folder is not None:
            self.root = Path(folder)
        elif db_path == ":memory:":
            self._tmp = tempfile.mkdtemp(prefix="journeybot-models-")
            self.root = Path(self._tmp)
        elif "://" in db_path:  # a server's database: a folder named after it, never after its URL
            name = urlsplit(db_path).path.strip("/") or "journeybot"
            self.root = Path("journeybot.models") / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        else:
            self.root = Path(db_path + ".models")

    def path(self, version: int) -> Path:
        return self.root / f"v{version}.safetensors"

    def save(self, version: int, weights: Weights) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path(version)
        tmp = final.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in weights.items()}, str(tmp))
        os.replace(tmp, final)
        return final

    def load(self, version: int) -> Weights | None:
        if version == 0:
            return None
        path = self.path(version)
        if not path.exists():
            raise FileNotFoundError(f"model version {version} has no weights at {path}")
        return load_file(str(path))

    def exists(self, version: int) -> bool:
        return version == 0 or self.path(version).exists()

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


class TunedEmbedder(MiniLMEmbedder):
    """The bundled model with a version's tuned top layers in place."""

    def __init__(self, weights: Weights | None, version: int, *, threads: int | None = None,
                 path: Path | None = None) -> None:
        super().__init__(path or model_path(), threads=threads)
        if weights:
            self._encoder.w.update(weights)
        self.version = version
        self.name = model_name(version)


def embedder_for(files: ModelFiles, version: int, *, threads: int | None = None) -> CachedEmbedder:
    """A cached embedder of ``version`` (its file must exist unless it is 0)."""
    return CachedEmbedder(TunedEmbedder(files.load(version), version, threads=threads))
