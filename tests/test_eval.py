import json

from assistant.evaluate import Case, load_cases, run
from conftest import ROOT, json_lines, run_cli

CASES = sorted((ROOT / "evals" / "cases").glob("*.jsonl"))
FLOOR = json.loads((ROOT / "evals" / "floor.json").read_text())


def test_the_real_cases_are_well_formed_and_point_at_existing_recipes(engine):
    cases = load_cases(CASES)
    assert sum(c.kind == "positive" for c in cases) >= 50
    assert sum(c.kind == "negative" for c in cases) >= 30
    for case in cases:
        assert case.source.startswith("https://"), case.id
        for rid in case.expected:
            assert rid in engine.retriever.recipes, (case.id, rid)
    assert len({c.id for c in cases}) == len(cases)


def test_the_pipeline_stays_above_the_recorded_floor(engine):
    report = run(engine, load_cases(CASES))
    assert report["full"]["hit@3"] >= FLOOR["hit@3"], report["failures"]
    assert report["full"]["hit@1"] >= FLOOR["hit@1"], report["failures"]
    assert report["no_recipe"]["recall"] >= FLOOR["no_recipe_recall"], report["failures"]
    assert report["questions"]["full"]["hit@3"] >= FLOOR["questions_hit@3"], report["failures"]


def test_scores_are_computed_from_ranks(engine):
    cases = [
        Case("a", "positive", "[SecretNotSetError] The secret X specified in the backend does not exist.",
             ["sandbox-secret-not-set"], ["secret set"], "https://x", "t"),
        Case("b", "positive", "[SecretNotSetError] The secret X specified in the backend does not exist.",
             ["scheduled-function"], [], "https://x", "t"),
        Case("c", "negative", "Traceback (most recent call last):\nValueError: pizza", [], [], "https://x", "t"),
    ]
    cases.append(Case("d", "question", "how do I run a function on a schedule", ["scheduled-function"], [],
                      "https://x", "t"))
    report = run(engine, cases)
    assert report["questions"]["full"] == {"cases": 1, "hit@1": 1.0, "hit@3": 1.0, "mrr": 1.0}
    assert report["full"]["cases"] == 2
    assert report["full"]["hit@1"] == 0.5
    assert report["no_recipe"]["recall"] == 1.0
    assert report["key_term_coverage"] == 1.0


def test_eval_command_prints_json(tmp_path):
    case = {"id": "x", "kind": "positive", "log": "[SecretNotSetError] The secret X specified in the backend does not exist.",
            "expected": ["sandbox-secret-not-set"], "key_terms": [], "source": "https://example.com"}
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case) + "\n")
    result = run_cli("eval", "--cases", str(path), "--format", "json", "--report", str(tmp_path / "r.md"))
    assert result.returncode == 0, result.stderr.decode()
    (report,) = json_lines(result.stdout)
    assert report["full"]["hit@1"] == 1.0
    assert set(report) >= {"bm25", "dense", "no_recipe", "latency_ms", "key_term_coverage"}
    assert (tmp_path / "r.md").read_text().startswith("# ampfix evaluation")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    broken = run_cli("eval", "--cases", str(bad))
    assert broken.returncode == 2 and b"not a valid case" in broken.stderr
