"""The evaluation: run real cases through the same diagnosis API as the CLI and score it."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer, Engine
from .errors import BadInputError
from .logs import parse_log
from .render import markdown

KINDS = ("positive", "negative", "gen1", "question")


@dataclass
class Case:
    id: str
    kind: str
    log: str
    expected: list[str]
    key_terms: list[str]
    source: str
    origin: str
    code: str | None = None


@dataclass
class SystemScores:
    ranks: list[int | None] = field(default_factory=list)  # 1-based rank of the first expected id

    def add(self, ranked: list[str], expected: list[str]) -> None:
        rank = next((i + 1 for i, rid in enumerate(ranked) if rid in expected), None)
        self.ranks.append(rank)

    def summary(self) -> dict:
        n = len(self.ranks) or 1
        return {
            "cases": len(self.ranks),
            "hit@1": sum(1 for r in self.ranks if r == 1) / n,
            "hit@3": sum(1 for r in self.ranks if r and r <= 3) / n,
            "mrr": sum(1 / r for r in self.ranks if r) / n,
        }


SYSTEMS = ("full", "bm25", "dense")  # the whole pipeline, and each retriever alone on the same query


def _score(engine: Engine, systems: dict[str, SystemScores], ranked: list[str], query: str,
           expected: list[str]) -> None:
    systems["full"].add(ranked, expected)
    systems["bm25"].add([rid for rid, _ in engine.retriever.lexical(query, 10)], expected)
    systems["dense"].add([rid for rid, _ in engine._dense_search(query, 10)], expected)


def load_cases(paths: list[Path]) -> list[Case]:
    cases: list[Case] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadInputError(f"cannot read cases from {path}: {exc.strerror}", "pass a JSON Lines file with --cases") from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                case = Case(id=raw["id"], kind=raw.get("kind", "positive"), log=raw["log"],
                            expected=list(raw.get("expected") or []), key_terms=list(raw.get("key_terms") or []),
                            source=raw.get("source", ""), origin=path.name, code=raw.get("code"))
            except (ValueError, KeyError, TypeError) as exc:
                raise BadInputError(f"{path}:{n}: not a valid case ({exc})", "each line needs id, kind, log, expected") from exc
            if case.kind not in KINDS:
                raise BadInputError(f"{path}:{n}: kind {case.kind!r} is not one of {', '.join(KINDS)}")
            cases.append(case)
    return cases


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _key_terms_covered(answer: Answer, terms: list[str]) -> float | None:
    if not terms or not answer.matches:
        return None if not terms else 0.0
    text = markdown(answer).lower()
    return sum(1 for t in terms if t.lower() in text) / len(terms)


def run(engine: Engine, cases: list[Case], use_llm: bool = False, progress=None) -> dict:
    logs = {name: SystemScores() for name in SYSTEMS}
    questions = {name: SystemScores() for name in SYSTEMS}
    per_origin: dict[str, SystemScores] = {}
    timings: dict[str, list[float]] = {}
    coverage: list[float] = []
    kept = removed = 0
    neg_true = neg_false = pos_silent = 0
    gen1_right = gen1_total = 0
    failures: list[dict] = []
    for i, case in enumerate(cases):
        text = case.log if not case.code else f"{case.log}\n{case.code}"
        started = time.perf_counter()
        if case.kind == "question":  # asked in words, as `ampfix search` and `ampfix chat` ask
            answer = engine.diagnose(text, label=case.id, use_llm=use_llm, dense="always", require_context=False)
        else:
            answer = engine.diagnose(text, label=case.id, use_llm=use_llm)
        timings.setdefault("wall", []).append((time.perf_counter() - started) * 1000)
        for stage, ms in answer.timings_ms.items():
            timings.setdefault(stage, []).append(ms)
        ranked = [m.recipe.id for m in answer.matches]
        kept += answer.kept_sentences
        removed += answer.removed_sentences
        if case.kind == "negative":
            neg_true += not ranked
            neg_false += bool(ranked)
            if ranked:
                failures.append({"id": case.id, "kind": case.kind, "expected": [], "got": ranked[:3]})
        elif case.kind == "question":
            if case.expected:
                _score(engine, questions, ranked, text, case.expected)
                if questions["full"].ranks[-1] != 1:
                    failures.append({"id": case.id, "kind": case.kind, "expected": case.expected, "got": ranked[:3]})
        elif case.kind == "gen1":
            gen1_total += 1
            gen1_right += bool(answer.matches) and answer.matches[0].recipe.generation == 1
        elif case.expected:
            _score(engine, logs, ranked, parse_log(text).query_text(), case.expected)
            per_origin.setdefault(case.origin, SystemScores()).add(ranked, case.expected)
            pos_silent += not ranked
            cov = _key_terms_covered(answer, case.key_terms)
            if cov is not None:
                coverage.append(cov)
            if logs["full"].ranks[-1] != 1:
                failures.append({"id": case.id, "kind": case.kind, "expected": case.expected, "got": ranked[:3]})
        if progress:
            progress(i + 1, len(cases))
    positives = len(logs["full"].ranks)
    said_no = neg_true + pos_silent
    return {
        "cases": {k: sum(1 for c in cases if c.kind == k) for k in KINDS},
        **{name: s.summary() for name, s in logs.items()},
        "by_file": {name: s.summary() for name, s in sorted(per_origin.items())},
        "no_recipe": {
            "precision": neg_true / said_no if said_no else 1.0,
            "recall": neg_true / (neg_true + neg_false) if (neg_true + neg_false) else 1.0,
        },
        "gen1_recognised": gen1_right / gen1_total if gen1_total else None,
        "questions": {name: s.summary() for name, s in questions.items()} if questions["full"].ranks else None,
        "key_term_coverage": statistics.mean(coverage) if coverage else None,
        "grounding_removed_share": removed / (kept + removed) if (kept + removed) else None,
        "latency_ms": {stage: {"p50": _percentile(v, 0.5), "p95": _percentile(v, 0.95)} for stage, v in timings.items()},
        "positives": positives,
        "failures": failures,
        "model": use_llm,
    }


def table(report: dict) -> str:
    rows = [("system", "cases", "hit@1", "hit@3", "MRR")]
    for name in SYSTEMS:
        s = report[name]
        rows.append((name if name != "full" else "ampfix (full)", str(s["cases"]), f"{s['hit@1']:.3f}",
                     f"{s['hit@3']:.3f}", f"{s['mrr']:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    nr = report["no_recipe"]
    lines += [
        "",
        f"cases: {report['cases']}",
        f"no-recipe precision {nr['precision']:.3f}, recall {nr['recall']:.3f}",
        f"Gen 1 recognised: {_fmt(report['gen1_recognised'])}",
        f"key-term coverage: {_fmt(report['key_term_coverage'])}",
        f"model sentences removed by grounding: {_fmt(report['grounding_removed_share'])}"
        + ("" if report["model"] else " (run with --llm to measure)"),
        "latency ms (p50 / p95): " + ", ".join(f"{k} {v['p50']:.1f}/{v['p95']:.1f}" for k, v in report["latency_ms"].items()),
    ]
    for name, s in report["by_file"].items():
        lines.append(f"  {name}: {s['cases']} cases, hit@1 {s['hit@1']:.3f}, hit@3 {s['hit@3']:.3f}")
    if report.get("questions"):
        lines.append("questions asked in words (hit@1 / hit@3 / MRR): " + ", ".join(
            f"{name} {s['hit@1']:.3f}/{s['hit@3']:.3f}/{s['mrr']:.3f}" for name, s in report["questions"].items())
            + f" on {report['questions']['full']['cases']} questions")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown_report(report: dict) -> str:
    out = ["# ampfix evaluation", "", "| system | cases | hit@1 | hit@3 | MRR |", "| --- | --- | --- | --- | --- |"]
    for name in SYSTEMS:
        s = report[name]
        out.append(f"| {name} | {s['cases']} | {s['hit@1']:.3f} | {s['hit@3']:.3f} | {s['mrr']:.3f} |")
    out += ["", "```", table(report), "```", "", "## Misses", ""]
    out += [f"- `{f['id']}` expected {f['expected']} got {f['got']}" for f in report["failures"]]
    return "\n".join(out) + "\n"
