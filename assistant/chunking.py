"""Heading-aware chunks of recipes: each chunk carries its recipe's title for context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .recipes import Recipe

MAX_CHARS = 600
SECTIONS = ("Symptoms", "Cause", "Fix", "Verify")
SETTINGS = {"max_chars": MAX_CHARS, "sections": list(SECTIONS), "scheme": "title, keys, title+section/paragraphs, code removed", "max_tokens": 128}
CODE_RE = re.compile(r"```.*?(?:```|$)", re.S)
TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_$]*|\d+")
CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with "
    "you your can not do does if when then than so but "
    # which Amplify generation the text is about is read from the input as a whole (Gen 1 / Gen 2
    # markers), not matched as a word: nearly every recipe says "Gen 2"
    "gen gen1 gen2".split()
)


@dataclass(frozen=True)
class Chunk:
    recipe_id: str
    section: str
    text: str


def _paragraphs(body: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    in_code = False
    for block in re.split(r"(\n\s*\n)", body):
        in_code ^= block.count("```") % 2 == 1
        if current and len(current) + len(block) > limit and not in_code:
            parts.append(current.strip())
            current = ""
        current += block
    if current.strip():
        parts.append(current.strip())
    return parts


def chunk_recipe(recipe: Recipe, max_chars: int = MAX_CHARS) -> list[Chunk]:
    head = f"{recipe.title}\n"
    names = " ".join(recipe.amplify_errors)
    chunks = [
        Chunk(recipe.id, "Title", recipe.title),
        Chunk(recipe.id, "Keys", f"{recipe.title}. {names} {' '.join(recipe.tags)}".strip()),
    ]
    for section in SECTIONS:
        body = CODE_RE.sub(" ", recipe.section(section))
        for part in _paragraphs(body, max_chars):
            chunks.append(Chunk(recipe.id, section, f"{head}{section}: {part}"[: max_chars + len(head) + 20]))
    return chunks


def chunk_all(recipes: list[Recipe]) -> list[Chunk]:
    return [chunk for recipe in recipes for chunk in chunk_recipe(recipe)]


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for word in TOKEN_RE.findall(text):
        low = word.lower()
        if low in STOPWORDS or len(low) < 2:
            continue
        out.append(low)
        parts = CAMEL_RE.findall(word)
        if len(parts) > 1:
            out.extend(p.lower() for p in parts if len(p) > 2 and p.lower() not in STOPWORDS)
    return out
