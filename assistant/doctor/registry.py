"""Findings, severities and the registry of checks (one small function each)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Callable, Iterable

from tree_sitter import Node

from .parse import Source, line
from .project import Project


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Hit:
    """What a check function reports; the runner adds the check's id, severity and recipe."""

    message: str
    file: str | None = None
    line: int | None = None
    patch: str | None = None
    entities: dict[str, str] = field(default_factory=dict)
    severity: Severity | None = None


@dataclass
class Finding:
    check: str
    severity: Severity
    message: str
    recipe: str
    file: str | None = None
    line: int | None = None
    patch: str | None = None
    entities: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        if self.file is None:
            return "(project)"
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict:
        return {"check": self.check, "severity": self.severity.label, "message": self.message, "recipe": self.recipe,
                "file": self.file, "line": self.line, "patch": self.patch, "entities": dict(self.entities)}


CheckFn = Callable[[Project], Iterable[Hit]]


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    recipe: str
    fn: CheckFn
    on_preview: bool = False  # also run for the Gen 2 preview (@aws-amplify/backend 0.x)


CHECKS: list[Check] = []


def check(check_id: str, severity: Severity, recipe: str, on_preview: bool = False) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if any(c.id == check_id for c in CHECKS):
            raise ValueError(f"duplicate check id {check_id}")
        CHECKS.append(Check(check_id, severity, recipe, fn, on_preview))
        return fn

    return register


def run_checks(project: Project, checks: Iterable[Check] | None = None) -> list[Finding]:
    findings = []
    for chk in checks if checks is not None else CHECKS:
        if project.preview and not chk.on_preview:
            continue
        for hit in chk.fn(project):
            findings.append(Finding(chk.id, hit.severity or chk.severity, hit.message, chk.recipe, hit.file,
                                    hit.line, hit.patch, hit.entities))
    return sorted(findings, key=lambda f: (-f.severity, f.file or "", f.line or 0, f.check))


# ------------------------------------------------------------------ helpers for checks

def at(src: Source, node: Node, message: str, **extra) -> Hit:
    return Hit(message, src.rel, line(node), **extra)


def diff(rel: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"a/{rel}", f"b/{rel}", n=1)
    return "".join(lines)


def replace(src: Source, node: Node, new: str) -> str:
    """A unified diff replacing ``node``'s text in ``src`` with ``new``."""
    before = src.data.decode("utf-8", "replace")
    after = (src.data[:node.start_byte] + new.encode("utf-8") + src.data[node.end_byte:]).decode("utf-8", "replace")
    return diff(src.rel, before, after)


def insert_after(src: Source, node: Node, new: str) -> str:
    before = src.data.decode("utf-8", "replace")
    after = (src.data[:node.end_byte] + new.encode("utf-8") + src.data[node.end_byte:]).decode("utf-8", "replace")
    return diff(src.rel, before, after)


def add_property(src: Source, obj: Node, text: str) -> str:
    """A diff adding ``text`` (e.g. "resourceGroupName: 'data'") as the last property of an object literal."""
    props = [c for c in obj.named_children if c.type != "comment"]
    if not props:
        return replace(src, obj, "{ " + text + " }")
    last = props[-1]
    if "\n" not in src.text(obj):
        return insert_after(src, last, f", {text}")
    trailing = src.data[last.end_byte:obj.end_byte]
    stripped = trailing.lstrip()
    if stripped.startswith(b","):  # a trailing comma: the new line goes after it, with its own comma
        comma_at = last.end_byte + (len(trailing) - len(stripped)) + 1
        new = f"\n{_indent_of(src, last)}{text},".encode()
        return diff(src.rel, src.data.decode("utf-8", "replace"),
                    (src.data[:comma_at] + new + src.data[comma_at:]).decode("utf-8", "replace"))
    return insert_after(src, last, f",\n{_indent_of(src, last)}{text}")


def _indent_of(src: Source, node: Node) -> str:
    start = src.data.rfind(b"\n", 0, node.start_byte) + 1
    prefix = src.data[start:node.start_byte].decode("utf-8", "replace")
    return prefix if not prefix.strip() else " " * len(prefix)
