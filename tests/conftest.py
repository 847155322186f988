import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answer import Engine
from assistant.config import PROJECT_ROOT, load_settings
from assistant.llm import FakeBackend

ROOT = PROJECT_ROOT
REFERENCE = ROOT.parent / "shared" / "reference"
AMPFIX = Path(sys.executable).parent / "ampfix"


def run_cli(*args: str, stdin: str | bytes | None = None, env: dict | None = None, timeout: int = 300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([str(AMPFIX), *args], input=data, capture_output=True, env=full_env, timeout=timeout,
                          stdin=None if data is not None else subprocess.DEVNULL)


def json_lines(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def built_index() -> None:
    """Build the search index once, before any test starts a process that would build it."""
    Engine(load_settings(use_llm=False)).ensure_index()


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The real engine: real recipes, the bundled embedder and FAISS index; no model."""
    return Engine(load_settings(use_llm=False))


@pytest.fixture()
def fake_engine(engine) -> Engine:
    fake = FakeBackend()
    clone = Engine.__new__(Engine)
    clone.__dict__.update(engine.__dict__)
    clone._backend = fake
    clone.settings = load_settings(use_llm=True)
    return clone


def reference_rows(name: str) -> list[dict]:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"reference file {name} is not available")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
