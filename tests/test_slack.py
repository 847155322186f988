"""End to end: the real `ampfix slack --http` on loopback, signed Slack events over HTTP, and a
fake Slack Web API (tests/fake_slack.py) recording what the bot posts."""

import json
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import AMPFIX, ROOT
from fake_slack import (BOT_TOKEN, SIGNING_SECRET, FakeSlack, direct_message, event_callback, mention, reaction,
                        signed_post)

LOG = (ROOT / "tests" / "fixtures" / "secret-not-set.log").read_text()
BEDROCK = ("ValidationException: Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand "
           "throughput isn't supported. Retry your request with the ID or ARN of an inference profile that "
           "contains this model.")
SECRETS = {
    "AKIAIOSFODNN7EXAMPLE": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "xoxb-1234567890-abcdefghijklmnop": "SLACK_TOKEN=xoxb-1234567890-abcdefghijklmnop",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0dXNlciJ9.c2lnbmF0dXJlMTIzNDU": "Authorization: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0dXNlciJ9.c2lnbmF0dXJlMTIzNDU",
    "hunter2-Sup3rSecret": "DATABASE_URL=postgres://admin:hunter2-Sup3rSecret@db.internal:5432/app",
}


class Bot:
    """`ampfix slack --http --port 0` as a child process; its stderr is read as it comes."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([str(AMPFIX), *args], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.url = self.wait_line(r"listening on (http://\S+)").group(1)
            self.wait_line(r"^ready$")
        except BaseException:
            self.proc.kill()
            raise

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float = 90.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None:
                time.sleep(0.3)  # the reader takes the last lines
                raise AssertionError(f"the bot exited {self.proc.returncode}: {self.lines}")
            time.sleep(0.05)
        raise AssertionError(f"no line {pattern!r} within {timeout}s: {self.lines}")

    def send(self, payload: dict, secret: str = SIGNING_SECRET) -> int:
        return signed_post(self.url, payload, secret)[0]

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def bot_env(fake: FakeSlack, home, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AMPFIX_"))}
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, AMPFIX_SLACK_API_URL=fake.api_url,
               AMPFIX_HOME=str(home), NO_COLOR="1", **extra)
    return env


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with FakeSlack() as fake:
        # AMPFIX_REDACT=0 is for a local terminal: in Slack secrets are redacted all the same
        bot = Bot(["slack", "--http", "--port", "0", "--no-llm", "--queue", "1"],
                  bot_env(fake, home, AMPFIX_SLACK_CHANNELS="C1,C2", AMPFIX_REDACT="0"))
        bot.home = home
        yield fake, bot
        assert bot.stop() == 0, bot.lines
        assert bot.lines[-1] == "stopped"


_clock = iter(range(1, 10_000))


def new_ts() -> str:
    return f"1700000000.{next(_clock):06d}"


def answer_in(fake: FakeSlack, channel: str, thread_ts: str, nth: int = 1, timeout: float = 60.0) -> dict:
    """The bot's ``nth`` answer in a thread: its placeholder message, updated."""
    post = fake.wait_for("chat.postMessage", timeout, count=nth, channel=channel, thread_ts=thread_ts)[nth - 1]
    return fake.wait_for("chat.update", timeout, channel=channel, ts=post["_ts"])[-1]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


# ------------------------------------------------------------------ the tests


def test_a_mention_is_answered_in_its_thread_with_the_recipe_card(slack):
    fake, bot = slack
    ts = new_ts()
    assert bot.send(mention("C1", ts, f"sandbox broke:\n```{LOG}```")) == 200
    answer = answer_in(fake, "C1", ts)
    blocks = answer["blocks"]
    assert blocks[0]["type"] == "header" and "SecretNotSetError" in blocks[0]["text"]["text"]
    body = text_of(answer)
    assert "`sandbox-secret-not-set`" in body
    for title in ("*Cause*", "*Fix*", "*Verify*", "*Source*"):
        assert title in body
    assert "```\\nnpx ampx sandbox secret set GOOGLE_CLIENT_ID" in body
    assert "knowledge/secrets/sandbox-secret-not-set.md" in body
    assert fake.wait_for("reactions.add", channel="C1", timestamp=ts)[0]["name"] == "eyes"
    fake.wait_for("reactions.remove", channel="C1", timestamp=ts)

    follow = new_ts()
    assert bot.send(mention("C1", follow, "how do I check it worked?", thread_ts=ts)) == 200
    reply = answer_in(fake, "C1", ts, nth=2)
    assert reply["ts"] != answer["ts"]
    assert "`sandbox-secret-not-set` · follow-up" in text_of(reply)
    assert "*Verify*" in text_of(reply)

    elsewhere = new_ts()
    assert bot.send(mention("C2", elsewhere, "how do I check it worked?")) == 200
    assert "sandbox-secret-not-set" not in text_of(answer_in(fake, "C2", elsewhere))


def test_thumbs_on_an_answer_are_recorded_for_the_eval_set(slack):
    fake, bot = slack
    ts = new_ts()
    bot.send(mention("C1", ts, f"```{LOG}```"))
    answer = answer_in(fake, "C1", ts)
    assert bot.send(reaction("C1", answer["ts"], "+1::skin-tone-3")) == 200
    assert bot.send(reaction("C1", ts, "-1")) == 200  # on the question, not an answer: not recorded
    feedback = bot.home / "slack_feedback.jsonl"
    deadline = time.monotonic() + 10
    while not feedback.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    rows = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert len(rows) == 1
    assert rows[0]["rating"] == "up" and rows[0]["answer_ts"] == answer["ts"]
    assert rows[0]["recipes"][0] == "sandbox-secret-not-set"
    assert "SecretNotSetError" in rows[0]["question"]


def test_a_direct_message_with_an_attached_log_carrying_secrets_posts_none_of_them(slack):
    fake, bot = slack
    fake.files["build.log"] = ("\n".join(SECRETS.values()) + "\n" + LOG).encode()
    ts = new_ts()
    files = [{"id": "F9", "name": "build.log", "mimetype": "text/plain",
              "url_private_download": f"{fake.url}/files/build.log"}]
    text = f"deploy failed, my key is {SECRETS['AKIAIOSFODNN7EXAMPLE']} and {SECRETS['hunter2-Sup3rSecret']}"
    assert bot.send(direct_message("D1", ts, text, files)) == 200
    answer = answer_in(fake, "D1", ts)
    assert "`sandbox-secret-not-set`" in text_of(answer)
    assert fake.calls_to("file.get")[-1]["authorization"] == f"Bearer {BOT_TOKEN}"

    leak = new_ts()  # the same secrets inside the evidence line the card quotes
    line = LOG.replace("does not exist.", "does not exist. " + " ".join(SECRETS.values()))
    bot.send(mention("C1", leak, f"```{line}```"))
    assert "[REDACTED_AWS_ACCESS_KEY_ID_1]" in text_of(answer_in(fake, "C1", leak))
    posted = fake.everything_posted()
    for secret in SECRETS:
        assert secret not in posted
    assert "SecretNotSetError" in posted


def test_a_long_answer_is_cut_in_the_blocks_and_posted_whole_as_a_snippet(slack):
    fake, bot = slack
    ts = new_ts()
    bot.send(direct_message("D2", ts, f"```{BEDROCK}```"))
    answer = answer_in(fake, "D2", ts)
    assert "ai-bedrock-on-demand-throughput-not-supported" in text_of(answer)
    assert all(len(b["text"]["text"]) <= 3000 for b in answer["blocks"] if b["type"] == "section")
    done = fake.wait_for("files.completeUploadExternal", channel_id="D2", thread_ts=ts)[0]
    assert done["files"][0]["id"] == "F1"
    snippet = fake.calls_to("upload")[-1]["content"]
    assert snippet.startswith("## ") and "### Fix" in snippet and "### Verify" in snippet


def test_a_full_queue_gets_a_polite_busy_reply_and_nothing_is_lost(slack):
    fake, bot = slack
    first, second, third = new_ts(), new_ts(), new_ts()
    fake.gate.clear()
    fake.held.clear()
    try:
        bot.send(mention("C1", first, f"```{LOG}```"))
        assert fake.held.wait(30), "the worker never reached chat.update"
        bot.send(direct_message("D3", second, f"```{LOG}```"))
        fake.wait_for("reactions.add", channel="D3", timestamp=second)  # queued: the queue holds one
        bot.send(mention("C2", third, f"```{LOG}```"))
        busy = fake.wait_for("chat.postMessage", channel="C2", thread_ts=third)[0]
    finally:
        fake.gate.set()
    assert "busy" in busy["text"] and "try again" in busy["text"]
    assert "`sandbox-secret-not-set`" in text_of(answer_in(fake, "C1", first))
    assert "`sandbox-secret-not-set`" in text_of(answer_in(fake, "D3", second))
    assert not fake.calls_to("reactions.add", channel="C2", timestamp=third)
    assert any(line.startswith("busy: ") for line in bot.lines)


def test_unsigned_events_and_other_channels_are_ignored(slack):
    fake, bot = slack
    ts, other = new_ts(), new_ts()
    assert bot.send(mention("C1", ts, f"```{LOG}```"), secret="wrong-secret") == 401
    assert bot.send(mention("C9", other, f"```{LOG}```")) == 200
    check = new_ts()
    bot.send(mention("C1", check, f"```{LOG}```"))
    answer_in(fake, "C1", check)
    assert not fake.calls_to("chat.postMessage", thread_ts=ts)
    assert not fake.calls_to("chat.postMessage", channel="C9")
    assert any("ignored a message in C9" in line for line in bot.lines)
    assert bot.send(event_callback({"type": "message", "subtype": "message_changed", "channel": "D1",
                                    "channel_type": "im", "ts": new_ts()})) == 200
    assert signed_post(bot.url, {"type": "url_verification", "challenge": "abc123"}) == (200, '{"challenge": "abc123"}')


def test_a_bare_mention_gets_a_hint_instead_of_silence(slack):
    fake, bot = slack
    ts = new_ts()
    bot.send(mention("C1", ts, ""))
    assert "Paste the error output" in answer_in(fake, "C1", ts)["text"]


def test_the_bot_narrates_with_the_bundled_model(tmp_path):
    with FakeSlack() as fake:
        bot = Bot(["slack", "--http", "--port", "0"], bot_env(fake, tmp_path, AMPFIX_MAX_TOKENS="48"))
        try:
            ts = new_ts()
            bot.send(direct_message("D7", ts, f"```{LOG}```"))
            fake.wait_for("chat.update", count=2, timeout=120, channel="D7")
            pending, final = fake.calls_to("chat.update", channel="D7")[:2]
        finally:
            assert bot.stop() == 0
    assert "is writing a short summary" in text_of(pending)
    assert "`sandbox-secret-not-set`" in text_of(final)
    assert "writing a short summary" not in text_of(final)
    assert "In short (SmolLM2-135M-Instruct.Q4_1.gguf)" in text_of(final) or "*Cause*" in text_of(final)


def test_missing_tokens_are_one_line_errors(tmp_path):
    env = dict(os.environ, AMPFIX_HOME=str(tmp_path))
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    result = subprocess.run([str(AMPFIX), "slack", "--no-llm"], env=env, capture_output=True, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("error: SLACK_BOT_TOKEN is not set (hint:") and len(stderr.strip().splitlines()) == 1
    env["SLACK_BOT_TOKEN"] = BOT_TOKEN
    result = subprocess.run([str(AMPFIX), "slack", "--no-llm"], env=env, capture_output=True, timeout=60)
    assert result.returncode == 2 and "SLACK_APP_TOKEN is not set" in result.stderr.decode()


def test_socket_mode_with_a_refused_app_token_is_one_line(tmp_path):
    with FakeSlack() as fake:
        env = bot_env(fake, tmp_path, SLACK_APP_TOKEN="xapp-1-A1-1-refused")
        result = subprocess.run([str(AMPFIX), "slack", "--no-llm"], env=env, capture_output=True, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: Slack refused SLACK_APP_TOKEN: invalid_auth (hint:")
    assert [name for name, _ in fake.calls] == ["auth.test", "apps.connections.open"]


def test_recipe_markdown_becomes_slack_mrkdwn():
    from assistant.slack.blocks import mrkdwn

    text = ("### Fix\n\n1. Run **this**, see [the docs](https://docs.amplify.aws/x?a=1&b=2):\n\n"
            "   ```ts\n   const f = defineFunction<Env>({ name: 'a' });\n   ```\n- one & two")
    assert mrkdwn(text) == ("*Fix*\n\n1. Run *this*, see <https://docs.amplify.aws/x?a=1&amp;b=2|the docs>:\n\n"
                            "```\nconst f = defineFunction&lt;Env&gt;({ name: 'a' });\n```\n• one &amp; two")


def test_the_manifest_asks_for_the_events_the_bot_handles():
    import yaml

    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im", "reaction_added"]
    assert {"app_mentions:read", "chat:write", "im:history", "reactions:read", "files:read",
            "files:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_a_model_server_that_is_down_still_gets_the_recipe_card_posted(tmp_path):
    import socket

    from assistant.answer import Engine
    from assistant.config import load_settings
    from assistant.slack.app import web_client
    from assistant.slack.bot import Job, SlackBot
    from assistant.slack.message import FileReader

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    engine = Engine(load_settings(use_llm=True, backend="openai", base_url=closed, model="m"))
    lines: list[str] = []
    with FakeSlack() as fake:
        client = web_client(BOT_TOKEN, fake.api_url)
        bot = SlackBot(engine, client, bot_user_id="UAMPFIX", home=tmp_path, log=lines.append,
                       reader=FileReader(BOT_TOKEN, fake.api_url))
        bot.answer(Job("C1", "1.1", "1.1", "UDEV", f"```{LOG}```"))
        pending, final = fake.calls_to("chat.update", channel="C1")
    assert "m is writing a short summary" in text_of(pending)
    assert "`sandbox-secret-not-set`" in text_of(final) and "writing" not in text_of(final)
    assert lines == [f"warning: cannot reach the model server at {closed}: [Errno 111] Connection refused; "
                     "posted the recipe card alone (hint: start the server, check --base-url / AMPFIX_BASE_URL, "
                     "or use --no-llm)"]
