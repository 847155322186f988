import os

import pexpect
import pytest

from conftest import AMPFIX, ROOT, run_cli

PROMPT = "ampfix>"
LOG = (ROOT / "tests" / "fixtures" / "secret-not-set.log").read_text()


@pytest.fixture()
def chat(tmp_path):
    env = dict(os.environ, NO_COLOR="1", AMPFIX_HOME=str(tmp_path), PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(str(AMPFIX), ["chat"], env=env, encoding="utf-8", timeout=180, dimensions=(60, 120))
    child.expect_exact(PROMPT)
    yield child, tmp_path
    child.close(force=True)


def test_a_whole_session_in_a_terminal(chat):
    child, home = chat
    child.sendline("how do I run a function on a schedule")
    child.expect_exact("scheduled-function")
    child.expect(r"In short \(SmolLM2-135M-Instruct\.Q4_1\.gguf\)|did not pass the grounding check")
    child.expect_exact(PROMPT)

    child.sendline("and how do I check it worked?")
    child.expect_exact("Verify")
    child.expect_exact("EventBridge")
    child.expect_exact(PROMPT)

    child.send("\x1b[200~" + LOG.replace("\n", "\r") + "\x1b[201~")
    child.send("\r")
    child.expect_exact("SecretNotSetError")
    child.expect_exact("npx ampx sandbox secret set GOOGLE_CLIENT_ID")
    child.expect_exact(PROMPT)

    child.sendline("how do I give a function access to my data?")
    child.expect_exact("function-access-data-pattern")
    child.sendintr()
    child.expect_exact("stopped; the conversation goes on")
    child.expect_exact(PROMPT)

    child.sendline("/sources")
    child.expect_exact("scheduled-function")
    child.expect_exact("sandbox-secret-not-set")
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect_exact("bye")
    child.expect(pexpect.EOF)
    history = (home / "chat_history").read_text()
    assert "how do I run a function on a schedule" in history


def test_pasted_secrets_never_reach_the_history_file(chat):
    child, home = chat
    child.sendline("my key AKIAIOSFODNN7EXAMPLE fails with [ExpiredTokenError] The security token included in the request is expired")
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    history = (home / "chat_history").read_text()
    assert "AKIAIOSFODNN7EXAMPLE" not in history
    assert "[REDACTED_AWS_ACCESS_KEY_ID_1]" in history


def test_piped_input_is_one_turn_per_line():
    result = run_cli("chat", "--no-llm", stdin="how do I run a function on a schedule\n/sources\n/quit\nnot read\n")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "scheduled-function" in out
    assert out.rstrip().endswith("bye")
