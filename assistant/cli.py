"""The `ampfix` command line. Errors become one stderr line and an exit status here only."""

from __future__ import annotations

import json
import sys
import time
import traceback
from enum import Enum
from pathlib import Path
from typing import Callable, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .answer import Answer, Engine
from .doctor.explain import apply_findings, project_entities as doctor_entities
from .config import Settings, load_settings
from .errors import AmpfixError, BadInputError, ExitStatus
from .llm import check_backend
from .logs import read_input
from .recipes import validate_all
from .render import TerminalRenderer, json_line, markdown

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, no_args_is_help=True,
                  help="Diagnose AWS Amplify Gen 2 failures offline, from curated recipes.")
index_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Build or inspect the search index.")
recipes_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Check the knowledge base.")
app.add_typer(index_app, name="index")
app.add_typer(recipes_app, name="recipes")

STATE = {"debug": False}
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class BackendName(str, Enum):
    llama = "llama"
    openai = "openai"


MODEL_HELP = "llama backend: a GGUF file instead of the bundled model; openai backend: the model's name."


def _backend_option():
    return typer.Option(None, "--backend", help="llama (in-process, the default) or openai (an OpenAI-compatible "
                                                "server: llama.cpp's server, vLLM, Ollama); AMPFIX_BACKEND.")


def _base_url_option():
    return typer.Option(None, "--base-url", help="The openai backend's server, e.g. http://localhost:8080/v1; AMPFIX_BASE_URL.")


def _guard(body: Callable[[], int]) -> None:
    """Run a command body; turn every failure into one line on stderr and an exit status."""
    try:
        code = body()
    except AmpfixError as exc:
        if STATE["debug"]:
            traceback.print_exc()
        err.print(exc.one_line(), markup=False, soft_wrap=True)
        raise typer.Exit(int(exc.exit_status))
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(130)
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        if STATE["debug"]:
            traceback.print_exc()
        err.print(f"error: unexpected {type(exc).__name__}: {exc} (hint: rerun with --debug for the traceback)",
                  markup=False, soft_wrap=True)
        raise typer.Exit(int(ExitStatus.ERROR))
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"ampfix {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    STATE["debug"] = debug


def _index_progress(reason: str):
    err.print(f"Building the search index ({reason}) ...", markup=False)
    bar = Progress(TextColumn("embedding recipes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True)
    state: dict = {}

    def update(done: int, total: int) -> None:
        if "task" not in state:
            bar.start()
            state["task"] = bar.add_task("embed", total=total)
        bar.update(state["task"], completed=done)
        if done >= total:
            bar.stop()

    return update


def _engine(settings: Settings) -> Engine:
    return Engine(settings, on_index_progress=_index_progress)


def _settings(no_llm: bool = False, model: Optional[str] = None, top: Optional[int] = None,
              backend: Optional[BackendName] = None, base_url: Optional[str] = None, **more: object) -> Settings:
    settings = load_settings(use_llm=False if no_llm else None, model=model, top_k=top,
                             backend=backend.value if backend else None, base_url=base_url, **more)
    if settings.use_llm:
        check_backend(settings)
    return settings


def _redaction(off: bool, accounts: bool, emails: bool) -> dict:
    """Redaction settings from flags; None leaves the environment and config file in charge."""
    return {"redact": False if off else None, "redact_accounts": accounts or None, "redact_emails": emails or None}


# ------------------------------------------------------------------ explain

def _explain_one(engine: Engine, source: str, fmt: Format, entities: dict, several: bool) -> int:
    text, truncated = read_input(source, engine.settings.max_input_bytes)
    stream = fmt is Format.text and engine.settings.use_llm
    answer = engine.diagnose(text, label=source, truncated=truncated, project_entities=entities,
                             use_llm=False if stream else None)
    apply_findings(answer, entities)
    if fmt is Format.json:
        out.print(json_line(answer), markup=False, soft_wrap=True, highlight=False)
    elif fmt is Format.markdown:
        out.print(markdown(answer), markup=False, soft_wrap=True, highlight=False)
    else:
        renderer = TerminalRenderer(out)
        renderer.card(answer, show_input=several)
        if stream and answer.matches:
            _stream_narrative(engine, answer, text, renderer)
    return int(ExitStatus.OK if answer.matched else ExitStatus.NO_MATCH)


def _stream_narrative(engine: Engine, answer: Answer, text: str, renderer: TerminalRenderer) -> None:
    started = time.perf_counter()
    shown: list[str] = []

    def show(sentence: str) -> None:
        if not shown:
            renderer.narrative_start(getattr(engine.backend, "name", "model"))
        shown.append(sentence)
        renderer.sentence(sentence)

    engine.narrate(answer, text, on_sentence=show)
    if not shown:
        renderer.narrative_empty()
    answer.timings_ms["generate"] = (time.perf_counter() - started) * 1000


@app.command()
def explain(
    files: List[str] = typer.Argument(None, help="Log files to diagnose; - reads standard input."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text, markdown or json (JSON Lines for several inputs)."),
    no_llm: bool = typer.Option(False, "--no-llm", help="The recipe card alone, without the model's narrative."),
    model: Optional[str] = typer.Option(None, "--model", help=MODEL_HELP),
    backend: Optional[BackendName] = _backend_option(),
    base_url: Optional[str] = _base_url_option(),
    project: Optional[Path] = typer.Option(None, "--project", help="Your project folder, to fill in your own names."),
    top: Optional[int] = typer.Option(None, "--top", min=1, max=10, help="How many recipes to show."),
    no_redact: bool = typer.Option(False, "--no-redact", help="Show secrets found in the log as they are (off by default)."),
    redact_accounts: bool = typer.Option(False, "--redact-accounts", help="Also hide AWS account ids."),
    redact_emails: bool = typer.Option(False, "--redact-emails", help="Also hide e-mail addresses."),
) -> None:
    """Diagnose what broke: a sandbox, pipeline-deploy, Hosting build, Lambda or browser log."""

    def body() -> int:
        sources = files or ["-"]
        if sources == ["-"] and sys.stdin.isatty():
            raise BadInputError("nothing to explain", "pass a log file, or pipe one: npx ampx sandbox 2>&1 | ampfix explain -")
        if project is not None and not project.is_dir():
            raise BadInputError(f"--project {project} is not a folder", "pass the folder that holds amplify/")
        engine = _engine(_settings(no_llm, model, top, backend, base_url, **_redaction(no_redact, redact_accounts, redact_emails)))
        entities = doctor_entities(project) if project else {}
        codes = []
        for source in sources:
            try:
                codes.append(_explain_one(engine, source, fmt, entities, len(sources) > 1))
            except BadInputError as exc:
                if len(sources) == 1:
                    raise
                err.print(exc.one_line(), markup=False, soft_wrap=True)
                codes.append(int(ExitStatus.BAD_INPUT))
        for status in (ExitStatus.BAD_INPUT, ExitStatus.NO_MATCH):
            if int(status) in codes:
                return int(status)
        return 0

    _guard(body)


# ------------------------------------------------------------------ search / show

@app.command()
def search(
    query: List[str] = typer.Argument(..., help="Words to look for, e.g. 'function access data'."),
    fmt: Format = typer.Option(Format.text, "--format", "-f"),
    top: int = typer.Option(5, "--top", min=1, max=50),
) -> None:
    """Find recipes by meaning and by words."""

    def body() -> int:
        engine = _engine(_settings(no_llm=True, top=top))
        answer = engine.diagnose(" ".join(query), label="query", use_llm=False, dense="always", require_context=False)
        if fmt is Format.json:
            out.print(json_line(answer), markup=False, soft_wrap=True)
        else:
            if not answer.matches:
                out.print("No recipe matches.", markup=False)
            for m in answer.matches:
                out.print(f"{m.score:5.2f}  {m.confidence:<6}  {m.recipe.id}  {m.recipe.title}", markup=False, soft_wrap=True)
        return 0 if answer.matches else int(ExitStatus.NO_MATCH)

    _guard(body)


@app.command()
def show(recipe_id: str = typer.Argument(..., help="A recipe id, as printed by explain or search.")) -> None:
    """Print one recipe."""

    def body() -> int:
        engine = _engine(_settings(no_llm=True))
        recipe = engine.retriever.recipes.get(recipe_id)
        if recipe is None:
            close = [rid for rid in engine.retriever.recipes if recipe_id.lower() in rid][:3]
            hint = f"did you mean {', '.join(close)}?" if close else "list recipes with `ampfix search WORDS`"
            raise BadInputError(f"no recipe with id {recipe_id!r}", hint)
        out.print(recipe.path.read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
        return 0

    _guard(body)


# ------------------------------------------------------------------ chat

@app.command()
def chat(
    no_llm: bool = typer.Option(False, "--no-llm", help="Recipe answers only, without the model's narrative."),
    model: Optional[str] = typer.Option(None, "--model", help=MODEL_HELP),
    backend: Optional[BackendName] = _backend_option(),
    base_url: Optional[str] = _base_url_option(),
) -> None:
    """An interactive session: paste logs, ask questions and follow-ups."""

    def body() -> int:
        from .chat import run as run_chat
        from .conversation import Conversation

        engine = _engine(_settings(no_llm, model, backend=backend, base_url=base_url))
        run_chat(Conversation(engine), out, engine.settings.home)
        return 0

    _guard(body)


# ------------------------------------------------------------------ slack

@app.command()
def slack(
    http: bool = typer.Option(False, "--http", help="Serve Slack's Events API over HTTP instead of Socket Mode."),
    port: int = typer.Option(3000, "--port", min=0, max=65535, help="--http: the port (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="--http: the address to listen on (0.0.0.0 for all)."),
    channel: List[str] = typer.Option(None, "--channel", help="Answer only in this channel id (repeatable; "
                                                              "AMPFIX_SLACK_CHANNELS); direct messages always."),
    queue: Optional[int] = typer.Option(None, "--queue", min=1, help="Questions held while the model is busy "
                                                                     "(AMPFIX_SLACK_QUEUE, default 8)."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Recipe cards only, without the model's narrative."),
    model: Optional[str] = typer.Option(None, "--model", help=MODEL_HELP),
    backend: Optional[BackendName] = _backend_option(),
    base_url: Optional[str] = _base_url_option(),
) -> None:
    """Run the Slack bot: answers mentions and direct messages in their threads (see SLACK.md)."""

    def body() -> int:
        from .slack import run as run_slack

        settings = _settings(no_llm, model, backend=backend, base_url=base_url, slack_queue=queue,
                             slack_channels=",".join(channel) if channel else None)
        return run_slack(_engine(settings), http=http, host=host, port=port,
                         log=lambda line: err.print(line, markup=False, soft_wrap=True, highlight=False))

    _guard(body)


# ------------------------------------------------------------------ doctor

@app.command()
def doctor(
    directory: Path = typer.Argument(Path("."), help="The project folder, the one that holds amplify/."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text, markdown or json."),
    no_patch: bool = typer.Option(False, "--no-patch", help="Leave the suggested patches out of the text."),
) -> None:
    """Find Amplify Gen 2 mistakes in a project before they fail (exit 5: errors, 4: warnings only)."""

    def body() -> int:
        from .doctor import diagnose_project, report

        if directory.is_dir() and not (directory / "amplify").is_dir():
            raise BadInputError(f"{directory} has no amplify/ folder",
                                "pass the Gen 2 project folder, the one with amplify/backend.ts")
        findings = diagnose_project(directory)
        if fmt is Format.json:
            from .doctor.checks import CHECKS
            out.print(report.as_json(str(directory), findings, len(CHECKS)), markup=False, soft_wrap=True)
        elif fmt is Format.markdown:
            out.print(report.markdown(findings), markup=False, soft_wrap=True, highlight=False)
        else:
            out.print(report.text(findings, show_patches=not no_patch), markup=False, soft_wrap=True, highlight=False)
        return int(report.exit_status(findings))

    _guard(body)


# ------------------------------------------------------------------ eval

DEFAULT_CASES = Path(__file__).resolve().parent.parent / "evals" / "cases"


@app.command("eval")
def eval_(
    cases: List[Path] = typer.Option(None, "--cases", help="Case files (JSON Lines); all of evals/cases by default."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="text (a table), json or markdown."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write a Markdown report to this file."),
    llm: bool = typer.Option(False, "--llm", help="Run the bundled model too, to measure the grounding check."),
) -> None:
    """Score diagnosis on real cases: hit@1, hit@3, MRR, no-recipe precision/recall, latency."""

    def body() -> int:
        from .evaluate import load_cases, markdown_report, run, table

        paths = list(cases or sorted(DEFAULT_CASES.glob("*.jsonl")))
        if not paths:
            raise BadInputError("no case files found", "pass --cases FILE.jsonl")
        loaded = load_cases(paths)
        engine = _engine(_settings(no_llm=not llm))
        bar = Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=err, transient=True)
        with bar:
            task = bar.add_task("eval", total=len(loaded))
            result = run(engine, loaded, use_llm=llm, progress=lambda d, t: bar.update(task, completed=d))
        if report:
            report.write_text(markdown_report(result), encoding="utf-8")
        if fmt is Format.json:
            out.print(json.dumps(result), markup=False, soft_wrap=True)
        elif fmt is Format.markdown:
            out.print(markdown_report(result), markup=False, soft_wrap=True)
        else:
            out.print(table(result), markup=False, soft_wrap=True)
        return 0

    _guard(body)


# ------------------------------------------------------------------ index / recipes

@index_app.command("build")
def index_build(force: bool = typer.Option(False, "--force", help="Rebuild even when the index is current.")) -> None:
    """Embed the knowledge base into the FAISS index."""

    def body() -> int:
        engine = _engine(_settings(no_llm=True))
        started = time.perf_counter()
        manifest = engine.ensure_index(force=force)
        out.print(f"index: {manifest.get('chunks')} chunks from {manifest.get('recipes')} recipes in "
                  f"{engine.settings.index_dir} ({time.perf_counter() - started:.1f}s)", markup=False)
        return 0

    _guard(body)


@index_app.command("status")
def index_status() -> None:
    """Say whether the index is current, and what built it."""

    def body() -> int:
        from . import index as dense_index

        engine = _engine(_settings(no_llm=True))
        expected = dense_index.expected_manifest(engine.settings.knowledge_dir, engine.embedder.id)
        reason = dense_index.staleness(engine.settings.index_dir, expected)
        manifest = dense_index.read_manifest(engine.settings.index_dir) or {}
        out.print(f"index: {engine.settings.index_dir}", markup=False)
        out.print(f"status: {'current' if reason is None else 'stale: ' + reason}", markup=False)
        for key in ("recipes", "chunks", "embedder", "knowledge_hash", "built_at", "build_seconds"):
            if key in manifest:
                out.print(f"{key}: {manifest[key]}", markup=False)
        if reason is not None:
            out.print("run `ampfix index build` to rebuild it (explain also rebuilds it when needed)", markup=False)
        return 0 if reason is None else int(ExitStatus.ERROR)

    _guard(body)


@recipes_app.command("check")
def recipes_check(path: Optional[Path] = typer.Argument(None, help="A knowledge folder; the bundled one by default.")) -> None:
    """Validate every recipe and report each problem with its file, field and why."""

    def body() -> int:
        root = path or load_settings().knowledge_dir
        if not root.is_dir():
            raise BadInputError(f"{root} is not a folder", "pass the knowledge folder")
        recipes, problems = validate_all(root)
        for problem in problems:
            err.print(problem.message, markup=False, soft_wrap=True)
        out.print(f"{len(recipes)} valid recipes, {len(problems)} problems", markup=False)
        return 1 if problems else 0

    _guard(body)


def run() -> None:
    """The console entry point: usage mistakes become one line with a hint, like every other error."""
    # the command-line parser's own error class (typer may bundle its own copy of click)
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `ampfix` or `ampfix index`: show the help
            exc.show()
        else:
            command = exc.ctx.command_path if getattr(exc, "ctx", None) else "ampfix"
            err.print(f"error: {exc.format_message()} (hint: see `{command} --help`)", markup=False, soft_wrap=True)
        code = int(ExitStatus.BAD_INPUT)
    except typer.Abort:
        err.print("interrupted", markup=False)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
