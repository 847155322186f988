"""Model backends behind one protocol: llama.cpp (the bundled model) and a fake for tests."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from pathlib import Path
from typing import Iterator, Protocol

from .errors import ModelError

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


BACKENDS = {"llama": LlamaCppBackend, "fake": FakeBackend}
