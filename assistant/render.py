"""Turning an Answer into terminal text (rich), Markdown, or the JSON contract."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from .answer import Answer, source_path
from .retrieve import Match

NO_MATCH = "No recipe matches this input."
NO_MATCH_HINT = ("ampfix only answers from its curated Amplify Gen 2 recipes. Paste the full error output "
                 "(the lines with [ErrorName], 'Caused by:' or 'Resolution:'), or try `ampfix search WORDS`.")
STYLE = {"high": "bold green", "medium": "yellow", "low": "red"}


def _sources(match: Match) -> str:
    lines = [f"- recipe: `{source_path(match.recipe)}`"]
    lines += [f"- {line}" for line in match.recipe.source_lines()]
    return "\n".join(lines)


def markdown(answer: Answer) -> str:
    if not answer.matches:
        return f"**{NO_MATCH}**\n\n{answer.note or NO_MATCH_HINT}\n"
    best = answer.matches[0]
    out = [f"## {best.recipe.title}", "",
           f"`{best.recipe.id}` · confidence **{best.confidence}** · matched by {', '.join(best.matched_by)}", ""]
    if answer.note:
        out += [f"_{answer.note}_", ""]
    if answer.narrative:
        out += [answer.narrative, ""]
    if best.evidence:
        out += ["**Evidence**", "", "```", *best.evidence, "```", ""]
    for name in ("Cause", "Fix", "Verify"):
        out += [f"### {name}", "", answer.section(best, name), ""]
    out += ["### Source", "", _sources(best), ""]
    others = answer.matches[1:]
    if others:
        out += ["### Also possible", ""]
        out += [f"- {m.recipe.title} (`{m.recipe.id}`, {m.confidence})" for m in others]
        out.append("")
    return "\n".join(out)


def json_line(answer: Answer) -> str:
    return json.dumps(answer.to_json(), ensure_ascii=False)


class TerminalRenderer:
    """The recipe card for a terminal: no boxes, so code copies cleanly."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def heading(self, text: str) -> None:
        self.console.print(Text(f"\n{text}", style="bold underline"))

    def card(self, answer: Answer, show_input: bool = False) -> None:
        if show_input:
            self.console.rule(Text(answer.input, style="bold"))
        if not answer.matches:
            self.console.print(Text(NO_MATCH, style="bold red"))
            self.console.print(Text(answer.note or NO_MATCH_HINT, style="dim"))
            return
        best = answer.matches[0]
        self.console.print(Text(best.recipe.title, style="bold"))
        self.console.print(Text.assemble((best.recipe.id, "cyan"), " · confidence ",
                                         (best.confidence, STYLE.get(best.confidence, "")),
                                         " · matched by ", ", ".join(best.matched_by)))
        if answer.note:
            self.console.print(Text(answer.note, style="dim"))
        if best.evidence:
            self.heading("Evidence")
            for line in best.evidence:
                self.console.print(Text(f"  {line}", style="dim"))
        for name in ("Cause", "Fix", "Verify"):
            self.heading(name)
            self.console.print(Markdown(answer.section(best, name), code_theme="monokai"))
        self.heading("Source")
        self.console.print(Markdown(_sources(best)))
        for other in answer.matches[1:]:
            self.console.print(Text.assemble("Also possible: ", (other.recipe.title, "bold"), f" ({other.recipe.id}, ",
                                             (other.confidence, STYLE.get(other.confidence, "")), ")"))

    def narrative_start(self, model: str) -> None:
        self.heading(f"In short ({model})")

    def sentence(self, sentence: str) -> None:
        self.console.print(sentence, soft_wrap=False, highlight=False, markup=False)

    def narrative_empty(self) -> None:
        self.console.print(Text("\n(the model's explanation did not pass the grounding check; the recipe above is the answer)", style="dim"))
