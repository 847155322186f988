"""Every prompt the product sends to a model lives here."""

from __future__ import annotations

import re

from .llm import Message

SYSTEM = "You are a concise assistant. Answer in two sentences using only the given text."


def _first_paragraph(text: str, limit: int) -> str:
    """The prose of a section, code removed, cut at a sentence end near ``limit``."""
    text = re.sub(r"```.*?(?:```|$)", " ", text, flags=re.S)
    text = re.sub(r"^\s*(?:\d+\.|[-*])\s+", "", text, flags=re.M)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(".\n"))
    return cut[: end + 1] if end > limit // 3 else cut


def explain_messages(evidence: list[str], title: str, cause: str, fix: str) -> list[Message]:
    error = evidence[0][:300] if evidence else title
    user = (
        f"Error: {error}\n"
        f"Problem: {_first_paragraph(cause, 600)}\n"
        f"Solution: {_first_paragraph(fix, 400)}\n\n"
        "Explain the problem and the solution in two sentences."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def question_messages(question: str, title: str, cause: str, fix: str) -> list[Message]:
    user = (
        f"Question: {question[:500]}\n"
        f"Topic: {title}\n"
        f"Background: {_first_paragraph(cause, 500)}\n"
        f"Answer: {_first_paragraph(fix, 500)}\n\n"
        "Answer the question in two sentences."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
