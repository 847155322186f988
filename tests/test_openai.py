"""`--backend openai`: explain against a small OpenAI-compatible server on loopback."""

import json
import socket
import time

import pytest

from conftest import ROOT, json_lines, run_cli
from fake_http import LoopbackServer, QuietHandler

SECRET = str(ROOT / "tests" / "fixtures" / "secret-not-set.log")
GROUNDED = "Set the secret GOOGLE_CLIENT_ID with npx ampx sandbox secret set."
INVENTED = "Call amplifySecrets.forceReload() to load it again."


class FakeOpenAI(LoopbackServer):
    """Streams queued replies as server-sent events, as llama.cpp's server, vLLM and Ollama do."""

    def __init__(self, reply: str, failures: int = 0) -> None:
        self.reply = reply
        self.failures = failures  # answer 503 this many times first
        self.requests: list[tuple[str, dict, str]] = []
        super().__init__(_handler(self))


def _handler(fake: FakeOpenAI):
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            fake.requests.append((self.path, {}, self.headers.get("Authorization") or ""))
            self.send_json(200, {"object": "list", "data": [{"id": "tiny-instruct", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            fake.requests.append((self.path, body, self.headers.get("Authorization") or ""))
            if fake.failures > 0:
                fake.failures -= 1
                return self.send_json(503, {"error": {"message": "loading model"}})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in fake.reply.split(" "):
                chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": word + " "}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")


    return Handler


def test_explain_narrates_through_an_openai_compatible_server_under_the_grounding_check(tmp_path):
    with FakeOpenAI(f"{GROUNDED} {INVENTED}") as server:
        result = run_cli("explain", SECRET, "--backend", "openai", "--base-url", server.url + "/v1",
                         "--model", "tiny-instruct", env={"AMPFIX_HOME": str(tmp_path), "NO_COLOR": "1"})
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "In short (tiny-instruct)" in out
    assert GROUNDED in out and "forceReload" not in out
    (path, body, _), = server.requests
    assert path == "/v1/chat/completions"
    assert body["model"] == "tiny-instruct" and body["stream"] is True and body["max_tokens"] == 160
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "SecretNotSetError" in body["messages"][1]["content"]


def test_environment_settings_retries_and_the_model_the_server_lists(tmp_path):
    env = {"AMPFIX_HOME": str(tmp_path), "AMPFIX_BACKEND": "openai", "AMPFIX_API_KEY": "sk-team"}
    with FakeOpenAI(GROUNDED, failures=1) as server:
        env["AMPFIX_BASE_URL"] = server.url  # no /v1: it is added
        result = run_cli("explain", SECRET, "--format", "json", env=env)
    assert result.returncode == 0, result.stderr.decode()
    (answer,) = json_lines(result.stdout)
    assert answer["model"] == "tiny-instruct" and answer["answer"] == GROUNDED
    paths = [path for path, _, _ in server.requests]
    assert paths == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    assert {auth for _, _, auth in server.requests} == {"Bearer sk-team"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args, code, message", [
    (["--base-url", "http://127.0.0.1:{port}/v1", "--model", "m"], 1, "cannot reach the model server at"),
    ([], 2, "the openai backend needs its server's URL"),
])
def test_a_server_that_is_down_or_missing_is_one_clear_line(tmp_path, args, code, message):
    port = _closed_port()
    started = time.monotonic()
    result = run_cli("explain", SECRET, "--format", "json", "--backend", "openai",
                     *[a.format(port=port) for a in args], env={"AMPFIX_HOME": str(tmp_path)})
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith(f"error: {message}")
    assert "hint:" in stderr and "Traceback" not in stderr
    assert time.monotonic() - started < 30


def test_chat_goes_on_when_the_shared_server_is_down(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    result = run_cli("chat", "--backend", "openai", "--base-url", url, "--model", "m",
                     stdin=" ".join(open(SECRET).read().splitlines()) + "\n/sources\n/quit\n",
                     env={"AMPFIX_HOME": str(tmp_path)})
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "npx ampx sandbox secret set GOOGLE_CLIENT_ID" in out
    assert f"error: cannot reach the model server at {url}" in out
    assert "sandbox-secret-not-set" in out.split("error: cannot reach")[1] and out.rstrip().endswith("bye")
