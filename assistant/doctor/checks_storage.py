"""Checks on defineStorage: access paths (the rules of validate_storage_access_paths.ts) and buckets."""

from __future__ import annotations

from typing import Iterator

from .parse import Source, arrow_body, key_text, unwrap
from .project import Project, Resource
from .registry import Hit, Severity, add_property, at, check, replace

ENTITY = "{entity_id}"


def _paths(res: Resource) -> list[tuple[str, object]]:
    """(path, key node) for each key of `access: (allow) => ({ ... })`."""
    body = arrow_body(res.props.get("access"))
    body = unwrap(body)
    if body is None or body.type != "object":
        return []
    found = []
    for child in body.named_children:
        if child.type == "pair":
            key = child.child_by_field_name("key")
            if key.type in ("string", "template_string"):
                found.append((key_text(res.src, key), key))
    return found


def _prefixes(path: str, paths: list[str]) -> list[str]:
    return [p for p in paths if p != path and path.startswith(p.replace("*", ""))]


def _well_formed(res: Resource) -> Iterator[tuple[str, object, list[str]]]:
    """(path, key node, the other paths that are its prefixes) for each path that passes
    the format rules (the others are reported by `storage-path-format` alone)."""
    found = _paths(res)
    paths = [p for p, _ in found]
    for path, key in found:
        if format_problem(path) is None:
            yield path, key, _prefixes(path, paths)


def format_problem(path: str) -> tuple[str, str | None] | None:
    """(problem, corrected path or None) for a path that breaks the format rules."""
    if path.startswith("/"):
        return "must not start with /", path.lstrip("/")
    if not path.endswith("/*"):
        fixed = path.rstrip("*").rstrip("/") + "/*"
        return "must end with /*", fixed if "*" not in fixed[:-1] else None
    if "//" in path:
        return "must not contain //", None
    if path.index("*") < len(path) - 1:
        return "may use * only as its last character", None
    return None


def entity_problem(path: str, prefixes: list[str]) -> str | None:
    if ENTITY not in path:
        return None
    if prefixes:
        return (f"holds {ENTITY} but other paths are its prefix ({', '.join(prefixes)}); "
                "their wildcard would cover every user's folder")
    before, *after = path.split(ENTITY)
    if len(after) > 1:
        return f"may hold {ENTITY} only once"
    if after[0] != "/*":
        return f"must have {ENTITY} as the part right before the final /*"
    if before == "":
        return f"must not start with {ENTITY}; put a folder before it (e.g. private/{ENTITY}/*)"
    if not before.endswith("/"):
        return f"must have {ENTITY} as a whole path part"
    return None


def _quoted(src: Source, node, value: str) -> str:
    quote = src.text(node)[:1] if src.text(node)[:1] in "'\"`" else "'"
    return f"{quote}{value}{quote}"


@check("storage-path-format", Severity.ERROR, "storage-invalid-access-path")
def path_format(project: Project) -> Iterator[Hit]:
    for res in project.of_kind("storage"):
        for path, key in _paths(res):
            problem = format_problem(path)
            if problem:
                text, fixed = problem
                yield at(res.src, key, f"storage access path '{path}' of {res.name} {text}",
                         patch=replace(res.src, key, _quoted(res.src, key, fixed)) if fixed else None,
                         entities={"bucket_name": res.name})


@check("storage-path-nesting", Severity.ERROR, "storage-invalid-access-path")
def path_nesting(project: Project) -> Iterator[Hit]:
    for res in project.of_kind("storage"):
        for path, key, prefixes in _well_formed(res):
            if len(prefixes) > 1:
                yield at(res.src, key, f"storage access path '{path}' of {res.name} is nested too deep: "
                         f"{', '.join(prefixes)} are all its prefixes, at most one may be",
                         entities={"bucket_name": res.name})


@check("storage-entity-id-misuse", Severity.ERROR, "storage-invalid-access-path")
def entity_id(project: Project) -> Iterator[Hit]:
    for res in project.of_kind("storage"):
        for path, key, prefixes in _well_formed(res):
            problem = entity_problem(path, prefixes) if len(prefixes) <= 1 else None
            if problem:
                yield at(res.src, key, f"storage access path '{path}' of {res.name} {problem}",
                         entities={"bucket_name": res.name})


@check("storage-multiple-buckets-default", Severity.ERROR, "storage-multiple-buckets")
def default_bucket(project: Project) -> Iterator[Hit]:
    buckets = project.of_kind("storage")
    if len(buckets) < 2:
        return
    defaults = [b for b in buckets if b.src.text(unwrap(b.props.get("isDefault"))) == "true"]
    if len(defaults) == 1:
        return
    if not defaults:
        first = buckets[0]
        yield at(first.src, first.call, f"{len(buckets)} buckets ({', '.join(b.name for b in buckets)}) and none has "
                 "isDefault: true; mark exactly one (NoDefaultStorageError otherwise)",
                 patch=add_property(first.src, first.options, "isDefault: true") if first.options else None,
                 entities={"bucket_name": first.name})
        return
    for extra in defaults[1:]:
        yield at(extra.src, extra.props["isDefault"], f"bucket {extra.name} is also isDefault: true; only one bucket "
                 f"may be the default ({defaults[0].name} already is)", entities={"bucket_name": extra.name},
                 patch=replace(extra.src, extra.pairs["isDefault"], "isDefault: false"))
