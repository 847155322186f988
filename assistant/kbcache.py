"""A compiled copy of the knowledge base, so a cold start does not re-parse every recipe.

Stored as JSON next to the index (never pickle: the file is data, not code) and keyed by the
hash of the recipe files and the product version; any mismatch rebuilds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .chunking import Chunk, chunk_all, tokenize
from .index import _write_atomic
from .recipes import Recipe, knowledge_hash, load_recipes
from .retrieve import signature_literals

CACHE_FILE = "knowledge.json"
FORMAT = 2  # bumped whenever tokenizing or compiling changes


@dataclass
class Knowledge:
    recipes: list[Recipe]
    chunks: list[Chunk]
    tokens: list[list[str]]
    literals: dict[str, list[str] | None]


def _to_dict(recipe: Recipe, root: Path) -> dict:
    return {
        "id": recipe.id, "title": recipe.title, "kind": recipe.kind, "area": recipe.area,
        "amplify_errors": list(recipe.amplify_errors), "signatures": list(recipe.signatures),
        "tags": list(recipe.tags), "sources": [list(s) for s in recipe.sources], "sections": recipe.sections,
        "path": recipe.path.relative_to(root).as_posix(), "generic": recipe.generic,
        "generation": recipe.generation, "related": list(recipe.related),
    }


def _from_dict(raw: dict, root: Path) -> Recipe:
    return Recipe(
        id=raw["id"], title=raw["title"], kind=raw["kind"], area=raw["area"],
        amplify_errors=tuple(raw["amplify_errors"]), signatures=tuple(raw["signatures"]), tags=tuple(raw["tags"]),
        sources=tuple((k, v) for k, v in raw["sources"]), sections=dict(raw["sections"]), path=root / raw["path"],
        generic=raw["generic"], generation=raw["generation"], related=tuple(raw["related"]),
    )


def _read(cache: Path, root: Path, digest: str) -> Knowledge | None:
    try:
        raw = json.loads(cache.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT or raw.get("version") != __version__ or raw.get("knowledge_hash") != digest:
            return None
        recipes = [_from_dict(r, root) for r in raw["recipes"]]
        chunks = [Chunk(*c) for c in raw["chunks"]]
        tokens = raw["tokens"]
        literals = raw["literals"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(tokens) != len(chunks):
        return None
    return Knowledge(recipes, chunks, tokens, literals)


def load_knowledge(root: Path, cache_dir: Path) -> Knowledge:
    """The recipes, their chunks and BM25 tokens: from the cache when current, else parsed."""
    digest = knowledge_hash(root)
    cache = cache_dir / CACHE_FILE
    found = _read(cache, root, digest)
    if found is not None:
        return found
    recipes = load_recipes(root)
    chunks = chunk_all(recipes)
    tokens = [tokenize(c.text) for c in chunks]
    literals = {p: signature_literals(p) for r in recipes for p in r.signatures}
    payload = {
        "format": FORMAT, "version": __version__, "knowledge_hash": digest,
        "recipes": [_to_dict(r, root) for r in recipes],
        "chunks": [[c.recipe_id, c.section, c.text] for c in chunks], "tokens": tokens,
        "literals": literals,
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(cache, lambda p: p.write_text(json.dumps(payload), encoding="utf-8"))
    except OSError:
        pass  # a read-only install still works, only slower to start
    return Knowledge(recipes, chunks, tokens, literals)
