"""The hook `ampfix explain --project DIR` uses: names for the fix, from the finding that matches the error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..errors import AmpfixError

if TYPE_CHECKING:
    from ..answer import Answer
    from .registry import Finding


class ProjectEntities(dict):
    """The project's names (a plain dict for diagnose) that also carries the doctor's findings."""

    def __init__(self, names: dict[str, str], findings: "list[Finding]") -> None:
        super().__init__(names)
        self.findings = findings


def project_entities(directory: Path) -> ProjectEntities:
    from ..answer import project_entities as names_in_code
    from . import diagnose_project

    try:
        findings = diagnose_project(directory)
    except AmpfixError:
        findings = []
    return ProjectEntities(names_in_code(directory), findings)


def entities_for(recipe_ids: Iterable[str], log_text: str, log_entities: dict[str, str],
                 findings: "list[Finding]") -> dict[str, str]:
    """The entities of the finding behind the best matching recipe. A finding whose names the log
    mentions wins; otherwise the first finding fills only what the log did not name."""
    lowered = log_text.lower()
    for recipe_id in recipe_ids:
        matching = [f for f in findings if f.recipe == recipe_id and f.entities]
        if not matching:
            continue
        named = [f for f in matching if any(v.lower() in lowered for v in f.entities.values() if len(v) > 2)]
        if named:
            return dict(named[0].entities)
        return {k: v for k, v in matching[0].entities.items() if k not in log_entities}
    return {}


def apply_findings(answer: "Answer", entities: dict[str, str]) -> None:
    """Fill ``answer``'s placeholders from the doctor finding that matches its recipes, if any."""
    findings = getattr(entities, "findings", None)
    if not findings or not answer.matches:
        return
    chosen = entities_for([m.recipe.id for m in answer.matches], "\n".join(answer.parsed.lines),
                          answer.parsed.entities, findings)
    answer.entities.update(chosen)
