"""ampfix doctor over small fixture projects: a correct base, and one bad/good overlay per check."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.answer import project_entities as answer_project_entities
from assistant.config import load_settings
from assistant.doctor import diagnose_project
from assistant.doctor.checks import CHECKS
from assistant.doctor.parse import parse_text
from assistant.doctor.project import Project
from assistant.doctor.report import exit_status
from assistant.doctor.schedule import schedule_errors
from conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "doctor"
BASE = FIXTURES / "base"
CASES = sorted((FIXTURES / "cases").glob("*.txt"))
SECTION_RE = re.compile(r"^-- (bad|good): (\S+) --$", re.M)


def overlays(case: Path) -> dict[str, dict[str, str]]:
    text = case.read_text(encoding="utf-8")
    found: dict[str, dict[str, str]] = {"bad": {}, "good": {}}
    marks = list(SECTION_RE.finditer(text))
    for mark, following in zip(marks, marks[1:] + [None]):
        body = text[mark.end() + 1:following.start() if following else len(text)]
        found[mark.group(1)][mark.group(2)] = body
    return found


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    shutil.copytree(BASE, root)
    for rel, body in files.items():
        target = root / rel
        if not body.strip():
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return root


def ids(findings, severities=("error", "warning", "info")) -> set[str]:
    return {f.check for f in findings if f.severity.label in severities}


def test_at_least_twenty_checks_each_with_a_case():
    assert len(CHECKS) >= 20
    assert {c.id for c in CHECKS} == {case.stem for case in CASES}


def test_every_check_names_an_existing_recipe():
    known = {p.stem for p in load_settings().knowledge_dir.rglob("*.md") if p.name != "README.md"}
    assert not [c.recipe for c in CHECKS if c.recipe not in known]


def test_the_base_project_is_clean():
    findings = diagnose_project(BASE)
    assert [(f.check, f.severity.label) for f in findings] == [("secret-reference", "info")]
    assert exit_status(findings) == 0


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_fires_and_good_does_not(case, tmp_path):
    files = overlays(case)
    assert files["bad"] and files["good"], case
    bad = diagnose_project(project(tmp_path / "bad", files["bad"]))
    assert case.stem in ids(bad), [f.to_json() for f in bad]
    good = diagnose_project(project(tmp_path / "good", files["good"]))
    assert case.stem not in ids(good), [f.to_json() for f in good if f.check == case.stem]
    assert not ids(good, ("error",)), [f.to_json() for f in good]


def findings_for(tmp_path, check_id):
    files = overlays(FIXTURES / "cases" / f"{check_id}.txt")["bad"]
    return [f for f in diagnose_project(project(tmp_path, files)) if f.check == check_id]


def test_missing_allow_resource_names_the_function_and_patches_the_schema(tmp_path):
    (finding,) = findings_for(tmp_path, "function-data-client-without-allow-resource")
    assert finding.severity.label == "error"
    assert finding.file == "amplify/functions/say-hello/handler.ts" and finding.line == 7
    assert finding.entities == {"function_name": "sayHello", "resource_name": "sayHello"}
    assert "+}).authorization((allow) => [allow.resource(sayHello)]);" in finding.patch


def test_relationship_findings_say_what_is_wrong(tmp_path):
    unknown = findings_for(tmp_path / "a", "data-relationship-unknown-model")
    autor = next(f for f in unknown if "'Autor'" in f.message)
    assert "did you mean 'Author'" in autor.message
    assert "author: a.belongsTo('Author', 'authorId')" in autor.patch.split("\n+    Post:")[1]
    assert any("a customType" in f.message for f in unknown)
    sides = findings_for(tmp_path / "b", "data-relationship-missing-side")
    messages = " | ".join(f.message for f in sides)
    assert "add a.belongsTo('Team', 'teamId') to Member" in messages
    assert "Blog.posts uses reference ['blogID'] but Post.blog uses ['blogId']" in messages
    refs = findings_for(tmp_path / "c", "data-reference-field-invalid")
    messages = " | ".join(f.message for f in refs)
    assert "Member.teamNo is a.string() but Team.teamNo is a.integer()" in messages
    assert "reference field 'customerId' of Cart.customer is not a field of Cart" in messages


def test_schedule_rules_follow_amplify():
    assert schedule_errors("every 5m", 3) == [] and schedule_errors("0 8 ? * 2-6 *", 3) == []
    assert "positive whole number" in schedule_errors("every 1.5h", 3)[0]
    assert "greater than the function timeout" in schedule_errors("every 5m", 600)[0]
    assert "not an interval" in schedule_errors("every 5 minutes", 3)[0]
    assert any("both day-of-month and day-of-week" in e for e in schedule_errors("0 8 * * * *", 3))
    assert any("day-of-week" in e for e in schedule_errors("0 8 ? * MON-FRI *", 3))


def test_storage_paths_follow_amplify(tmp_path):
    found = findings_for(tmp_path, "storage-entity-id-misuse")
    messages = sorted(f.message.split("'")[1] for f in found)
    assert messages == ["media/{entity_id}/*", "profile/{entity_id}/photos/*", "x/pre{entity_id}/*", "{entity_id}/*"]
    (prefix,) = [f for f in findings_for(tmp_path / "n", "storage-path-nesting")]
    assert "foo/bar/baz/*" in prefix.message
    fmt = findings_for(tmp_path / "f", "storage-path-format")
    assert {f.message.split("'")[1] for f in fmt} == {"/media/*", "docs", "a/*/b/*"}
    assert any("+    'docs/*':" in (f.patch or "") for f in fmt)


def test_parser_is_tree_sitter_and_ignores_code_in_comments_and_strings():
    src = parse_text("// defineFunction({ timeoutSeconds: 5000 })\nconst s = 'defineStorage({})';\n", "x.ts")
    assert src.root.type == "program"
    assert [n.type for n in src.root.named_children] == ["comment", "lexical_declaration"]


def test_commented_out_mistakes_are_not_findings(tmp_path):
    root = project(tmp_path, {"amplify/functions/say-hello/resource.ts": (
        "import { defineFunction } from '@aws-amplify/backend';\n"
        "// export const old = defineFunction({ timeoutSeconds: 5000 });\n"
        "export const sayHello = defineFunction({ name: 'sayHello', resourceGroupName: 'data' });\n")})
    assert not ids(diagnose_project(root), ("error", "warning"))


def test_project_model_reads_resources_and_backend():
    model = Project(BASE)
    assert sorted((r.kind, r.var) for r in model.resources) == [
        ("auth", "auth"), ("data", "data"), ("function", "postConfirmation"), ("function", "sayHello"),
        ("storage", "photos"), ("storage", "storage")]
    assert sorted(model.backend.keys) == ["auth", "data", "photos", "postConfirmation", "sayHello", "storage"]
    assert len(model.registered()) == 6
    assert sorted(model.schemas[0].models) == ["Member", "Team", "Todo"]


# ------------------------------------------------------------------ the command line

def test_cli_text_output_and_exit_status(tmp_path):
    root = project(tmp_path, overlays(FIXTURES / "cases" / "function-timeout-out-of-range.txt")["bad"])
    result = run_cli("doctor", str(root))
    out = result.stdout.decode()
    assert result.returncode == 5, result.stderr.decode()
    assert "amplify/functions/say-hello/resource.ts:6: error: timeoutSeconds 15 * 60 * 1000 of function sayHello" in out
    assert "(recipe: function-invalid-timeout)" in out
    assert out.rstrip().endswith("\n1 error")


def test_cli_json_and_warning_exit_status(tmp_path):
    root = project(tmp_path, overlays(FIXTURES / "cases" / "data-owner-field-reassignable.txt")["bad"])
    result = run_cli("doctor", str(root), "--format", "json")
    assert result.returncode == 4, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["summary"] == {"error": 0, "warning": 2, "info": 1} and report["exit_status"] == 4
    finding = report["findings"][0]
    assert set(finding) == {"check", "severity", "message", "recipe", "file", "line", "patch", "entities"}
    assert finding["recipe"] == "owner-based-authorization"


def test_cli_markdown_for_an_issue_or_chat(tmp_path):
    root = project(tmp_path, overlays(FIXTURES / "cases" / "storage-path-format.txt")["bad"])
    result = run_cli("doctor", str(root), "--format", "markdown")
    out = result.stdout.decode()
    assert result.returncode == 5
    assert out.startswith("**ampfix doctor**: 3 errors")
    assert "- **error** `amplify/storage/resource.ts:8`: storage access path 'docs' of files must end with /*" in out
    assert "  ```diff" in out


def test_cli_clean_project_exits_0_and_a_missing_folder_is_bad_input(tmp_path):
    assert run_cli("doctor", str(BASE)).returncode == 0
    result = run_cli("doctor", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: ") and "hint:" in result.stderr.decode()


def test_cli_says_when_a_folder_is_not_a_gen2_project(tmp_path):
    result = run_cli("doctor", str(tmp_path))
    assert result.returncode == 2 and "amplify/" in result.stderr.decode()


def test_explain_fills_the_function_from_the_matching_finding(tmp_path):
    files = overlays(FIXTURES / "cases" / "function-data-client-without-allow-resource.txt")["bad"]
    files["amplify/auth/post-confirmation/handler.ts"] = (
        "import { env } from '$amplify/env/postConfirmation';\nexport const handler = async (e: unknown) => e;\n")
    root = project(tmp_path, files)
    assert answer_project_entities(root)["function_name"] == "postConfirmation"  # names in code alone
    log = tmp_path / "lambda.log"
    log.write_text("ERROR Invoke Error {\"errorType\":\"Error\",\"errorMessage\":\"The data environment variables "
                   "are malformed. Expected string values for: AMPLIFY_DATA_GRAPHQL_ENDPOINT\"}\n")
    result = run_cli("explain", str(log), "--project", str(root), "--no-llm", "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    best = json.loads(result.stdout)["matches"][0]
    assert best["id"] == "function-data-access-missing-allow-resource"
    assert "allow.resource(sayHello)" in best["fix"] and "postConfirmation" not in best["fix"]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_a_suggested_patch_applies_and_removes_its_finding(case, tmp_path):
    root = project(tmp_path, overlays(case)["bad"])
    before = [f for f in diagnose_project(root) if f.check == case.stem]
    patched = next((f for f in before if f.patch), None)
    if patched is None:
        pytest.skip("this check suggests no patch here")
    subprocess.run(["patch", "-p1", "--quiet"], input=patched.patch.encode(), cwd=root, check=True)
    after = [f for f in diagnose_project(root) if f.check == case.stem]
    assert len(after) < len(before), [f.message for f in after]


def test_models_defined_in_their_own_files_are_followed(tmp_path):
    root = project(tmp_path, {
        "amplify/data/models.ts": ("import { a } from '@aws-amplify/backend';\n"
                                   "export const Team = a.model({ members: a.hasMany('Member', 'teamId') });\n"
                                   "export const Member = a.model({ teamId: a.string(), team: a.belongsTo('Team', 'teamId') });\n"),
        "amplify/data/resource.ts": ("import { type ClientSchema, a, defineData } from '@aws-amplify/backend';\n"
                                     "import { sayHello } from '../functions/say-hello/resource';\n"
                                     "import { Team, Member as Player } from './models';\n"
                                     "const schema = a.schema({ Team, Member: Player, Lead: a.model({ t: a.belongsTo('Team', 'x') }) })\n"
                                     "  .authorization((allow) => [allow.resource(sayHello)]);\n"
                                     "export type Schema = ClientSchema<typeof schema>;\n"
                                     "export const data = defineData({ schema });\n")})
    findings = diagnose_project(root)
    model = Project(root)
    assert model.schemas[0].models["Member"].fields["teamId"].type == "string"
    assert [(f.check, f.file) for f in findings if f.severity.label == "error"] == [
        ("data-reference-field-invalid", "amplify/data/resource.ts"),
        ("data-relationship-missing-side", "amplify/data/resource.ts")]


def test_explain_prefers_the_finding_the_log_names():
    from assistant.doctor.explain import entities_for
    from assistant.doctor.registry import Finding, Severity

    def finding(name):
        return Finding("c", Severity.ERROR, "m", "function-invalid-timeout", entities={"function_name": name})

    findings = [finding("first"), finding("second")]
    assert entities_for(["function-invalid-timeout"], "Task timed out in second", {}, findings) == {"function_name": "second"}
    assert entities_for(["function-invalid-timeout"], "Task timed out", {}, findings) == {"function_name": "first"}
    assert entities_for(["function-invalid-timeout"], "x", {"function_name": "fromLog"}, findings) == {}
    assert entities_for(["another-recipe"], "second", {}, findings) == {}
