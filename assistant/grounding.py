"""The check between the model and the screen: a sentence that names an API, command or
identifier found neither in the recipes nor in the user's input is dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])|\n+")
BACKTICK_RE = re.compile(r"`([^`]+)`")
IDENT_RES = [
    re.compile(r"\b[a-z]+[A-Z][A-Za-z0-9]*\b"),  # camelCase: defineFunction
    re.compile(r"\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b"),  # PascalCase with a hump: SecretNotSetError
    re.compile(r"\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+\(?"),  # dotted: allow.resource
    re.compile(r"\b[A-Za-z_][\w-]*\("),  # calls: secret(
    re.compile(r"(?<![\w-])--[a-z][\w-]*"),  # flags
    re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"),  # ENV_NAMES
    re.compile(r"(?:\$amplify|[\w.-]+)/[\w./$-]+"),  # paths
    re.compile(r"\b(?:npx|ampx|npm|yarn|pnpm|aws|cdk|rm|curl|wget|sudo|chmod|git|bash|sh)\s+-{0,2}[a-z][\w-]*(?:\s+[a-z][\w-]*)?"),  # commands
]
COMMAND_RE = re.compile(r"^(?:npx|ampx|npm|yarn|pnpm|aws|cdk|rm|curl|wget|sudo|chmod|git|bash|sh)\s|^--", re.I)
DANGER_RE = re.compile(r"\b(?:rm\s+-rf|curl\s+[^|]*\|\s*(?:ba)?sh|sudo\s|delete\s+(?:the\s+)?(?:stack|bucket|table|user pool|database))", re.I)
ALWAYS_ALLOWED = {"e.g", "i.e", "amplify.aws", "docs.amplify.aws"}
WORD_RE = re.compile(r"[a-z][a-z0-9]{3,}")
SUFFIXES = ("ing", "ed", "es", "s", "ly")
FILLER = frozenset(
    "this that these those with will would should could have been being which when where there their them they "
    "your yours also into onto than then from what about because make makes made need needs using used error "
    "problem solution occurs happen happens means sure just only some more most very".split()
)
MIN_SUPPORT = 0.85
LABEL_RE = re.compile(r"^(?:answer|problem|solution|error|cause|fix|background|topic)\s*:\s*", re.I)
LIST_TAIL_RE = re.compile(r"\s+\d+\.$|^\d+\.\s+")


@dataclass
class Checked:
    text: str
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def removed_share(self) -> float:
        total = len(self.kept) + len(self.dropped)
        return len(self.dropped) / total if total else 0.0


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END_RE.split(text) if s and s.strip()]


def identifiers(sentence: str) -> set[str]:
    found = {m.strip() for m in BACKTICK_RE.findall(sentence)}
    plain = BACKTICK_RE.sub(" ", sentence)
    for pattern in IDENT_RES:
        found.update(m.group(0).rstrip("(").strip(".") for m in pattern.finditer(plain))
    return {f for f in found if f and f.lower() not in ALWAYS_ALLOWED}


def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    return [_stem(w) for w in WORD_RE.findall(text.lower()) if w not in FILLER]


class Grounder:
    """Keeps a sentence only when its identifiers and most of its words come from the sources."""

    def __init__(self, *corpora: str, echo: tuple[str, ...] = (), vocabulary: str | None = None,
                 user_input: str = "") -> None:
        """``corpora``: the recipes, where every identifier and every command may come from;
        ``user_input``: the user's log, where names may also come from but never a command
        (a log cannot put an instruction into the answer); ``vocabulary``: the recipe text the
        model was shown, which its plain words must mostly come from (defaults to the corpora)."""
        self.recipes = "\n".join(corpora).lower()
        self.corpus = self.recipes + "\n" + user_input.lower()
        self.squashed = re.sub(r"\s+", " ", self.corpus)
        self.recipes_squashed = re.sub(r"\s+", " ", self.recipes)
        self.vocabulary = set(content_words(self.recipes if vocabulary is None else vocabulary))
        self.echo = {" ".join(content_words(line)) for line in echo if line.strip()}

    def supported(self, sentence: str) -> bool:
        words = content_words(sentence)
        if not words:
            return False
        if " ".join(words) in self.echo:
            return False
        return sum(w in self.vocabulary for w in words) / len(words) >= MIN_SUPPORT

    def grounded(self, sentence: str) -> bool:
        for ident in identifiers(sentence):
            low = re.sub(r"\s+", " ", ident.lower())
            if COMMAND_RE.match(ident):
                if low not in self.recipes_squashed:
                    return False
            elif low not in self.corpus and low not in self.squashed:
                return False
        return not DANGER_RE.search(sentence) or bool(DANGER_RE.search(self.recipes))

    def check_sentence(self, sentence: str, result: Checked) -> str | None:
        sentence = LABEL_RE.sub("", LIST_TAIL_RE.sub("", sentence.strip())).strip()
        if sentence.endswith(":"):
            result.dropped.append(sentence)
            return None
        if not sentence or sentence in result.kept:
            return None
        if len(sentence) < 12 or not self.supported(sentence) or not self.grounded(sentence):
            result.dropped.append(sentence)
            return None
        result.kept.append(sentence)
        return sentence

    def check(self, text: str) -> Checked:
        result = Checked(text="")
        for sentence in split_sentences(text):
            self.check_sentence(sentence, result)
        result.text = " ".join(result.kept)
        return result
