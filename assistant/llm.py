"""Model backends behind one protocol: llama.cpp (the bundled model), an OpenAI-compatible
server (llama.cpp's server, vLLM, Ollama) shared by a team, and a fake for tests."""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from .errors import BadInputError, ModelError

if TYPE_CHECKING:
    from .config import Settings

Message = dict[str, str]


class Backend(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yield the reply piece by piece."""
        ...


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints its load log on fd 2 even when asked not to; keep the terminal clean."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class LlamaCppBackend:
    """Runs a GGUF model in-process with llama-cpp-python."""

    def __init__(self, path: Path, n_ctx: int = 2048, threads: int = 0, seed: int = 7) -> None:
        self.path = path
        self.name = path.name
        self.n_ctx = n_ctx
        self.threads = threads or (os.cpu_count() or 2)
        self.seed = seed
        self._llm = None

    def load(self):
        if self._llm is None:
            try:
                from llama_cpp import Llama

                with _quiet_stderr():
                    self._llm = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                                      seed=self.seed, verbose=False)
            except Exception as exc:  # noqa: BLE001 - any load failure means the same to the user
                raise ModelError(f"cannot load the model {self.path}: {exc}", "check the file is a GGUF model, or use --no-llm") from exc
        return self._llm

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        llm = self.load()
        try:
            for part in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0,
                                                   top_p=1.0, repeat_penalty=1.15, stream=True):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta
        except ValueError as exc:
            raise ModelError(f"the model could not answer: {exc}", "try a shorter input, or use --no-llm") from exc


RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
SERVER_HINT = "start the server, check --base-url / AMPFIX_BASE_URL, or use --no-llm"


def api_root(base_url: str) -> str:
    """``http://host:8080`` and ``http://host:8080/v1/`` both mean ``http://host:8080/v1``."""
    url = base_url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(f"--base-url {base_url!r} is not an http(s) URL", "pass e.g. http://localhost:8080/v1")
    return url if parts.path else url + "/v1"


class OpenAIBackend:
    """Streams chat completions from an OpenAI-compatible server, so a team shares one model.

    Connection failures and busy answers (429, 5xx) are retried before the first token; a
    server that stays down becomes a ModelError with a hint, never a hang."""

    def __init__(self, base_url: str, model: str = "", api_key: str = "", timeout: float = 60.0,
                 retries: int = 2, backoff: float = 0.5) -> None:
        self.base_url = api_root(base_url)
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    @property
    def name(self) -> str:
        return self.model_id()

    def model_id(self) -> str:
        """The model to ask for: the one given, or the first the server lists."""
        if not self.model:
            with self._open("/models") as response:
                listed = json.load(response).get("data") or []
            if not listed:
                raise ModelError(f"the model server at {self.base_url} lists no models", "pass --model NAME")
            self.model = str(listed[0]["id"])
        return self.model

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        body = {"model": self.model_id(), "messages": messages, "max_tokens": max_tokens,
                "temperature": 0.0, "stream": True}
        with self._open("/chat/completions", body) as response:
            if "json" in (response.headers.get("Content-Type") or ""):  # a server that does not stream
                yield _message_content(json.load(response))
                return
            try:
                yield from _sse_deltas(response)
            except (OSError, ValueError) as exc:
                raise ModelError(f"the model server at {self.base_url} stopped mid-answer: {exc}", SERVER_HINT) from exc

    def _open(self, path: str, body: dict | None = None):
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                return urllib.request.urlopen(request, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUSES or last:
                    raise self._refused(exc) from exc
            except TimeoutError as exc:
                raise ModelError(f"the model server at {self.base_url} did not answer within {self.timeout:g}s",
                                 "raise AMPFIX_TIMEOUT, or check the server's load") from exc
            except (urllib.error.URLError, OSError) as exc:
                if last:
                    reason = getattr(exc, "reason", exc)
                    raise ModelError(f"cannot reach the model server at {self.base_url}: {reason}", SERVER_HINT) from exc
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _refused(self, exc: urllib.error.HTTPError) -> ModelError:
        try:
            detail = json.loads(exc.read() or b"{}").get("error") or {}
            detail = detail.get("message", "") if isinstance(detail, dict) else str(detail)
        except (ValueError, OSError, AttributeError):
            detail = ""
        hint = {401: "set AMPFIX_API_KEY (or OPENAI_API_KEY)", 403: "set AMPFIX_API_KEY (or OPENAI_API_KEY)",
                404: "check --base-url (it usually ends in /v1) and --model NAME"}.get(exc.code, SERVER_HINT)
        return ModelError(f"the model server at {self.base_url} answered {exc.code}{': ' + detail if detail else ''}", hint)


def _sse_deltas(response) -> Iterator[str]:
    """The content pieces of a streamed chat completion (server-sent events)."""
    for raw in response:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        event = json.loads(payload)
        if event.get("error"):
            raise ModelError(f"the model server failed: {event['error']}", SERVER_HINT)
        choices = event.get("choices") or [{}]
        delta = (choices[0].get("delta") or {}).get("content")
        if delta:
            yield delta


def _message_content(reply: dict) -> str:
    try:
        return reply["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelError("the model server's answer has no message", SERVER_HINT) from exc


class FakeBackend:
    """Replies with queued texts, recording every prompt it was given."""

    name = "fake"

    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies: deque[str] = deque(replies or [])
        self.history: list[list[Message]] = []

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        self.history.append(messages)
        reply = self.replies.popleft() if self.replies else ""
        for word in reply.split(" "):
            yield word + " "


BACKENDS = {"llama": LlamaCppBackend, "openai": OpenAIBackend, "fake": FakeBackend}


def check_backend(settings: Settings) -> None:
    """Fail early, before any answer is shown, on a backend that cannot be built."""
    if settings.backend not in ("llama", "openai"):
        raise BadInputError(f"unknown backend {settings.backend!r}", "use --backend llama or --backend openai")
    if settings.backend == "openai":
        if not settings.base_url:
            raise BadInputError("the openai backend needs its server's URL",
                                "pass --base-url http://HOST:PORT/v1 or set AMPFIX_BASE_URL")
        api_root(settings.base_url)


def backend_for(settings: Settings) -> Backend:
    """The backend the settings name: ``llama`` (a GGUF file) or ``openai`` (a server)."""
    from .config import model_path

    check_backend(settings)
    if settings.backend == "openai":
        return OpenAIBackend(settings.base_url, settings.model, settings.api_key or os.environ.get("OPENAI_API_KEY", ""),
                             timeout=settings.timeout)
    return LlamaCppBackend(model_path(settings), threads=settings.threads)
