"""A troubleshooting conversation: logs, questions and follow-ups, with the recipes in play.

The REPL and the Slack bot both hold one Conversation per session or thread; every turn goes
through the same Engine.diagnose as `ampfix explain`. Each prompt carries only the current
recipes and the current question, so a session of any length fits the model's context.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from .answer import Answer, Engine, _sentences
from .grounding import Checked, Grounder
from .prompts import question_messages
from .recipes import Recipe, fill_placeholders
from .render import markdown

MAX_TURNS_KEPT = 50
FOLLOW_UP_RE = re.compile(
    r"^\s*(and|also|but|so|then|what about|how about|why|ok|okay)\b|\b(it|this|that|these|those|my other|again|worked|work)\b",
    re.I,
)
INTENTS = (
    ("Verify", re.compile(r"\b(check|verify|confirm|test|worked|works|working|make sure)\b", re.I)),
    ("Cause", re.compile(r"\b(why|cause|caused|reason|happen|mean|means)\b", re.I)),
    ("Fix", re.compile(r"\b(fix|how|what do i|change|solve|resolve|other)\b", re.I)),
)
NAME_RE = re.compile(r"\b([a-z][a-z0-9]*[A-Z][A-Za-z0-9]*|[a-z0-9]+(?:-[a-z0-9]+)+)\b")


@dataclass
class Turn:
    text: str
    kind: str  # "log" | "question" | "follow-up" | "none"
    reply: str
    recipes: list[str] = field(default_factory=list)
    answer: Answer | None = None
    narrative: str | None = None
    seconds: float = 0.0


class Conversation:
    def __init__(self, engine: Engine, use_llm: bool | None = None) -> None:
        self.engine = engine
        self.use_llm = engine.settings.use_llm if use_llm is None else use_llm
        self.turns: list[Turn] = []
        self.sources: dict[str, str] = {}  # recipe id -> title, in the order first used
        self.current: list[Recipe] = []
        self.entities: dict[str, str] = {}

    def reset(self) -> None:
        self.turns.clear()
        self.sources.clear()
        self.current = []
        self.entities = {}

    # ------------------------------------------------------------ a turn

    def ask(self, text: str, on_reply: Callable[[Turn], None] | None = None,
            on_sentence: Callable[[str], None] | None = None) -> Turn:
        """Answer one turn. ``on_reply`` sees the recipe answer before the model starts;
        ``on_sentence`` sees each checked sentence of the narrative as it is generated."""
        started = time.perf_counter()
        text = text.strip()
        answer = self.engine.diagnose(text, label="chat", use_llm=False)
        is_log = bool(answer.parsed.errors) or any({"error-name", "signature"} & set(m.matched_by) for m in answer.matches)
        if is_log:
            turn, narrate = self._log_turn(text, answer)
        elif self.current and self._is_follow_up(text):
            turn, narrate = self._follow_up(text)
        else:
            turn, narrate = self._question(text)
        self.turns.append(turn)
        del self.turns[:-MAX_TURNS_KEPT]
        if on_reply:
            on_reply(turn)
        if narrate is not None and self.use_llm:
            turn.narrative = narrate(on_sentence)
        turn.seconds = time.perf_counter() - started
        return turn

    def _remember(self, recipes: list[Recipe], entities: dict[str, str]) -> None:
        self.current = recipes
        self.entities.update({k: v for k, v in entities.items() if v})
        for recipe in recipes:
            self.sources.setdefault(recipe.id, recipe.title)

    def _log_turn(self, text: str, answer: Answer):
        if not answer.matches:
            return Turn(text, "none", " ".join(filter(None, ("No recipe matches this log.", answer.note)))), None
        self._remember([m.recipe for m in answer.matches], answer.entities)

        def narrate(on_sentence):
            self.engine.narrate(answer, text, on_sentence)
            return answer.narrative

        return Turn(text, "log", markdown(answer), [m.recipe.id for m in answer.matches], answer), narrate

    def _is_follow_up(self, text: str) -> bool:
        words = text.split()
        return len(words) <= 14 and bool(FOLLOW_UP_RE.search(text))

    def _question(self, text: str):
        answer = self.engine.diagnose(text, label="chat", use_llm=False, dense="always", require_context=False)
        good = [m for m in answer.matches if m.confidence in ("high", "medium")] or answer.matches[:1]
        if not good:
            if self.current:
                return self._follow_up(text)
            return Turn(text, "none", "No recipe matches this question. Paste the error output, or ask about an "
                                      "Amplify Gen 2 feature (auth, data, functions, storage, deploys)."), None
        best = good[0]
        self._remember([m.recipe for m in good], answer.entities)
        return self._reply(text, "question", best.recipe, self._section_for(text, best.recipe))

    def _follow_up(self, text: str):
        recipe = self.current[0]
        named = NAME_RE.findall(text)
        if named and "{{function_name}}" in recipe.section("Fix"):
            self.entities["function_name"] = named[-1]
        return self._reply(text, "follow-up", recipe, self._section_for(text, recipe))

    @staticmethod
    def _section_for(text: str, recipe: Recipe) -> str:
        for section, pattern in INTENTS:
            if pattern.search(text):
                return section
        return "Fix" if recipe.kind == "pattern" else "Cause"

    def _reply(self, text: str, kind: str, recipe: Recipe, section: str):
        body = fill_placeholders(recipe.section(section), self.entities)
        reply = f"**{recipe.title}** (`{recipe.id}`)\n\n### {section}\n\n{body}\n"
        turn = Turn(text, kind, reply, [recipe.id])
        return turn, lambda on_sentence: self._narrate(text, recipe, section, on_sentence)

    def _narrate(self, question: str, recipe: Recipe, section: str, on_sentence) -> str | None:
        cause = fill_placeholders(recipe.section("Cause"), self.entities)
        focus = fill_placeholders(recipe.section(section), self.entities)
        messages = question_messages(question, recipe.title, cause, focus)
        corpus = [fill_placeholders(recipe.section(s), self.entities) for s in ("Symptoms", "Cause", "Fix", "Verify")]
        shown = messages[-1]["content"].split("\n", 1)[-1]  # the recipe text, without the user's question
        grounder = Grounder(*corpus, recipe.title, user_input=question,
                            vocabulary=shown + "\n" + " ".join(self.entities.values()))
        checked = Checked(text="")
        for sentence in _sentences(self.engine.backend.stream(messages, self.engine.settings.max_tokens)):
            kept = grounder.check_sentence(sentence, checked)
            if kept and on_sentence:
                on_sentence(kept)
        return " ".join(checked.kept) or None
