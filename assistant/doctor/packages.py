"""package.json and lockfiles: which version of a package a project declares and installs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .project import Project

VERSION_RE = re.compile(r"(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = VERSION_RE.search(text or "")
    if not match:
        return None
    parts = [int(p) if p and p.isdigit() else 0 for p in match.groups()]
    return parts[0], parts[1], parts[2]


def range_minimum(spec: str) -> tuple[int, int, int] | None:
    """The lowest version a semver range such as '>=18.17 || ^20' admits (None when unbounded below)."""
    lows = []
    for alternative in spec.split("||"):
        alternative = alternative.strip()
        if not alternative or alternative in ("*", "latest"):
            return None
        if alternative.startswith("<"):
            return (0, 0, 0)
        version = parse_version(alternative)
        if version is not None:
            lows.append(version)
    return min(lows) if lows else None


def locked_version(project: "Project", package: str) -> tuple[int, int, int] | None:
    """The installed version from package-lock.json, pnpm-lock.yaml or yarn.lock; else the range's minimum."""
    lock = project.text("package-lock.json")
    if lock:
        match = re.search(r'"node_modules/' + re.escape(package) + r'":\s*\{[^{}]*?"version":\s*"([^"]+)"', lock)
        if match:
            return parse_version(match.group(1))
    pnpm = project.text("pnpm-lock.yaml")
    if pnpm:
        match = re.search(r"^\s+'?" + re.escape(package) + r"'?:\s*\n\s+specifier:[^\n]*\n\s+version:\s*([\d.]+)", pnpm, re.M)
        if match:
            return parse_version(match.group(1))
    yarn = project.text("yarn.lock")
    if yarn:
        match = re.search(r'^"?' + re.escape(package) + r'@[^\n]*:\n\s+version:?\s+"?([\d.]+)', yarn, re.M)
        if match:
            return parse_version(match.group(1))
    spec = declared(project, package)
    return range_minimum(spec) if spec else None


def declared(project: "Project", package: str) -> str | None:
    for key in ("dependencies", "devDependencies"):
        value = (project.package_json.get(key) or {}).get(package)
        if isinstance(value, str):
            return value
    return None
