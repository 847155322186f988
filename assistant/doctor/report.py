"""Render findings as text or JSON, and the exit status they call for."""

from __future__ import annotations

import json
from collections import Counter

from ..errors import ExitStatus
from .registry import Finding, Severity

STATUS = {Severity.ERROR: ExitStatus.DOCTOR_ERRORS, Severity.WARNING: ExitStatus.DOCTOR_WARNINGS}


def exit_status(findings: list[Finding]) -> ExitStatus:
    worst = max((f.severity for f in findings), default=None)
    return STATUS.get(worst, ExitStatus.OK) if worst is not None else ExitStatus.OK


def summary(findings: list[Finding]) -> str:
    counts = Counter(f.severity.label for f in findings)
    if not findings:
        return "No problems found."
    return ", ".join(f"{counts[s.label]} {s.label}{'s' if counts[s.label] != 1 else ''}"
                     for s in sorted(Severity, reverse=True) if counts[s.label])


def text(findings: list[Finding], show_patches: bool = True) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.where}: {f.severity.label}: {f.message} [{f.check}] (recipe: {f.recipe})")
        if show_patches and f.patch:
            lines.extend("    " + l for l in f.patch.rstrip("\n").splitlines())
    lines.append(summary(findings))
    return "\n".join(lines)


def as_json(root: str, findings: list[Finding], checks: int) -> str:
    counts = Counter(f.severity.label for f in findings)
    return json.dumps({"project": root, "checks": checks, "findings": [f.to_json() for f in findings],
                       "summary": {s.label: counts[s.label] for s in sorted(Severity, reverse=True)},
                       "exit_status": int(exit_status(findings))})


def markdown(findings: list[Finding]) -> str:
    lines = [f"**ampfix doctor**: {summary(findings)}", ""]
    for f in findings:
        lines.append(f"- **{f.severity.label}** `{f.where}`: {f.message} (recipe `{f.recipe}`, check `{f.check}`)")
        if f.patch:
            lines.extend(["", "  ```diff", *("  " + l for l in f.patch.rstrip("\n").splitlines()), "  ```"])
    return "\n".join(lines)
