import shutil

import pytest

from assistant import index as dense_index
from assistant.config import embedder_path, load_settings
from assistant.embed import SentenceTransformerEmbedder
from assistant.errors import IndexStateError
from assistant.recipes import load_recipes
from conftest import ROOT

PICK = ["function-data-access-missing-allow-resource", "scheduled-function", "sandbox-secret-not-set",
        "cdk-bootstrap-missing", "aws-credentials-expired", "storage-access-paths"]


class CountingEmbedder:
    """The real bundled embedder, counting the texts it is asked to embed."""

    def __init__(self):
        self.inner = SentenceTransformerEmbedder(embedder_path(load_settings()))
        self.id = self.inner.id
        self.embedded = 0

    def embed(self, texts, progress=None):
        self.embedded += len(texts)
        return self.inner.embed(texts, progress)


@pytest.fixture(scope="module")
def embedder():
    return CountingEmbedder()


@pytest.fixture()
def small_kb(tmp_path):
    for path in (ROOT / "knowledge").rglob("*.md"):
        if path.stem in PICK:
            target = tmp_path / "knowledge" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            target.write_text(text.split("\n## Related")[0] + "\n", encoding="utf-8")
    return tmp_path / "knowledge", tmp_path / "index"


def test_build_writes_a_manifest_and_a_searchable_index(small_kb, embedder):
    knowledge, index_dir = small_kb
    recipes = load_recipes(knowledge)
    progress = []
    manifest = dense_index.build(recipes, knowledge, index_dir, embedder, lambda d, t: progress.append((d, t)))
    assert manifest["recipes"] == len(PICK)
    assert manifest["embedder"] == embedder.id
    assert manifest["chunking"]["max_chars"] > 0
    assert len(manifest["knowledge_hash"]) == 64
    assert progress and progress[-1][0] == progress[-1][1]
    loaded = dense_index.load(index_dir)
    vector = embedder.embed(["run my lambda every hour with a cron expression"])[0]
    best = loaded.chunks[loaded.search(vector, 1)[0][0]].recipe_id
    assert best == "scheduled-function"


def test_a_knowledge_change_makes_the_index_stale_and_rebuild_reuses_vectors(small_kb, embedder):
    knowledge, index_dir = small_kb
    dense_index.build(load_recipes(knowledge), knowledge, index_dir, embedder)
    expected = dense_index.expected_manifest(knowledge, embedder.id)
    assert dense_index.staleness(index_dir, expected) is None
    recipe = next(knowledge.rglob("scheduled-function.md"))
    recipe.write_text(recipe.read_text().replace("## Verify\n", "## Verify\n\nCheck the logs.\n", 1))
    expected = dense_index.expected_manifest(knowledge, embedder.id)
    assert "knowledge hash" in dense_index.staleness(index_dir, expected)
    before = embedder.embedded
    dense_index.build(load_recipes(knowledge), knowledge, index_dir, embedder)
    assert 0 < embedder.embedded - before <= 3
    assert dense_index.staleness(index_dir, dense_index.expected_manifest(knowledge, embedder.id)) is None


def test_a_damaged_index_is_detected(small_kb, embedder):
    knowledge, index_dir = small_kb
    dense_index.build(load_recipes(knowledge), knowledge, index_dir, embedder)
    data = (index_dir / dense_index.INDEX_FILE).read_bytes()
    (index_dir / dense_index.INDEX_FILE).write_bytes(data[: len(data) // 2])
    reason = dense_index.staleness(index_dir, dense_index.expected_manifest(knowledge, embedder.id))
    assert "damaged" in reason
    shutil.rmtree(index_dir)
    with pytest.raises(IndexStateError) as caught:
        dense_index.load(index_dir)
    assert "ampfix index build" in caught.value.hint


def test_the_numpy_query_embedder_matches_the_bundled_model(embedder):
    from assistant.embed_numpy import NumpyMiniLM

    texts = ["how do I give a function access to my data?",
             "[SecretNotSetError] The secret GOOGLE_CLIENT_ID specified in the backend does not exist. " * 6]
    fast = NumpyMiniLM(embedder.inner.path)
    assert fast.id == embedder.id
    agreement = (fast.embed(texts) * embedder.embed(texts)).sum(axis=1)
    assert agreement.min() > 0.9999


def test_a_query_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from assistant.config import load_settings; from assistant.answer import Engine; "
            "e = Engine(load_settings(use_llm=False)); "
            "a = e.diagnose('how do I run a function on a schedule', dense='always', require_context=False); "
            "assert a.matches; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
