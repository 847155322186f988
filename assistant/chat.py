"""`ampfix chat`: an interactive troubleshooting session on top of Conversation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterable, TextIO

from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from .conversation import Conversation, Turn
from .errors import AmpfixError, ModelError
from .logs import read_input
from .redact import Redactor
from .render import TerminalRenderer

HELP = """Paste an error log (several lines are fine) or ask a question, then press Enter.
  /explain FILE   diagnose a log file
  /sources        recipes used so far in this session
  /show ID        print a recipe
  /reset          forget the conversation
  /model          which model narrates the answers
  /help           this help
  /quit           leave (Ctrl-D works too; Ctrl-C stops an answer)"""
BYE = "bye"


class Chat:
    """Turns lines of input into answers; the same logic serves a terminal and a pipe."""

    def __init__(self, conversation: Conversation, console: Console) -> None:
        self.conversation = conversation
        self.console = console
        self.renderer = TerminalRenderer(console)

    # ------------------------------------------------------------ one input

    def handle(self, text: str) -> bool:
        """Answer one input; False means the session should end."""
        text = text.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self.command(text)
        self.answer(text)
        return True

    def answer(self, text: str) -> None:
        shown: list[str] = []

        def on_sentence(sentence: str) -> None:
            if not shown:
                self.renderer.narrative_start(self.model_name())
            shown.append(sentence)
            self.renderer.sentence(sentence)

        try:
            turn = self.conversation.ask(text, on_reply=self.show_reply, on_sentence=on_sentence)
        except KeyboardInterrupt:
            self.console.print(Text("\n(stopped; the conversation goes on)", style="dim"))
            return
        except ModelError as exc:  # a shared model server that went away ends the answer, not the session
            self.console.print(exc.one_line(), markup=False)
            return
        if self.conversation.use_llm and turn.kind != "none" and not shown:
            self.renderer.narrative_empty()

    def show_reply(self, turn: Turn) -> None:
        if turn.kind == "log" and turn.answer is not None:
            self.renderer.card(turn.answer)
        elif turn.kind == "none":
            self.console.print(Text(turn.reply, style="bold red"))
        else:
            self.console.print(Markdown(turn.reply, code_theme="monokai"))

    def model_name(self) -> str:
        if not self.conversation.use_llm:
            return "no model (--no-llm)"
        try:
            return getattr(self.conversation.engine.backend, "name", "model")
        except AmpfixError as exc:
            return f"unavailable: {exc.message}"

    # ------------------------------------------------------------ slash commands

    def command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        arg = arg.strip()
        handlers: dict[str, Callable[[str], bool | None]] = {
            "/quit": lambda a: False, "/exit": lambda a: False, "/help": self._help, "/sources": self._sources,
            "/show": self._show, "/reset": self._reset, "/model": self._model, "/explain": self._explain,
        }
        handler = handlers.get(name.lower())
        if handler is None:
            self.console.print(f"unknown command {name}; type /help", markup=False)
            return True
        result = handler(arg)
        if result is False:
            self.console.print(BYE, markup=False)
            return False
        return True

    def _help(self, _: str) -> None:
        self.console.print(HELP, markup=False)

    def _sources(self, _: str) -> None:
        if not self.conversation.sources:
            self.console.print("no recipes used yet", markup=False)
        for rid, title in self.conversation.sources.items():
            self.console.print(f"{rid}  {title}", markup=False)

    def _show(self, arg: str) -> None:
        recipe = self.conversation.engine.retriever.recipes.get(arg)
        if recipe is None:
            self.console.print(f"no recipe with id {arg!r}; /sources lists the ones used so far", markup=False)
            return
        self.console.print(Markdown(f"# {recipe.title}\n\n" + "\n\n".join(
            f"## {name}\n\n{body}" for name, body in recipe.sections.items())))

    def _reset(self, _: str) -> None:
        self.conversation.reset()
        self.console.print("conversation cleared", markup=False)

    def _model(self, _: str) -> None:
        self.console.print(f"model: {self.model_name()}", markup=False)

    def _explain(self, arg: str) -> None:
        if not arg:
            self.console.print("usage: /explain FILE", markup=False)
            return
        try:
            text, _ = read_input(str(Path(arg).expanduser()))
        except AmpfixError as exc:
            self.console.print(exc.one_line(), markup=False)
            return
        self.answer(text)

    # ------------------------------------------------------------ loops

    def run_lines(self, lines: Iterable[str]) -> None:
        """Non-interactive: one turn per line of input."""
        for line in lines:
            if not self.handle(line):
                return

    def run_terminal(self, history_file: Path) -> None:
        from prompt_toolkit import PromptSession

        session = PromptSession(history=RedactedHistory(str(history_file)))
        self.console.print(Text("ampfix chat: paste a log or ask a question. /help for commands.", style="bold"))
        while True:
            try:
                text = session.prompt("ampfix> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                self.console.print(BYE, markup=False)
                return
            if not self.handle(text):
                return


def _redacted_history_base():
    from prompt_toolkit.history import FileHistory

    return FileHistory


class RedactedHistory(_redacted_history_base()):  # type: ignore[misc]
    """The prompt history file never holds a secret that was pasted."""

    def store_string(self, string: str) -> None:
        super().store_string(Redactor().redact(string))


def run(conversation: Conversation, console: Console, home: Path, stdin: TextIO = sys.stdin) -> None:
    chat = Chat(conversation, console)
    if stdin.isatty() and sys.stdout.isatty():
        home.mkdir(parents=True, exist_ok=True)
        chat.run_terminal(home / "chat_history")
    else:
        chat.run_lines(stdin)
