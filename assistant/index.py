"""The dense index: chunk vectors in FAISS plus a manifest of what built it."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import __version__
from .chunking import SETTINGS as CHUNK_SETTINGS
from .chunking import Chunk, chunk_all
from .embed import Embedder, Progress
from .errors import IndexStateError
from .recipes import Recipe, knowledge_hash

INDEX_FILE = "vectors.faiss"
CHUNKS_FILE = "chunks.json"
MANIFEST_FILE = "manifest.json"
FORMAT = 1


@dataclass
class DenseIndex:
    chunks: list[Chunk]
    index: object  # faiss.Index
    manifest: dict

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        scores, ids = self.index.search(vector.reshape(1, -1).astype(np.float32), min(k, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_manifest(knowledge_dir: Path, embedder_id: str) -> dict:
    return {
        "format": FORMAT,
        "ampfix_version": __version__,
        "embedder": embedder_id,
        "chunking": CHUNK_SETTINGS,
        "knowledge_hash": knowledge_hash(knowledge_dir),
    }


def read_manifest(index_dir: Path) -> dict | None:
    try:
        return json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def staleness(index_dir: Path, expected: dict) -> str | None:
    """Why the index on disk cannot be used, or None when it is current."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return "no index has been built yet"
    for key in ("format", "embedder", "chunking", "knowledge_hash"):
        if manifest.get(key) != expected[key]:
            return f"the {key.replace('_', ' ')} changed since the index was built"
    for name in (INDEX_FILE, CHUNKS_FILE):
        path = index_dir / name
        if not path.is_file() or _sha256(path) != manifest.get("files", {}).get(name):
            return f"{name} is missing or damaged"
    return None


@contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the index is shared data
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _previous_vectors(index_dir: Path, embedder_id: str) -> dict[str, np.ndarray]:
    """Vectors of the last build by chunk text, when the same embedder made them."""
    import faiss

    manifest = read_manifest(index_dir)
    if not manifest or manifest.get("embedder") != embedder_id:
        return {}
    try:
        index = faiss.read_index(str(index_dir / INDEX_FILE))
        raw = json.loads((index_dir / CHUNKS_FILE).read_text(encoding="utf-8"))
        if index.ntotal != len(raw):
            return {}
        old = index.reconstruct_n(0, index.ntotal)
    except (OSError, RuntimeError, ValueError, KeyError):
        return {}
    return {r["text"]: old[i] for i, r in enumerate(raw)}


def _embed_reusing(index_dir: Path, embedder: Embedder, texts: list[str], progress: Progress | None) -> np.ndarray:
    """Embed only the chunks whose text changed since the last build."""
    previous = _previous_vectors(index_dir, embedder.id)
    todo = [t for t in dict.fromkeys(texts) if t not in previous]
    if todo:
        fresh = embedder.embed(todo, progress)
        previous.update(zip(todo, fresh))
    elif progress:
        progress(len(texts), len(texts))
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.ascontiguousarray(np.vstack([previous[t] for t in texts]), dtype=np.float32)


def build(recipes: list[Recipe], knowledge_dir: Path, index_dir: Path, embedder: Embedder,
          progress: Progress | None = None) -> dict:
    """Embed every chunk and write the index atomically; returns the manifest."""
    import faiss

    expected = expected_manifest(knowledge_dir, embedder.id)
    with _lock(index_dir):
        if staleness(index_dir, expected) is None:
            return read_manifest(index_dir) or {}
        started = time.perf_counter()
        chunks = chunk_all(recipes)
        vectors = _embed_reusing(index_dir, embedder, [c.text for c in chunks], progress)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        payload = [{"recipe_id": c.recipe_id, "section": c.section, "text": c.text} for c in chunks]
        _write_atomic(index_dir / INDEX_FILE, lambda p: faiss.write_index(index, str(p)))
        _write_atomic(index_dir / CHUNKS_FILE, lambda p: p.write_text(json.dumps(payload), encoding="utf-8"))
        manifest = dict(expected)
        manifest.update({
            "chunks": len(chunks), "recipes": len(recipes), "dimensions": int(vectors.shape[1]),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 2),
            "files": {name: _sha256(index_dir / name) for name in (INDEX_FILE, CHUNKS_FILE)},
        })
        _write_atomic(index_dir / MANIFEST_FILE, lambda p: p.write_text(json.dumps(manifest, indent=2), encoding="utf-8"))
        return manifest


def load(index_dir: Path) -> DenseIndex:
    import faiss

    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexStateError(f"no index in {index_dir}", "run `ampfix index build`")
    try:
        index = faiss.read_index(str(index_dir / INDEX_FILE))
        raw = json.loads((index_dir / CHUNKS_FILE).read_text(encoding="utf-8"))
    except (OSError, RuntimeError, ValueError) as exc:
        raise IndexStateError(f"the index in {index_dir} cannot be read: {exc}", "run `ampfix index build`") from exc
    chunks = [Chunk(r["recipe_id"], r["section"], r["text"]) for r in raw]
    if index.ntotal != len(chunks):
        raise IndexStateError(f"the index in {index_dir} is inconsistent", "run `ampfix index build`")
    return DenseIndex(chunks=chunks, index=index, manifest=manifest)
