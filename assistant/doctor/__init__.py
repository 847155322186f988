"""`ampfix doctor`: find Amplify Gen 2 mistakes in a project before they fail.

parse (tree-sitter) -> project (the resources, schema, backend, package files) -> checks_* (one
small function per check, registered in registry) -> report (text, markdown, json, exit status).
Importing this package is cheap; the parser loads on the first diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import Finding


def diagnose_project(root: Path) -> "list[Finding]":
    """Every finding for the project in ``root``, worst first."""
    from .checks import CHECKS
    from .project import Project
    from .registry import run_checks

    return run_checks(Project(root), CHECKS)
