"""Retrieval: exact keys first (error names, signatures), then BM25 and dense, fused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from typing import Callable

try:  # Python 3.11+
    import re._parser as sre_parse  # type: ignore[import-not-found]
    import re._constants as sre_constants  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from .bm25 import BM25
from .chunking import Chunk, chunk_all, tokenize
from .logs import ParsedLog
from .recipes import Recipe, compile_signature

RRF_K = 60
STRONG_LEXICAL = 12.0
REPEAT_BONUS = 0.05
MAX_SCAN_LINES = 4000
GENERIC_PENALTY = 10.0
HOSTING_PENALTY = 0.3  # breaks a tie between a Hosting recipe and another for the same line


@dataclass
class Match:
    recipe: Recipe
    score: float = 0.0
    confidence: str = "low"
    matched_by: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    exact: float = 0.0
    lexical: float = 0.0
    dense: float | None = None
    fused: float = 0.0


@dataclass
class Thresholds:
    dense_low: float = 0.50
    dense_medium: float = 0.62


LOG_THRESHOLDS = Thresholds()
QUESTION_THRESHOLDS = Thresholds(dense_low=0.42, dense_medium=0.50)


def _literal_runs(parsed) -> list[str]:
    runs, current = [], []
    for op, arg in parsed:
        if op is sre_constants.LITERAL:
            current.append(chr(arg))
            continue
        if op is sre_constants.SUBPATTERN and arg[-1] is not None:
            inner = _literal_runs(arg[-1])
            if len(inner) == 1 and _is_all_literal(arg[-1]):
                current.append(inner[0])
                continue
        runs.append("".join(current))
        current = []
    runs.append("".join(current))
    return [r for r in runs if r]


def _is_all_literal(parsed) -> bool:
    return all(op is sre_constants.LITERAL for op, _ in parsed)


def _required(items: list) -> list[str] | None:
    if len(items) == 1 and items[0][0] is sre_constants.BRANCH:
        out = []
        for branch in items[0][1][1]:
            found = _required(list(branch))
            if found is None:
                return None
            out.extend(found)
        return out
    if len(items) == 1 and items[0][0] is sre_constants.SUBPATTERN and items[0][1][-1] is not None:
        return _required(list(items[0][1][-1]))
    best = max(_literal_runs(items), key=len, default="")
    return [best.lower()] if len(best) >= 4 else None


def required_literals(pattern: str) -> list[str] | None:
    """Lower-case strings of which at least one must occur for ``pattern`` to match."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    return _required(list(parsed))


_LITERAL_CHARS = re.compile(r"[A-Za-z0-9 _:'\"/.,-]*")


def signature_literals(pattern: str) -> list[str] | None:
    """``required_literals``, with a fast path for patterns that are plain text."""
    if _LITERAL_CHARS.fullmatch(pattern) and len(pattern) >= 4 and "." not in pattern:
        return [pattern.lower()]
    return required_literals(pattern)


CAUSE_LINE_RE = re.compile(r"^\s*(?:∟\s*)?Caused by:", re.I)
TOP_ERROR_RE = re.compile(r"^\s*(?:\S+\s+)?\[[A-Z][A-Za-z0-9]*(?:Error|Fault|Exception)\]")


def _cause_depths(lines: list[str]) -> list[int]:
    """How deep in a ``Caused by:`` chain each line sits (0 for the top error and plain lines)."""
    depths, depth = [], 0
    for line in lines:
        if CAUSE_LINE_RE.match(line):
            depth += 1
        elif TOP_ERROR_RE.match(line):
            depth = 0
        depths.append(depth)
    return depths



class Retriever:
    """Ranks recipes for a parsed log. ``dense`` is called lazily, only when needed."""

    def __init__(self, recipes: list[Recipe], dense: Callable[[str, int], list[tuple[str, float]]] | None = None,
                 thresholds: Thresholds | None = None, chunks: list[Chunk] | None = None,
                 tokens: list[list[str]] | None = None, literals: dict[str, list[str] | None] | None = None) -> None:
        self.recipes = {r.id: r for r in recipes}
        self.dense = dense
        self.thresholds = thresholds
        self.by_error: dict[str, list[Recipe]] = {}
        for recipe in recipes:
            for name in recipe.amplify_errors:
                self.by_error.setdefault(name, []).append(recipe)
        known = literals or {}
        self.signatures = [
            (recipe, pattern, known[pattern] if pattern in known else signature_literals(pattern))
            for recipe in recipes for pattern in recipe.signatures
        ]
        self.chunks: list[Chunk] = chunks if chunks is not None else chunk_all(recipes)
        self.bm25 = BM25(tokens if tokens is not None else [tokenize(c.text) for c in self.chunks])
        self.known_names = re.compile(r"\b(" + "|".join(sorted(map(re.escape, self.by_error), key=len, reverse=True)) + r")\b") if self.by_error else None

    # ------------------------------------------------------------ stages

    def exact(self, parsed: ParsedLog) -> dict[str, Match]:
        found: dict[str, Match] = {}

        best: dict[tuple[str, str], float] = {}
        credited: set[tuple[str, str]] = set()

        def hit(recipe: Recipe, score: float, how: str, line: str) -> None:
            """The best hit of each kind counts; every further line it is found on adds a little
            (several signatures of one recipe on the same line are one piece of evidence)."""
            match = found.setdefault(recipe.id, Match(recipe))
            key = (recipe.id, how)
            previous = best.get(key)
            if previous is None:
                match.exact += score
                match.matched_by.append(how)
            else:
                match.exact += max(score - previous, 0.0) + (REPEAT_BONUS if (recipe.id, line) not in credited else 0.0)
            best[key] = max(score, previous or score)
            credited.add((recipe.id, line))
            line = line.strip()[:500]
            if line and line not in match.evidence and len(match.evidence) < 5:
                match.evidence.append(line)

        for err in parsed.errors:
            for recipe in self.by_error.get(err.name, []):
                hit(recipe, 4.0 + 1.0 * min(err.depth, 4), "error-name", err.line if "serializedError" not in err.line else f"[{err.name}] {err.message}")
        lines = self._scan_lines(parsed)
        depths = _cause_depths(lines)
        text = "\n".join(lines).lower()
        for recipe, pattern, literals in self.signatures:
            if literals is not None and not any(lit in text for lit in literals):
                continue
            compiled = compile_signature(pattern)
            specificity = min(0.45, 0.01 * max((len(lit) for lit in literals or ()), default=0))
            for line, depth in zip(lines, depths):
                if compiled.search(line):
                    hit(recipe, 3.5 + 1.0 * min(depth, 4) + specificity, "signature", line)
                    break
        if self.known_names is not None:
            parsed_names = set(parsed.error_names)
            for line in lines:
                for name in set(self.known_names.findall(line)) - parsed_names:
                    for recipe in self.by_error[name]:
                        hit(recipe, 1.5, "error-name", line)
        self._demote(found, parsed)
        return found

    @staticmethod
    def _demote(found: dict[str, Match], parsed: ParsedLog) -> None:
        """A wrapper recipe (``generic``) yields to any specific error recipe the log matched;
        recipes of the other generation yield when the log shows which generation made it;
        a Hosting recipe yields a little to another match when the log is not a Hosting build."""
        if any(not m.recipe.generic and m.recipe.kind == "error" for m in found.values()):
            for match in found.values():
                if match.recipe.generic:
                    match.exact -= GENERIC_PENALTY
        gen1 = parsed.gen1 or any(  # a Gen 1 recogniser recipe (kind pattern) matched the log
            m.recipe.generation == 1 and m.recipe.kind == "pattern" and "signature" in m.matched_by for m in found.values())
        other = 1 if parsed.gen2 else 2 if gen1 else None
        if other == 2 and not any(m.recipe.generation == 1 for m in found.values()):
            other = None
        for match in found.values():
            if match.recipe.generation == other:
                match.exact -= GENERIC_PENALTY
        if not parsed.hosting and any(m.recipe.area != "hosting" and m.exact > 0 for m in found.values()):
            for match in found.values():  # the same text outside a Hosting build: the other reading first
                if match.recipe.area == "hosting":
                    match.exact -= HOSTING_PENALTY

    def _scan_lines(self, parsed: ParsedLog) -> list[str]:
        lines = [l for l in parsed.lines if l.strip()]
        if len(lines) <= MAX_SCAN_LINES:
            return lines
        return lines[:200] + lines[-(MAX_SCAN_LINES - 200):]

    def lexical(self, query: str, limit: int = 20) -> list[tuple[str, float]]:
        tokens = tokenize(query)
        if not tokens:
            return []
        scores = self.bm25.scores(tokens)
        top = np.argsort(-scores)[: limit * 8]
        return self._aggregate(((int(i), float(scores[i])) for i in top if scores[i] > 0), limit)

    def _aggregate(self, scored, limit: int) -> list[tuple[str, float]]:
        best: dict[str, float] = {}
        for i, score in scored:
            rid = self.chunks[i].recipe_id if isinstance(i, int) else i
            if score > best.get(rid, 0.0):
                best[rid] = score
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

    # ------------------------------------------------------------ fusion

    def retrieve(self, parsed: ParsedLog, query: str, top_k: int = 3, dense: str = "auto",
                 question: bool = False) -> list[Match]:
        """``dense``: "auto" (only when no specific exact match), "always" or "never".
        ``question``: the input is a question in words, not a log (looser meaning thresholds)."""
        matches = self.exact(parsed)
        specific = any(m.exact > 0 for m in matches.values())
        rankings: list[list[str]] = []
        lexical = self.lexical(query)
        for rid, score in lexical:
            matches.setdefault(rid, Match(self.recipes[rid])).lexical = score
        rankings.append([rid for rid, _ in lexical])
        if self.dense is not None and (dense == "always" or (dense == "auto" and not specific)):
            ranked = self.dense(query, 20)
            for rid, cos in ranked:
                matches.setdefault(rid, Match(self.recipes[rid])).dense = cos
            rankings.append([rid for rid, _ in ranked])
        exact_order = sorted((m for m in matches.values() if m.matched_by), key=lambda m: -m.exact)
        rankings.insert(0, [m.recipe.id for m in exact_order])
        if parsed.gen2 and not parsed.gen1:  # the input says Gen 2: Gen 1 answers only by their own error text
            for rid in [rid for rid, m in matches.items() if m.recipe.generation == 1 and not m.matched_by]:
                del matches[rid]
            rankings = [[rid for rid in ranking if rid in matches] for ranking in rankings]
        # words: meaning matters more than shared terms; logs: the other way round
        weights = [1.0, 1.0, 2.0 if question else 1.0][:len(rankings)]
        for weight, ranking in zip(weights, rankings):
            for rank, rid in enumerate(ranking):
                matches[rid].fused += weight / (RRF_K + rank + 1)
        top_lex = [rid for rid, _ in lexical[:3]]
        thresholds = self.thresholds or (QUESTION_THRESHOLDS if question else LOG_THRESHOLDS)
        for match in matches.values():
            self._calibrate(match, top_lex, lexical[0][1] if lexical else 0.0, thresholds)
        ordered = sorted(matches.values(), key=lambda m: (-(max(m.exact, 0) + (0.5 if m.matched_by else 0)), -m.fused))
        floor = ("none", "low") if specific else ("none",)  # beside an exact answer, no weak guesses
        return [m for m in ordered if m.confidence not in floor or m.exact > 0][:top_k]

    @staticmethod
    def _calibrate(match: Match, top_lex: list[str], best_lex: float, t: Thresholds) -> None:
        if match.lexical > 0 and "lexical" not in match.matched_by:
            match.matched_by.append("lexical")
        if match.dense is not None and match.dense >= t.dense_low and "semantic" not in match.matched_by:
            match.matched_by.append("semantic")
        if match.exact > 0 and not match.recipe.generic:
            match.confidence, match.score = "high", min(1.0, 0.9 + 0.02 * match.exact)
        elif {"error-name", "signature"} & set(match.matched_by):
            match.confidence, match.score = "medium", 0.75
        elif match.dense is not None and match.dense >= t.dense_medium and match.recipe.id in top_lex:
            match.confidence, match.score = "medium", round(match.dense, 4)
        elif match.dense is not None and match.dense >= t.dense_low:
            match.confidence, match.score = "low", round(match.dense, 4)
        elif match.recipe.id in top_lex[:2] and match.lexical >= max(STRONG_LEXICAL, 0.95 * best_lex):
            # a rare exact term (an exception name) shared by the log and the recipe
            match.confidence, match.score = "low", round(max(match.dense or 0.0, t.dense_low), 4)
        else:
            match.confidence, match.score = "none", round(match.dense or 0.0, 4)
