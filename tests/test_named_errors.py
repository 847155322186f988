"""Every error Amplify Gen 2's own tooling raises is answered by the recipe that names it."""

import json
import re

import pytest

from conftest import ROOT, reference_rows
from regex_examples import example, js_to_python

ROWS = reference_rows("amplify-errors.jsonl")
FILLERS = {
    "secretName": "GOOGLE_CLIENT_ID", "stackName": "amplify-myapp-alice-sandbox-1a2b3c4d5e", "region": "us-east-1",
    "functionName": "sayHello", "name": "myResource", "path": "amplify/backend.ts", "version": "1.2.3",
}


def fill(template: str) -> str:
    def sub(match):
        inner = match.group(1) or match.group(2) or ""
        key = re.sub(r"\W", "", inner.split(".")[-1])
        return FILLERS.get(key, "sample" + key[:1].upper() + key[1:] if key else "sample")

    return re.sub(r"\$\{([^}]*)\}|\{([A-Za-z_][\w]*)\}", sub, template)


def names():
    seen = {}
    for row in ROWS:
        if row["kind"] != "mapper" and row["name"] not in seen:
            seen[row["name"]] = row
    for row in ROWS:
        seen.setdefault(row["name"], row)
    return sorted(seen.values(), key=lambda r: r["name"])


TEXT_KINDS = {"regex", "substring", "substring-any", "substring-all", "startsWith", "startsWith-any / endsWith"}
RAW_LINES = json.loads((ROOT / "tests" / "fixtures" / "mapper_lines.json").read_text(encoding="utf-8"))


def mappers():
    return [r for r in ROWS if r["kind"] == "mapper" and r.get("pattern") and r["pattern_kind"] != "fallback"]


def first_line_pattern(js_pattern: str) -> str:
    """The part of a mapper pattern that matches within one line, its groups closed."""
    cut = js_to_python(js_pattern).split("[\\r\\n]")[0]
    depth = 0
    for i, char in enumerate(cut):
        if char == "\\":
            continue
        if i and cut[i - 1] == "\\":
            continue
        depth += (char == "(") - (char == ")")
    return cut + ")" * max(depth, 0)


def raw_line(row) -> str:
    """A raw line the mapper turns into its error: from the fixture table, else built from the regex."""
    key = f"{row['name']}:{row['line']}"
    if key in RAW_LINES:
        line = RAW_LINES[key]
    else:
        assert row["pattern_kind"] in TEXT_KINDS, f"add a realistic raw line for {key} to tests/fixtures/mapper_lines.json"
        line = example(first_line_pattern(row["pattern"]))
        assert len(line) >= 16, f"{line!r} is too thin; add a realistic raw line for {key} to mapper_lines.json"
    if row["pattern_kind"] in TEXT_KINDS and row["pattern_kind"] != "substring-all":
        pattern = first_line_pattern(row["pattern"]).lstrip("^")
        assert re.search(pattern, line), (key, line)
    return line


def top_recipes(engine, text: str):
    answer = engine.diagnose(text, use_llm=False, dense="never")
    return answer.matches


@pytest.mark.parametrize("row", names(), ids=lambda r: r["name"])
def test_the_printed_error_is_answered_by_the_recipe_that_names_it(engine, row):
    message = fill(row["message"]).splitlines()[0] if row["message"] else ""
    text = f"[{row['name']}] {message}\nResolution: {fill(row['resolution'] or '')}"
    matches = top_recipes(engine, text)
    assert matches, text
    assert row["name"] in matches[0].recipe.amplify_errors, (text, [m.recipe.id for m in matches])


@pytest.mark.parametrize("row", mappers(), ids=lambda r: f"{r['name']}:{r['line']}")
def test_a_raw_line_a_mapper_matches_reaches_the_recipe_of_its_name(engine, row):
    line = raw_line(row)
    matches = top_recipes(engine, line)
    ids = [m.recipe.id for m in matches]
    assert any(row["name"] in m.recipe.amplify_errors for m in matches), (line, ids)


WRAPPERS = [
    ("BackendBuildError", "Unable to deploy due to CDK Assembly Error", "SecretNotSetError",
     "The secret GOOGLE_CLIENT_ID specified in the backend does not exist."),
    ("CloudFormationDeploymentError", "The CloudFormation deployment has failed.", "CloudformationStackCircularDependencyError",
     "The CloudFormation deployment failed due to circular dependency found between nested stacks [data7552DF31, function1351588B]"),
    ("BackendBuildError", "Unable to deploy due to CDK Assembly Error", "ExpiredTokenError",
     "The security token included in the request is expired"),
]
NOISE_HEAD = ("\x1b[2m10:02:11 AM\x1b[22m Amplify Sandbox\n\n  Identifier: \talice\n  Stack: \tamplify-myapp-alice-sandbox-1a2b3c4d5e\n"
              "\n  To specify a different sandbox identifier, use --identifier\n"
              "\x1b[2m10:02:12 AM\x1b[22m [Sandbox] Watching for file changes...\n")
NOISE_TAIL = ("    at AmplifyError.fromError (/app/node_modules/@aws-amplify/platform-core/lib/errors/amplify_error.js:85:16)\n"
              "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n")


@pytest.mark.parametrize("wrapper, wmsg, cause, cmsg", WRAPPERS, ids=lambda v: v if isinstance(v, str) and v.endswith("Error") else "")
def test_noise_and_wrappers_do_not_hide_the_cause(engine, wrapper, wmsg, cause, cmsg):
    text = (NOISE_HEAD + f"\x1b[31m[{wrapper}]\x1b[39m {wmsg}\r\n  ∟ Caused by: [{cause}] {cmsg}\r\n"
            "Resolution: Check the Caused by error and fix any issues in your backend code\r\n" + NOISE_TAIL)
    matches = top_recipes(engine, text)
    assert cause in matches[0].recipe.amplify_errors, [m.recipe.id for m in matches]
