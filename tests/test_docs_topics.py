"""Every troubleshooting topic in the Gen 2 documentation is answered by a recipe citing it."""

import pytest

from assistant.recipes import load_recipes
from conftest import ROOT, reference_rows

TOPICS = reference_rows("docs-troubleshooting.jsonl")
RECIPES = load_recipes(ROOT / "knowledge")


def _page(path: str) -> str:
    return path.split("src/pages/")[-1].removesuffix("/index.mdx").removesuffix(".mdx")


def citing(topic) -> set[str]:
    page = _page(topic["path"])
    return {r.id for r in RECIPES for kind, value in r.sources if kind == "docs" and _page(value) == page}


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: f"{_page(t['path']).split('/')[-1]}")
def test_each_topic_has_a_recipe_citing_its_page(topic):
    assert citing(topic), topic["path"]


@pytest.mark.parametrize("topic", [t for t in TOPICS if t["error_strings"]],
                         ids=lambda t: t["error_strings"][0][:40])
def test_an_error_string_of_each_topic_is_diagnosed_by_a_recipe_citing_it(engine, topic):
    ids = citing(topic)
    ranked = []
    for text in topic["error_strings"]:
        answer = engine.diagnose(text, use_llm=False)
        ranked = [m.recipe.id for m in answer.matches]
        # A bare exception name alone has several documented causes: all of them are shown.
        window = 3 if " " not in text.strip() else 1
        if set(ranked[:window]) & ids:
            return
    pytest.fail(f"{topic['error_strings']} -> {ranked}, expected one of {sorted(ids)}")
