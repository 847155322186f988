"""The Slack bot's core: a conversation per thread, one model worker behind a bounded queue,
answers posted in threads with the user's secrets redacted, thumbs recorded as feedback.

Bolt's listener threads only take messages in (``receive``): they queue a job, or say the bot
is busy, and never wait for the model. One worker thread answers the jobs in order.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from ..answer import Engine
from ..conversation import Conversation, Turn
from ..errors import AmpfixError, ModelError
from ..redact import Redactor
from . import blocks
from .message import FileReader, attached_texts, plain_text

MAX_THREADS = 500
MAX_REMEMBERED = 5000
MAX_QUESTION_CHARS = 64_000
FEEDBACK_FILE = "slack_feedback.jsonl"
RATINGS = {"+1": "up", "thumbsup": "up", "-1": "down", "thumbsdown": "down"}
PROGRESS = "eyes"
WORKING = "Looking into it…"
BUSY = ("I'm busy with other questions right now ({waiting} waiting), so I could not take this one. "
        "Please try again in a minute: send it again in this thread.")
EMPTY = ("Paste the error output (in a code block or as an attached file) or ask about an Amplify Gen 2 "
         "feature, and I'll answer in this thread.")
SORRY = "Sorry, I could not answer this one: {error}"
Log = Callable[[str], None]


@dataclass
class Job:
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    files: list[dict] = field(default_factory=list)
    placeholder: str = ""


@dataclass
class Thread:
    """A Slack thread: its conversation, and the secrets seen in it (never posted back)."""

    conversation: Conversation
    redactor: Redactor = field(default_factory=Redactor)

    def scrub(self, value: Any) -> Any:
        """``value`` (text, or blocks) with every secret this thread has seen replaced."""
        if isinstance(value, str):
            for secret, placeholder in self.redactor.mapping.items():
                value = value.replace(secret, placeholder)
            return value
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value


def _bounded_put(mapping: OrderedDict, key: Any, value: Any, limit: int) -> None:
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > limit:
        mapping.popitem(last=False)


def _is_dm(event: dict) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


class SlackBot:
    def __init__(self, engine: Engine, client: WebClient, *, bot_user_id: str, home: Path, reader: FileReader,
                 log: Log, channels: frozenset[str] = frozenset(), queue_size: int = 8) -> None:
        self.engine = engine
        self.client = client
        self.bot_user_id = bot_user_id
        self.channels = channels
        self.reader = reader
        self.log = log
        self.use_llm = engine.settings.use_llm
        self.feedback_path = home / FEEDBACK_FILE
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max(1, queue_size))
        self.threads: OrderedDict[tuple[str, str], Thread] = OrderedDict()
        self.answers: OrderedDict[tuple[str, str], dict] = OrderedDict()
        self.seen: OrderedDict[tuple, None] = OrderedDict()  # events already taken: Slack retries
        self.lock = threading.Lock()
        self.worker = threading.Thread(target=self.work, name="ampfix-model-worker", daemon=True)

    # ------------------------------------------------------------ intake (Bolt's threads)

    def on_message(self, event: dict) -> None:
        """A direct message: answered like a mention; edits, bots and channel chatter are not."""
        if _is_dm(event) and event.get("subtype") in (None, "file_share") and not event.get("bot_id"):
            self.receive(event)

    def receive(self, event: dict) -> None:
        """Queue a mention or a direct message, or say the bot is busy: never drop it silently."""
        job = self._job(event)
        if job is None:
            return
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            waiting = self.jobs.qsize()
            self.log(f"busy: {waiting} questions waiting; asked {job.user or 'a user'} in {job.channel} to retry")
            self._call("chat_postMessage", channel=job.channel, thread_ts=job.thread_ts,
                       **self._payload(None, blocks.plain(BUSY.format(waiting=waiting))))
            return
        self._call("reactions_add", channel=job.channel, timestamp=job.ts, name=PROGRESS)

    def _job(self, event: dict) -> Job | None:
        channel, ts = event.get("channel", ""), event.get("ts", "")
        if not channel or not ts or event.get("user") == self.bot_user_id:
            return None
        if self.channels and channel not in self.channels and not _is_dm(event):
            self.log(f"ignored a message in {channel}: not one of the allowed channels (AMPFIX_SLACK_CHANNELS)")
            return None
        with self.lock:
            if (channel, ts) in self.seen:
                return None  # Slack delivered it twice (a retry, or a mention in a DM)
            _bounded_put(self.seen, (channel, ts), None, MAX_REMEMBERED)
        return Job(channel, event.get("thread_ts") or ts, ts, event.get("user", ""), event.get("text", ""),
                   list(event.get("files") or []))

    def on_reaction(self, event: dict) -> None:
        """A thumbs up or down on an answer: one JSON line of eval material in AMPFIX_HOME."""
        rating = RATINGS.get(str(event.get("reaction", "")).split("::")[0])
        item = event.get("item") or {}
        key = (item.get("channel"), item.get("ts"), event.get("user"), rating)
        with self.lock:
            record = self.answers.get((item.get("channel"), item.get("ts")))
            if rating is None or record is None or event.get("user") == self.bot_user_id or key in self.seen:
                return
            _bounded_put(self.seen, key, None, MAX_REMEMBERED)
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rating": rating,
               "user": event.get("user", ""), "channel": item.get("channel"), "answer_ts": item.get("ts"), **record}
        with self.lock:
            self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
            with self.feedback_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")

    # ------------------------------------------------------------ the model worker

    def start(self) -> None:
        self.worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        waiting = self.jobs.qsize()
        if waiting:
            self.log(f"stopping with {waiting} questions unanswered")
        try:
            self.jobs.put_nowait(None)
        except queue.Full:
            return
        self.worker.join(timeout)
        if not self.worker.is_alive():
            self.engine.close()

    def work(self) -> None:
        self.warm_up()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                self.answer(job)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the worker
                self._fail(job, exc)

    def warm_up(self) -> None:
        """Load the index, embedder and model before the first question, not during it."""
        try:
            self.engine.dense_index()
            self.engine.embedder.embed(["warm up"])
        except Exception as exc:  # noqa: BLE001 - the worker must live on: signatures still answer
            self.log(f"warning: the search index is not ready: {getattr(exc, 'message', exc)}")
        if self.use_llm:
            try:
                getattr(self.engine.backend, "load", lambda: None)()
            except ModelError as exc:
                self.use_llm = False
                self.log(f"warning: {exc.message}; answering with recipe cards alone (hint: {exc.hint})")
        self.log("ready")

    def answer(self, job: Job) -> None:
        thread = self._thread(job)
        text = self._read(job, thread)
        job.placeholder = self._post(job, thread, blocks.plain(WORKING))
        if not text:
            self._update(job, thread, blocks.plain(EMPTY))
        else:
            turn = self._ask(job, thread, text)
            message = self._message(turn)
            self._update(job, thread, message)
            if message.snippet:  # the blocks already hold the answer: a failed upload only loses the rest
                self._call("files_upload_v2", channel=job.channel, thread_ts=job.thread_ts, title="The whole answer",
                           filename="ampfix-answer.md", content=thread.scrub(message.snippet))
            self._remember(job, text, turn)
        self._call("reactions_remove", channel=job.channel, timestamp=job.ts, name=PROGRESS)

    def _thread(self, job: Job) -> Thread:
        key = (job.channel, job.thread_ts)
        with self.lock:
            thread = self.threads.get(key) or self._new_thread()
            _bounded_put(self.threads, key, thread, MAX_THREADS)
        return thread

    def _new_thread(self) -> Thread:
        """Slack always redacts (AMPFIX_REDACT=0 is for a local terminal); accounts and e-mails as configured."""
        settings = self.engine.settings
        return Thread(Conversation(self.engine, use_llm=self.use_llm),
                      Redactor(accounts=settings.redact_accounts, emails=settings.redact_emails))

    def _read(self, job: Job, thread: Thread) -> str:
        parts = [plain_text(job.text, self.bot_user_id), *attached_texts(job.files, self.reader.read, self.log)]
        return thread.redactor.redact("\n".join(p for p in parts if p.strip()).strip())

    def _ask(self, job: Job, thread: Thread, text: str) -> Turn:
        shown: list[Turn] = []

        def on_reply(turn: Turn) -> None:
            shown.append(turn)
            if thread.conversation.use_llm and turn.kind != "none":
                self._update(job, thread, self._message(turn, pending=True))

        try:
            return thread.conversation.ask(text, on_reply=on_reply)
        except ModelError as exc:
            if not shown:
                raise
            self.log(f"warning: {exc.message}; posted the recipe card alone (hint: {exc.hint})")
            return shown[0]

    def _message(self, turn: Turn, pending: bool = False) -> blocks.Message:
        return blocks.for_turn(turn, self.engine.retriever.recipes, self.model_name(), pending)

    def model_name(self) -> str:
        try:
            return getattr(self.engine.backend, "name", "model") if self.use_llm else "model"
        except AmpfixError:
            return "model"

    def _remember(self, job: Job, text: str, turn: Turn) -> None:
        if not turn.recipes:
            return
        record = {"thread_ts": job.thread_ts, "kind": turn.kind, "recipes": list(turn.recipes),
                  "question": text[:MAX_QUESTION_CHARS]}
        with self.lock:
            _bounded_put(self.answers, (job.channel, job.placeholder), record, MAX_REMEMBERED)

    def _fail(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, AmpfixError):
            line, reply = exc.one_line(), SORRY.format(error=exc.message)
        else:
            line = f"error: unexpected {type(exc).__name__}: {exc}"
            reply = SORRY.format(error=f"an unexpected {type(exc).__name__} (the bot's log has the details)")
        thread = self.threads.get((job.channel, job.thread_ts))
        self.log(thread.scrub(line) if thread else line)
        payload = self._payload(thread, blocks.plain(reply))
        if job.placeholder:
            self._call("chat_update", channel=job.channel, ts=job.placeholder, **payload)
        else:
            self._call("chat_postMessage", channel=job.channel, thread_ts=job.thread_ts, **payload)
        self._call("reactions_remove", channel=job.channel, timestamp=job.ts, name=PROGRESS)

    # ------------------------------------------------------------ Slack calls

    @staticmethod
    def _payload(thread: Thread | None, message: blocks.Message) -> dict:
        payload = {"text": message.text, "blocks": message.blocks}
        return thread.scrub(payload) if thread else payload

    def _post(self, job: Job, thread: Thread, message: blocks.Message) -> str:
        response = self.client.chat_postMessage(channel=job.channel, thread_ts=job.thread_ts,
                                                **self._payload(thread, message))
        return str(response["ts"])

    def _update(self, job: Job, thread: Thread, message: blocks.Message) -> None:
        self.client.chat_update(channel=job.channel, ts=job.placeholder, **self._payload(thread, message))

    def _call(self, method: str, **kwargs: Any) -> None:
        """A Slack call whose failure is logged, never raised: progress marks, notices."""
        try:
            getattr(self.client, method)(**kwargs)
        except (SlackApiError, SlackClientError, OSError) as exc:
            detail = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            self.log(f"warning: Slack {method} failed: {detail}")
