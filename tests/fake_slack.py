"""A fake Slack Web API on 127.0.0.1: answers like Slack and records every call.

Slack itself cannot be reached from this machine; everything else in the Slack tests is real.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler

from fake_http import LoopbackServer, QuietHandler

BOT_USER = "UAMPFIX"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-0000000000-0000000000000-testtesttesttesttesttest"


class FakeSlack(LoopbackServer):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.bodies: list[bytes] = []  # every request body, uploads included, for secret scans
        self.files: dict[str, bytes] = {}  # served at /files/NAME, as Slack serves url_private_download
        self.lock = threading.Lock()
        self.gate = threading.Event()  # cleared: chat.update waits, as if Slack were slow
        self.gate.set()
        self.held = threading.Event()  # set while a chat.update waits at the gate
        self._ts = itertools.count(1)
        super().__init__(_handler(self))
        self.api_url = self.url + "/api/"

    def __exit__(self, *exc: object) -> None:
        self.gate.set()  # release a held chat.update before the server stops
        super().__exit__(*exc)

    # ------------------------------------------------------------ what the tests read

    def calls_to(self, method: str, **match: str) -> list[dict]:
        with self.lock:
            return [args for name, args in self.calls
                    if name == method and all(args.get(k) == v for k, v in match.items())]

    def wait_for(self, method: str, timeout: float = 30.0, count: int = 1, **match: str) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method, **match)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        with self.lock:
            seen = [(name, {k: v for k, v in args.items() if k in ("channel", "thread_ts", "ts", "text")})
                    for name, args in self.calls]
        raise AssertionError(f"no {count} x {method} {match} within {timeout}s; calls: {seen}")

    def everything_posted(self) -> str:
        with self.lock:
            return b"\n".join(self.bodies).decode("utf-8", errors="replace")

    # ------------------------------------------------------------ answering like Slack

    def answer(self, method: str, args: dict) -> dict:
        if method == "chat.update" and not self.gate.is_set():
            self.held.set()
            self.gate.wait(30)
        if method == "chat.postMessage":
            args["_ts"] = f"2000000000.{next(self._ts):06d}"  # the ts Slack gives the new message
        with self.lock:
            self.calls.append((method, args))
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BAMPFIX", "team_id": "T1", "user": "ampfix"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": args["_ts"], "message": {"ts": args["_ts"]}}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.url}/upload/F1", "file_id": "F1"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F1", "title": "snippet"}]}
        if method == "apps.connections.open":  # Socket Mode: no WebSocket server here
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True}


def _args(handler: BaseHTTPRequestHandler, body: bytes) -> dict:
    args: dict = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(handler.path).query))
    if "json" in (handler.headers.get("Content-Type") or ""):
        args.update(json.loads(body or b"{}"))
    else:
        args.update(urllib.parse.parse_qsl(body.decode("utf-8", errors="replace")))
    for key in ("blocks", "files"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _handler(fake: FakeSlack):
    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with fake.lock:
                fake.bodies.append(body)
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/upload/"):
                with fake.lock:
                    fake.calls.append(("upload", {"content": body.decode("utf-8", errors="replace")}))
                return self.send_body(200, b"OK - %d" % len(body), "text/plain")
            reply = fake.answer(path.removeprefix("/api/"), _args(self, body))
            self.send_body(200, json.dumps(reply).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802
            name = urllib.parse.urlsplit(self.path).path.removeprefix("/files/")
            with fake.lock:
                fake.calls.append(("file.get", {"name": name, "authorization": self.headers.get("Authorization")}))
            data = fake.files.get(name)
            self.send_body(200 if data is not None else 404, data or b"not found", "text/plain")


    return Handler


# ------------------------------------------------------------------ Slack's side of the Events API

def signed_post(url: str, payload: dict, secret: str = SIGNING_SECRET, timeout: float = 10.0) -> tuple[int, str]:
    """POST an event to the bot the way Slack does, signed with the signing secret: (status, body)."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


_event_ids = itertools.count(1)


def event_callback(event: dict) -> dict:
    return {"token": "unused", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}], "event": event}


def mention(channel: str, ts: str, text: str, thread_ts: str | None = None, user: str = "UDEV") -> dict:
    event = {"type": "app_mention", "user": user, "channel": channel, "ts": ts, "event_ts": ts,
             "text": f"<@{BOT_USER}> {text}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event)


def direct_message(channel: str, ts: str, text: str, files: list[dict] | None = None, user: str = "UDEV") -> dict:
    event = {"type": "message", "channel_type": "im", "user": user, "channel": channel, "ts": ts, "event_ts": ts,
             "text": text}
    if files:
        event.update({"subtype": "file_share", "files": files})
    return event_callback(event)


def reaction(channel: str, ts: str, name: str, user: str = "UDEV") -> dict:
    return event_callback({"type": "reaction_added", "user": user, "reaction": name, "event_ts": ts,
                           "item": {"type": "message", "channel": channel, "ts": ts}})
