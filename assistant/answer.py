"""The one diagnosis API every front end calls: text in, Answer out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import index as dense_index
from .config import Settings, embedder_path
from .embed import Embedder, Progress, SentenceTransformerEmbedder
from .grounding import Checked, Grounder, SENTENCE_END_RE
from .llm import Backend, backend_for
from .logs import ParsedLog, parse_log
from .prompts import explain_messages
from .kbcache import load_knowledge
from .recipes import Recipe, fill_placeholders
from .redact import Redactor
from .retrieve import Match, Retriever


@dataclass
class Answer:
    input: str
    matches: list[Match]
    parsed: ParsedLog
    entities: dict[str, str]
    narrative: str | None = None
    model: str | None = None
    removed_sentences: int = 0
    kept_sentences: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    note: str | None = None  # what the answer assumes, or why nothing matched

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def section(self, match: Match, name: str) -> str:
        return fill_placeholders(match.recipe.section(name), self.entities)

    def to_json(self) -> dict:
        return {
            "input": self.input,
            "matches": [
                {
                    "id": m.recipe.id, "title": m.recipe.title, "score": round(float(m.score), 4),
                    "confidence": m.confidence, "matched_by": list(m.matched_by), "evidence": list(m.evidence),
                    "cause": self.section(m, "Cause"), "fix": self.section(m, "Fix"),
                    "verify": self.section(m, "Verify"), "source": source_path(m.recipe),
                    "amplify_errors": list(m.recipe.amplify_errors),
                }
                for m in self.matches
            ],
            "answer": self.narrative,
            "model": self.model,
            "redactions": self.parsed.redactions,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            **({"note": self.note} if self.note else {}),  # what was assumed, or why nothing matched
        }


def source_path(recipe: Recipe) -> str:
    parts = recipe.path.parts
    if "knowledge" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("knowledge"):])
    return str(recipe.path)


class Engine:
    """Holds the recipes, the retriever and (lazily) the embedder, index and model."""

    def __init__(self, settings: Settings, backend: Backend | None = None, embedder: Embedder | None = None,
                 on_index_progress: Callable[[str], Progress | None] | None = None) -> None:
        self.settings = settings
        knowledge = load_knowledge(settings.knowledge_dir, settings.index_dir)
        self.recipes = knowledge.recipes
        self._embedder = embedder
        self._query_embedder: Embedder | None = None
        self._injected = embedder is not None
        self._backend = backend
        self._dense: dense_index.DenseIndex | None = None
        self.on_index_progress = on_index_progress
        self.retriever = Retriever(self.recipes, dense=self._dense_search, chunks=knowledge.chunks,
                                   tokens=knowledge.tokens, literals=knowledge.literals)

    # ------------------------------------------------------------ lazy parts

    @property
    def embedder(self) -> Embedder:
        """The embedder that builds the index (sentence-transformers, on torch)."""
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(embedder_path(self.settings))
        return self._embedder

    @property
    def query_embedder(self) -> Embedder:
        """The embedder for one query at a time: the same model in NumPy, which starts in a
        fraction of a second instead of importing torch; the index builder where it cannot."""
        if self._query_embedder is None:
            path = embedder_path(self.settings)
            if not self._injected and (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file():
                from .embed_numpy import NumpyMiniLM

                self._query_embedder = NumpyMiniLM(path)
            else:
                self._query_embedder = self.embedder
        return self._query_embedder

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = backend_for(self.settings)
        return self._backend

    def close(self) -> None:
        """Free the model, if one was loaded, before the interpreter shuts down around it."""
        getattr(self._backend, "close", lambda: None)()

    def ensure_index(self, force: bool = False) -> dict:
        expected = dense_index.expected_manifest(self.settings.knowledge_dir, self.embedder.id)
        reason = "a rebuild was asked for" if force else dense_index.staleness(self.settings.index_dir, expected)
        if reason is not None:
            if force:
                for name in (dense_index.MANIFEST_FILE,):
                    (self.settings.index_dir / name).unlink(missing_ok=True)
            progress = self.on_index_progress(reason) if self.on_index_progress else None
            manifest = dense_index.build(self.recipes, self.settings.knowledge_dir, self.settings.index_dir,
                                         self.embedder, progress)
            self._dense = None
            return manifest
        return dense_index.read_manifest(self.settings.index_dir) or {}

    def dense_index(self) -> dense_index.DenseIndex:
        if self._dense is None:
            self.ensure_index()
            self._dense = dense_index.load(self.settings.index_dir)
        return self._dense

    def _dense_search(self, query: str, limit: int) -> list[tuple[str, float]]:
        index = self.dense_index()
        vector = self.query_embedder.embed([query[:2000]])[0]
        best: dict[str, float] = {}
        for i, score in index.search(vector, limit * 4):
            rid = index.chunks[i].recipe_id
            if rid in self.retriever.recipes and score > best.get(rid, -1.0):
                best[rid] = score
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

    # ------------------------------------------------------------ diagnosis

    def redactor(self) -> Redactor:
        s = self.settings
        return Redactor(enabled=s.redact, accounts=s.redact_accounts, emails=s.redact_emails)

    def diagnose(self, text: str, label: str = "-", use_llm: bool | None = None, truncated: bool = False,
                 project_entities: dict[str, str] | None = None, dense: str = "auto",
                 on_sentence: Callable[[str], None] | None = None, require_context: bool = True) -> Answer:
        """Diagnose ``text``. ``require_context``: answer a log that never mentions Amplify only
        through error names and signatures (questions to ``search`` pass False)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        parsed = parse_log(text, self.redactor(), truncated)
        timings["parse"] = (time.perf_counter() - started) * 1000
        t0 = time.perf_counter()
        note = None
        matches = self.retriever.retrieve(parsed, parsed.query_text(), self.settings.top_k, dense=dense,
                                          question=not require_context)
        if require_context and not parsed.shows_failure:
            # Output with nothing that reads as a failure (a banner, a help text): only a
            # recipe's own error text can answer it, not resemblance.
            matches = [m for m in matches if {"error-name", "signature"} & set(m.matched_by)]
            if not matches:
                note = "Nothing in this output reads as an error; paste the lines that show what failed."
        if require_context and not parsed.amplify_context:
            # Nothing in the input mentions Amplify: resemblance alone is not enough to answer,
            # only an error name or a recipe's own signature is.
            matches = [m for m in matches if _answers_without_context(m, parsed)]
            if parsed.foreign:
                # ... and not even that when the output shows another toolchain at work.
                note = (f"This output comes from {parsed.foreign}, not from an Amplify app; the "
                        f"recipes answer Amplify Gen 2 failures only.")
                if matches:
                    note += f" The nearest recipe, for the same error inside an Amplify app: {matches[0].recipe.id}."
                matches = []
            elif matches:
                # A platform error quoted alone (a CloudWatch line, a browser message) reads the
                # same inside an Amplify app and outside one: answer, and say what is assumed.
                note = ("Nothing in this output names Amplify; the answer assumes it comes from your "
                        "Amplify app.")
                for match in matches:
                    if match.confidence == "high":
                        match.confidence, match.score = "medium", min(match.score, 0.8)
        timings["retrieve"] = (time.perf_counter() - t0) * 1000
        entities = dict(project_entities or {})
        entities.update(parsed.entities)
        answer = Answer(input=label, matches=matches, parsed=parsed, entities=entities, note=note)
        use_llm = self.settings.use_llm if use_llm is None else use_llm
        if matches and use_llm:
            t0 = time.perf_counter()
            self.narrate(answer, text, on_sentence)
            timings["generate"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        answer.timings_ms = timings
        return answer

    def narrate(self, answer: Answer, user_text: str, on_sentence: Callable[[str], None] | None = None) -> None:
        best = answer.matches[0]
        messages = explain_messages(answer.parsed.evidence, best.recipe.title, answer.section(best, "Cause"),
                                    answer.section(best, "Fix"))
        corpus = [answer.section(m, s) for m in answer.matches for s in ("Symptoms", "Cause", "Fix", "Verify")]
        shown = messages[-1]["content"].split("\n", 1)[-1]  # the recipe text, without the user's error line
        grounder = Grounder(*corpus, *(m.recipe.title for m in answer.matches),
                            user_input="\n".join(answer.parsed.lines), echo=tuple(answer.parsed.evidence),
                            vocabulary=shown + "\n" + " ".join(answer.entities.values()))
        checked = Checked(text="")
        for sentence in _sentences(self.backend.stream(messages, self.settings.max_tokens)):
            kept = grounder.check_sentence(sentence, checked)
            if kept and on_sentence:
                on_sentence(kept)
        answer.narrative = " ".join(checked.kept) or None
        answer.model = getattr(self.backend, "name", "model")
        answer.kept_sentences, answer.removed_sentences = len(checked.kept), len(checked.dropped)


# Names Amplify shares with JavaScript itself: on their own they say nothing about Amplify.
JS_BUILTIN_ERRORS = frozenset({"Error", "SyntaxError", "TypeError", "ReferenceError", "RangeError", "EvalError",
                               "URIError", "AggregateError"})


def _answers_without_context(match: Match, parsed: ParsedLog) -> bool:
    """A recipe's own signature matched, or an Amplify error name that JavaScript does not
    also use appears in the input."""
    if "signature" in match.matched_by:
        return True
    if "error-name" not in match.matched_by:
        return False
    names = set(match.recipe.amplify_errors) - JS_BUILTIN_ERRORS
    return any(name in line for line in parsed.lines for name in names)


def _sentences(pieces: Iterator[str]) -> Iterator[str]:
    """Group streamed text into whole sentences so each is checked before it is shown."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        parts = SENTENCE_END_RE.split(buffer)
        for sentence in parts[:-1]:
            if sentence.strip():
                yield sentence.strip()
        buffer = parts[-1]
    if buffer.strip():
        yield buffer.strip()


def project_entities(directory: Path) -> dict[str, str]:
    """Names a fix can reuse, read from the user's amplify/ folder."""
    from .logs import extract_entities

    root = directory / "amplify" if (directory / "amplify").is_dir() else directory
    texts: list[str] = []
    for path in sorted(root.rglob("*.ts"))[:200]:
        if "node_modules" in path.parts:
            continue
        try:
            texts.append(f"// {path.relative_to(root.parent).as_posix()}\n" + path.read_text(encoding="utf-8", errors="replace")[:200_000])
        except OSError:
            continue
    return extract_entities(texts)
