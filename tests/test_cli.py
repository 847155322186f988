import pytest

from conftest import ROOT, json_lines, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
SECRET = str(FIXTURES / "secret-not-set.log")
DJANGO = str(FIXTURES / "django.log")
CONTRACT = {"id", "title", "score", "confidence", "matched_by", "evidence", "cause", "fix", "verify", "source",
            "amplify_errors"}


def assert_one_line_error(result, code=2):
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("error: ") and "hint:" in stderr
    assert "Traceback" not in stderr


def test_explain_json_follows_the_contract():
    result = run_cli("explain", SECRET, "--format", "json", "--no-llm")
    assert result.returncode == 0, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert set(answer) == {"input", "matches", "answer", "model", "redactions", "timings_ms"}
    assert answer["input"] == SECRET
    best = answer["matches"][0]
    assert set(best) == CONTRACT
    assert "SecretNotSetError" in best["amplify_errors"]
    assert best["confidence"] == "high"
    assert best["source"].startswith("knowledge/") and (ROOT / best["source"]).is_file()
    assert "npx ampx sandbox secret set GOOGLE_CLIENT_ID" in best["fix"]
    assert answer["answer"] is None and answer["model"] is None
    assert answer["timings_ms"]["total"] > 0


def test_explain_reads_stdin():
    text = (FIXTURES / "secret-not-set.log").read_text()
    result = run_cli("explain", "-", "--format", "json", "--no-llm", stdin=text)
    assert result.returncode == 0, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert answer["input"] == "-"
    assert "SecretNotSetError" in answer["matches"][0]["amplify_errors"]


def test_several_inputs_give_json_lines_in_order_and_nothing_is_lost(tmp_path):
    missing = str(tmp_path / "missing.log")
    result = run_cli("explain", SECRET, missing, DJANGO, "--format", "json", "--no-llm")
    assert result.returncode == 2
    lines = json_lines(result.stdout)
    assert [line["input"] for line in lines] == [SECRET, DJANGO]
    assert lines[1]["matches"] == []
    assert "no such file" in result.stderr.decode()


def test_another_framework_exits_3_without_calling_the_model():
    result = run_cli("explain", DJANGO, "--format", "json")
    assert result.returncode == 3, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert answer["matches"] == [] and answer["answer"] is None and answer["model"] is None
    assert "generate" not in answer["timings_ms"]
    text = run_cli("explain", DJANGO)
    assert text.returncode == 3
    assert b"No recipe matches this input." in text.stdout


THROUGHPUT = ("Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn't "
              "supported. Retry your request with the ID or ARN of an inference profile that contains this model.")


def test_a_platform_error_from_another_toolchain_says_why_nothing_matched(tmp_path):
    python = tmp_path / "python.log"
    python.write_text("    raise error_class(parsed_response, operation_name)\n"
                      "botocore.errorfactory.ValidationException: An error occurred (ValidationException) when "
                      f"calling the ConverseStream operation: {THROUGHPUT}\n")
    result = run_cli("explain", str(python), "--format", "json", "--no-llm")
    assert result.returncode == 3, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert answer["matches"] == []
    assert "Python and boto3" in answer["note"] and "ai-bedrock-on-demand-throughput-not-supported" in answer["note"]
    text = run_cli("explain", str(python), "--no-llm")
    assert b"not from an Amplify app" in text.stdout
    amplify = tmp_path / "amplify.log"
    amplify.write_text(f"2024-11-02T10:01:02.123Z ERROR [amplify-myapp-main-branch-1a2b3c4d5e-chatHandler] {THROUGHPUT}\n")
    answered = run_cli("explain", str(amplify), "--format", "json", "--no-llm")
    assert answered.returncode == 0, answered.stderr.decode()
    (answer,) = json_lines(answered.stdout)
    assert answer["matches"][0]["id"] == "ai-bedrock-on-demand-throughput-not-supported" and "note" not in answer


@pytest.mark.parametrize("kind", ["empty", "directory", "binary", "missing"])
def test_bad_inputs_exit_2_with_one_line(tmp_path, kind):
    path = tmp_path / "input.log"
    if kind == "empty":
        path.write_text("")
    elif kind == "directory":
        path = tmp_path
    elif kind == "binary":
        path.write_bytes(b"\x7fELF\x00\x00\x01" * 500)
    result = run_cli("explain", str(path))
    assert_one_line_error(result)


@pytest.mark.parametrize("args", [("explain", "--bogus"), ("nosuch",), ("explain", "--format", "xml", "x.log"), ("show",)])
def test_usage_mistakes_are_one_line_with_a_hint(args):
    result = run_cli(*args)
    assert_one_line_error(result)
    assert b"--help" in result.stderr


def test_empty_stdin_is_bad_input():
    assert_one_line_error(run_cli("explain", "-", stdin=""))


def test_a_missing_model_file_is_one_line_and_debug_shows_the_traceback(tmp_path):
    result = run_cli("explain", SECRET, "--model", str(tmp_path / "none.gguf"))
    assert_one_line_error(result, code=1)
    debug = run_cli("--debug", "explain", SECRET, "--model", str(tmp_path / "none.gguf"))
    assert b"Traceback" in debug.stderr


def test_markdown_format():
    result = run_cli("explain", SECRET, "--format", "markdown", "--no-llm")
    out = result.stdout.decode()
    assert result.returncode == 0
    assert out.startswith("## ")
    for heading in ("### Cause", "### Fix", "### Verify", "### Source"):
        assert heading in out


def test_show_search_index_and_recipes_commands():
    shown = run_cli("show", "scheduled-function")
    assert shown.returncode == 0 and b"id: scheduled-function" in shown.stdout
    assert_one_line_error(run_cli("show", "no-such-recipe"))
    found = run_cli("search", "run", "a", "function", "on", "a", "cron", "schedule", "--format", "json")
    assert found.returncode == 0
    assert "scheduled-function" in [m["id"] for m in json_lines(found.stdout)[0]["matches"]]
    assert run_cli("index", "build").returncode == 0
    status = run_cli("index", "status")
    assert status.returncode == 0, status.stdout.decode()
    assert b"status: current" in status.stdout
    checked = run_cli("recipes", "check")
    assert checked.returncode == 0 and b"0 problems" in checked.stdout


def test_explain_with_the_bundled_model_end_to_end():
    result = run_cli("explain", SECRET, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert answer["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert answer["timings_ms"]["generate"] > 0
    assert "SecretNotSetError" in answer["matches"][0]["amplify_errors"]
    text = run_cli("explain", SECRET)
    out = text.stdout.decode()
    assert text.returncode == 0
    assert "Cause" in out and "Fix" in out and "Verify" in out
    assert "In short (SmolLM2-135M-Instruct.Q4_1.gguf)" in out or "did not pass the grounding check" in out
    assert text.stderr.decode().strip() == ""
