"""`ampfix slack`: the Bolt app, served over Socket Mode or Slack's Events API (HTTP).

Every failure to start (a missing token, a refused token, a port in use) is a typed error
for cli.py to print as one line; failures while running are logged as one line each.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from ..answer import Engine
from ..errors import BadInputError, SlackError
from .bot import Log, SlackBot
from .message import FileReader

EVENTS_PATH = "/slack/events"
MAX_BODY = 4 * 1024 * 1024
GUIDE = "see SLACK.md"


@dataclass(frozen=True)
class Tokens:
    bot: str
    signing_secret: str = ""
    app: str = ""


def tokens_from_env(http: bool) -> Tokens:
    tokens = Tokens(os.environ.get("SLACK_BOT_TOKEN", ""), os.environ.get("SLACK_SIGNING_SECRET", ""),
                    os.environ.get("SLACK_APP_TOKEN", ""))
    if not tokens.bot:
        raise BadInputError("SLACK_BOT_TOKEN is not set", f"export the app's Bot User OAuth Token (xoxb-...); {GUIDE}")
    if http and not tokens.signing_secret:
        raise BadInputError("SLACK_SIGNING_SECRET is not set",
                            f"export the Signing Secret from the app's Basic Information page; {GUIDE}")
    if not http and not tokens.app:
        raise BadInputError("SLACK_APP_TOKEN is not set", "export an app-level token (xapp-...) with "
                            f"connections:write for Socket Mode, or run `ampfix slack --http`; {GUIDE}")
    return tokens


def web_client(token: str, api_url: str) -> WebClient:
    base = (api_url or WebClient.BASE_URL).rstrip("/") + "/"
    handlers = [ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=2)]
    return WebClient(token=token, base_url=base, timeout=30, retry_handlers=handlers)


def bot_user_id(client: WebClient) -> str:
    """Check the bot token with auth.test; the bot's own user id comes back."""
    try:
        return str(client.auth_test().get("user_id") or "")
    except SlackApiError as exc:
        raise SlackError(f"Slack refused SLACK_BOT_TOKEN: {exc.response.get('error')}",
                         "copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions, after installing the app") from exc
    except (SlackClientError, OSError) as exc:
        raise SlackError(f"cannot reach the Slack Web API at {client.base_url}: {exc}",
                         "check the network, or AMPFIX_SLACK_API_URL") from exc


def build_app(bot: SlackBot, client: WebClient, signing_secret: str, log: Log) -> App:
    quiet = logging.getLogger("ampfix.slack.bolt")  # Bolt's warnings repeat what we say; its errors come to on_error
    quiet.setLevel(logging.ERROR)
    app = App(client=client, signing_secret=signing_secret, request_verification_enabled=bool(signing_secret),
              token_verification_enabled=False, logger=quiet)
    app.event("app_mention")(lambda event: bot.receive(event))
    app.event("message")(lambda event: bot.on_message(event))
    app.event("reaction_added")(lambda event: bot.on_reaction(event))

    @app.error
    def on_error(error: Exception) -> None:
        log(f"error: {type(error).__name__} while handling a Slack event: {error}")

    return app


# ------------------------------------------------------------------ serving

def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            path, _, query = self.path.partition("?")
            length = self.headers.get("Content-Length") or "0"
            if path != EVENTS_PATH:
                return self._send(404, {}, "not found")
            if not length.isdigit() or int(length) > MAX_BODY:
                return self._send(413, {}, "missing or too large Content-Length")
            length = int(length)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            response = app.dispatch(BoltRequest(body=body, query=query, headers=dict(self.headers.items())))
            self._send(response.status, response.headers, response.body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/healthz":
                return self._send(200, {}, "ok")
            return self._send(404, {}, "not found")

        def _send(self, status: int, headers: dict, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for name, values in headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet access log
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: Log = print

    def handle_error(self, request: object, client_address: tuple) -> None:
        kind, exc = sys.exc_info()[:2]
        self.log(f"warning: a request from {client_address[0]} failed: {kind.__name__ if kind else '?'}: {exc}")


def open_http(app: App, host: str, port: int, log: Log) -> Callable[[], None]:
    """Serve the Events API in the background; returns what stops it."""
    try:
        server = _Server((host, port), _handler(app))
    except OSError as exc:
        raise SlackError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", "pick another --port or --host") from exc
    server.log = log
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    log(f"listening on http://{host}:{server.server_port}{EVENTS_PATH}")

    def close() -> None:
        server.shutdown()
        server.server_close()

    return close


def open_socket_mode(app: App, app_token: str, log: Log) -> Callable[[], None]:
    """Connect to Slack over Socket Mode; returns what disconnects."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
    except SlackApiError as exc:
        raise SlackError(f"Slack refused SLACK_APP_TOKEN: {exc.response.get('error')}",
                         "create an app-level token with connections:write under Basic Information, "
                         "and turn Socket Mode on") from exc
    except (SlackClientError, OSError) as exc:
        raise SlackError(f"cannot open a Socket Mode connection: {exc}", "check the network, or run with --http") from exc
    if handler.client.is_connected():
        log("connected to Slack in Socket Mode")
    else:
        log("warning: the Socket Mode connection failed; retrying in the background")
    return handler.close


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def channels_of(setting: str) -> frozenset[str]:
    return frozenset(c.strip() for c in setting.split(",") if c.strip())


def run(engine: Engine, *, http: bool, host: str, port: int, log: Log) -> int:
    """Run the bot until SIGINT or SIGTERM; 0 after a clean stop."""
    settings = engine.settings
    tokens = tokens_from_env(http)
    client = web_client(tokens.bot, settings.slack_api_url)
    bot = SlackBot(engine, client, bot_user_id=bot_user_id(client), home=settings.home,
                   reader=FileReader(tokens.bot, client.base_url), log=log,
                   channels=channels_of(settings.slack_channels), queue_size=settings.slack_queue)
    app = build_app(bot, client, tokens.signing_secret if http else "", log)
    stop = _stop_on_signals()
    close = open_http(app, host, port, log) if http else open_socket_mode(app, tokens.app, log)
    bot.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        close()
        bot.stop()
    log("stopped")
    return 0
