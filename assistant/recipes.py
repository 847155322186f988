"""Recipes: Markdown files with YAML front matter, loaded and validated strictly."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from .errors import RecipeError

KINDS = ("error", "pattern")
AREAS = (
    "auth", "data", "functions", "storage", "deploy", "sandbox", "hosting", "client", "cli",
    "secrets", "credentials", "ai", "seed", "outputs", "backend", "notifications", "gen1",
)
REQUIRED_SECTIONS = ("Symptoms", "Cause", "Fix", "Verify")
OPTIONAL_SECTIONS = ("Related",)
SOURCE_KEYS = ("docs", "issue", "source", "discussion", "url")
REQUIRED_KEYS = ("id", "title", "kind", "area", "amplify_errors", "signatures", "tags", "sources")
OPTIONAL_KEYS = ("generic", "generation")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ERROR_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
ISSUE_RE = re.compile(r"^[\w.-]+/[\w.-]+#\d+$")
PLACEHOLDERS = {
    "function_name": "myFunction",
    "model_name": "Todo",
    "secret_name": "MY_SECRET",
    "stack_name": "amplify-myapp-sandbox",
    "field_name": "content",
    "bucket_name": "myBucket",
    "region": "us-east-1",
    "account_id": "123456789012",
    "branch_name": "main",
    "resource_name": "myResource",
}
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True)
class Recipe:
    id: str
    title: str
    kind: str
    area: str
    amplify_errors: tuple[str, ...]
    signatures: tuple[str, ...]
    tags: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    sections: dict[str, str]
    path: Path
    generic: bool = False
    generation: int = 2
    related: tuple[str, ...] = field(default=())

    @property
    def compiled(self) -> tuple[re.Pattern[str], ...]:
        return tuple(compile_signature(p) for p in self.signatures)

    def section(self, name: str) -> str:
        return self.sections.get(name, "")

    def source_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.sources]


@lru_cache(maxsize=None)
def compile_signature(pattern: str) -> re.Pattern[str]:
    """Signatures match case-insensitively; each is compiled once per process."""
    return re.compile(pattern, re.IGNORECASE)


def _md() -> MarkdownIt:
    return MarkdownIt("commonmark").use(front_matter_plugin)


def _split(text: str, rel: str) -> tuple[dict, dict[str, str], list[str]]:
    tokens = _md().parse(text)
    if not tokens or tokens[0].type != "front_matter":
        raise RecipeError(rel, "front matter", "the file must start with a '---' YAML block")
    try:
        meta = yaml.safe_load(tokens[0].content)
    except yaml.YAMLError as exc:
        raise RecipeError(rel, "front matter", f"invalid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(meta, dict):
        raise RecipeError(rel, "front matter", "must be a mapping of keys to values")
    lines = text.splitlines()
    heads = [
        (tok.map[0], tokens[i + 1].content.strip())
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.tag == "h2" and tok.map
    ]
    sections: dict[str, str] = {}
    order: list[str] = []
    for n, (start, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        if title in sections:
            raise RecipeError(rel, f"section {title}", "appears twice")
        sections[title] = "\n".join(lines[start + 1 : end]).strip()
        order.append(title)
    return meta, sections, order


def _str_list(meta: dict, key: str, rel: str) -> tuple[str, ...]:
    value = meta.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RecipeError(rel, key, "must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _check_keys(meta: dict, rel: str) -> None:
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise RecipeError(rel, key, "is required")
    extra = sorted(set(meta) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if extra:
        raise RecipeError(rel, extra[0], f"is not a known key (known: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
    for key in ("id", "title", "kind", "area"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            raise RecipeError(rel, key, "must be a non-empty string")


def _check_values(meta: dict, path: Path, rel: str) -> None:
    if not ID_RE.match(meta["id"]):
        raise RecipeError(rel, "id", f"{meta['id']!r} is not kebab-case")
    if meta["id"] != path.stem:
        raise RecipeError(rel, "id", f"{meta['id']!r} must equal the file name {path.stem!r}")
    if meta["kind"] not in KINDS:
        raise RecipeError(rel, "kind", f"{meta['kind']!r} is not one of {', '.join(KINDS)}")
    if meta["area"] not in AREAS:
        raise RecipeError(rel, "area", f"{meta['area']!r} is not one of {', '.join(AREAS)}")
    if meta["area"] != path.parent.name:
        raise RecipeError(rel, "area", f"{meta['area']!r} must equal the folder name {path.parent.name!r}")
    if "generic" in meta and not isinstance(meta["generic"], bool):
        raise RecipeError(rel, "generic", "must be true or false")
    if "generation" in meta and meta["generation"] not in (1, 2):
        raise RecipeError(rel, "generation", "must be 1 or 2")


def _sources(meta: dict, rel: str) -> tuple[tuple[str, str], ...]:
    items = meta["sources"]
    if not isinstance(items, list) or not items:
        raise RecipeError(rel, "sources", "must be a non-empty list")
    out = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise RecipeError(rel, "sources", f"each item must be one 'key: value' pair, got {item!r}")
        (key, value), = item.items()
        if key not in SOURCE_KEYS or not isinstance(value, str) or not value.strip():
            raise RecipeError(rel, "sources", f"{key!r} must be one of {', '.join(SOURCE_KEYS)} with a text value")
        if key == "issue" and not ISSUE_RE.match(value.strip()):
            raise RecipeError(rel, "sources", f"issue {value!r} must look like owner/repo#123")
        out.append((key, value.strip()))
    return tuple(out)


def _signatures(meta: dict, rel: str) -> tuple[str, ...]:
    sigs = _str_list(meta, "signatures", rel) if meta["signatures"] else ()
    for sig in sigs:
        try:
            pattern = re.compile(sig, re.IGNORECASE)
        except re.error as exc:
            raise RecipeError(rel, "signatures", f"{sig!r} is not a valid regex: {exc}") from exc
        if pattern.search("") is not None or pattern.search("error failed denied") is not None:
            raise RecipeError(rel, "signatures", f"{sig!r} is too broad: it matches almost any line")
    return sigs


def _check_sections(sections: dict[str, str], order: list[str], rel: str) -> None:
    for name in REQUIRED_SECTIONS:
        if not sections.get(name):
            raise RecipeError(rel, f"section {name}", "is missing or empty")
    known = list(REQUIRED_SECTIONS + OPTIONAL_SECTIONS)
    for name in order:
        if name not in known:
            raise RecipeError(rel, f"section {name}", f"is not a known section ({', '.join(known)})")
    expected = [n for n in known if n in sections]
    if order != expected:
        raise RecipeError(rel, "sections", f"must come in the order {', '.join(expected)}")
    for name, body in sections.items():
        for placeholder in PLACEHOLDER_RE.findall(body):
            if placeholder not in PLACEHOLDERS:
                raise RecipeError(rel, f"section {name}", f"unknown placeholder {{{{{placeholder}}}}}")


def parse_recipe(path: Path, root: Path | None = None) -> Recipe:
    rel = str(path.relative_to(root)) if root else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(rel, "file", f"cannot be read as UTF-8 text: {exc}") from exc
    meta, sections, order = _split(text, rel)
    _check_keys(meta, rel)
    _check_values(meta, path, rel)
    errors = _str_list(meta, "amplify_errors", rel) if meta["amplify_errors"] else ()
    for name in errors:
        if not ERROR_NAME_RE.match(name):
            raise RecipeError(rel, "amplify_errors", f"{name!r} is not an error name")
    tags = _str_list(meta, "tags", rel) if meta["tags"] else ()
    _check_sections(sections, order, rel)
    related = tuple(re.findall(r"^\s*[-*]\s+`?([a-z0-9-]+)`?\s*$", sections.get("Related", ""), re.M))
    return Recipe(
        id=meta["id"], title=meta["title"].strip(), kind=meta["kind"], area=meta["area"],
        amplify_errors=errors, signatures=_signatures(meta, rel), tags=tags,
        sources=_sources(meta, rel), sections=sections, path=path,
        generic=bool(meta.get("generic", False)), generation=int(meta.get("generation", 2)),
        related=related,
    )


def recipe_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if p.name.lower() != "readme.md")


def load_recipes(root: Path) -> list[Recipe]:
    """Load every recipe under ``root``; the first invalid one raises RecipeError."""
    recipes = [parse_recipe(p, root) for p in recipe_files(root)]
    check_collection(recipes, root)
    return recipes


def _duplicate_ids(recipes: list[Recipe], root: Path) -> list[RecipeError]:
    seen: dict[str, Path] = {}
    problems = []
    for recipe in recipes:
        rel = recipe.path.relative_to(root)
        if recipe.id in seen:
            problems.append(RecipeError(str(rel), "id", f"{recipe.id!r} is also used by {seen[recipe.id]}"))
        seen.setdefault(recipe.id, rel)
    return problems


def _dangling_links(recipes: list[Recipe], root: Path) -> list[RecipeError]:
    ids = {recipe.id for recipe in recipes}
    return [
        RecipeError(str(recipe.path.relative_to(root)), "section Related", f"{rid!r} is not a recipe id")
        for recipe in recipes for rid in recipe.related if rid not in ids
    ]


def check_collection(recipes: list[Recipe], root: Path) -> None:
    """Ids must be unique; dangling Related links are reported by ``validate_all``."""
    problems = _duplicate_ids(recipes, root)
    if problems:
        raise problems[0]


def validate_all(root: Path) -> tuple[list[Recipe], list[RecipeError]]:
    """Every problem in the knowledge base, not just the first."""
    recipes, problems = [], []
    for path in recipe_files(root):
        try:
            recipes.append(parse_recipe(path, root))
        except RecipeError as exc:
            problems.append(exc)
    return recipes, problems + _duplicate_ids(recipes, root) + _dangling_links(recipes, root)


def knowledge_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in recipe_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name) or PLACEHOLDERS.get(name, match.group(0))

    return PLACEHOLDER_RE.sub(sub, text)


def main(argv: list[str]) -> int:
    from .config import load_settings

    root = Path(argv[0]) if argv else load_settings().knowledge_dir
    recipes, problems = validate_all(root)
    for problem in problems:
        print(problem.message, file=sys.stderr)
    print(f"{len(recipes)} valid recipes, {len(problems)} problems in {root}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
