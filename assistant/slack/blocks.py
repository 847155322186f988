"""Block Kit messages for the Slack bot: the recipe card as cause, fix with code, verify, source.

Slack caps a section at 3,000 characters and a message at 50 blocks; an answer that does not
fit is cut in the blocks and posted whole as a Markdown snippet in the thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from ..answer import Answer, source_path
from ..conversation import Turn
from ..recipes import Recipe
from ..render import markdown

SECTION_LIMIT = 2900
HEADER_LIMIT = 150
CUT_NOTE = "_… cut here: the whole answer is in the snippet below._"
FENCE_RE = re.compile(r"^(\s*)```")
HEADING_RE = re.compile(r"^#{1,6}\s+(.*)$")
BULLET_RE = re.compile(r"^(\s*)[-*]\s+")
BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
LINK_RE = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


@dataclass
class Message:
    """One Slack message: notification text, blocks, and the full answer when the blocks cut it."""

    text: str
    blocks: list[dict] = field(default_factory=list)
    snippet: str | None = None


# ------------------------------------------------------------------ markdown -> mrkdwn

def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(line: str) -> str:
    line = escape(line)
    heading = HEADING_RE.match(line)
    if heading:
        return f"*{heading.group(1).strip()}*"
    line = BULLET_RE.sub(lambda m: f"{m.group(1)}• ", line)
    line = BOLD_RE.sub(r"*\1*", line)
    return LINK_RE.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", line)


def mrkdwn(text: str) -> str:
    """Recipe Markdown as Slack mrkdwn: bare code fences, *bold*, bullets, <url|links>."""
    out: list[str] = []
    indent: int | None = None  # the open fence's indentation, None outside code
    for line in text.splitlines():
        fence = FENCE_RE.match(line)
        if fence:
            indent = len(fence.group(1)) if indent is None else None
            out.append("```")
        elif indent is not None:
            out.append(escape(line[indent:] if not line[:indent].strip() else line))
        else:
            out.append(_inline(line))
    if indent is not None:
        out.append("```")
    return "\n".join(out).strip()


def _cut(text: str, limit: int = SECTION_LIMIT) -> tuple[str, bool]:
    """``text`` within ``limit`` characters, cut at a line end, code fences kept closed."""
    if len(text) <= limit:
        return text, False
    head = text[: limit - len(CUT_NOTE) - 8]
    head = head[: head.rfind("\n")] if "\n" in head else head
    if head.count("```") % 2:
        head += "\n```"
    return f"{head}\n{CUT_NOTE}", True


# ------------------------------------------------------------------ blocks

def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _header(text: str) -> dict:
    plain = text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": plain, "emoji": False}}


class _Builder:
    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.cut = False

    def titled(self, title: str, body: str) -> None:
        if body.strip():
            text, cut = _cut(f"*{title}*\n{mrkdwn(body)}")
            self.cut |= cut
            self.blocks.append(_section(text))

    def narrative(self, turn: Turn, model: str, pending: bool) -> None:
        if turn.narrative:
            self.titled(f"In short ({model})", turn.narrative)
        elif pending:
            self.blocks.append(_context(f"_{escape(model)} is writing a short summary…_"))

    def sources(self, recipes: list[Recipe]) -> None:
        lines = []
        for recipe in recipes[:1]:
            lines.append(f"recipe: `{source_path(recipe)}`")
            lines += [escape(line) for line in recipe.source_lines()]
        if lines:
            text, cut = _cut("*Source*\n" + "\n".join(f"• {line}" for line in lines))
            self.cut |= cut
            self.blocks.append(_section(text))


def _card(answer: Answer, turn: Turn, model: str, pending: bool) -> _Builder:
    best = answer.matches[0]
    build = _Builder()
    build.blocks.append(_header(best.recipe.title))
    build.blocks.append(_context(f"`{best.recipe.id}` · confidence *{best.confidence}* · "
                                 f"matched by {', '.join(best.matched_by)}"))
    if answer.note:
        build.blocks.append(_context(escape(answer.note)))
    build.narrative(turn, model, pending)
    if best.evidence:
        text, cut = _cut("*Evidence*\n```\n" + escape("\n".join(best.evidence)) + "\n```")
        build.cut |= cut
        build.blocks.append(_section(text))
    for name in ("Cause", "Fix", "Verify"):
        build.titled(name, answer.section(best, name))
    build.sources([best.recipe])
    others = answer.matches[1:]
    if others:
        build.blocks.append(_context("Also possible: " + "; ".join(
            f"{escape(m.recipe.title)} (`{m.recipe.id}`, {m.confidence})" for m in others)))
    return build


def _reply(turn: Turn, recipes: list[Recipe], model: str, pending: bool) -> _Builder:
    build = _Builder()
    if recipes:
        build.blocks.append(_header(recipes[0].title))
        build.blocks.append(_context(f"`{recipes[0].id}` · {turn.kind}"))
    build.narrative(turn, model, pending)
    body = turn.reply.split("\n", 1)[1] if recipes and turn.reply.startswith("**") else turn.reply
    text, cut = _cut(mrkdwn(body))
    build.cut |= cut
    build.blocks.append(_section(text))
    build.sources(recipes)
    return build


def for_turn(turn: Turn, recipes: Mapping[str, Recipe], model: str = "model", pending: bool = False) -> Message:
    """The Slack message for one conversation turn; ``pending``: the model is still writing."""
    if turn.kind == "none":
        return Message(turn.reply, [_section(mrkdwn(turn.reply))])
    used = [recipes[rid] for rid in turn.recipes if rid in recipes]
    if turn.kind == "log" and turn.answer is not None and turn.answer.matches:
        build = _card(turn.answer, turn, model, pending)
        full = markdown(turn.answer)
    else:
        build = _reply(turn, used, model, pending)
        full = turn.reply + (f"\n\n{turn.narrative}\n" if turn.narrative else "")
    title = used[0].title if used else turn.reply.splitlines()[0]
    snippet = full if build.cut else None
    return Message(f"{title} ({', '.join(turn.recipes)})", build.blocks[:50], snippet)


def plain(text: str) -> Message:
    """A short notice (busy, help, an error) as a message."""
    return Message(text, [_section(escape(text))])
