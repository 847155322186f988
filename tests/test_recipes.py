import re
from pathlib import Path

import pytest

from assistant.errors import RecipeError
from assistant.recipes import PLACEHOLDERS, load_recipes, parse_recipe, validate_all
from conftest import ROOT, reference_rows

KNOWLEDGE = ROOT / "knowledge"

GOOD = """---
id: sample-recipe
title: Sample
kind: error
area: functions
amplify_errors: [SampleError]
signatures: ['sample failure happened']
tags: [defineFunction]
sources:
  - docs: src/pages/[platform]/build-a-backend/functions/index.mdx
---
## Symptoms
`[SampleError] sample failure happened`
## Cause
Because.
## Fix
Do {{function_name}}.
## Verify
Run it.
"""


def write(tmp_path: Path, text: str, area: str = "functions", name: str = "sample-recipe") -> Path:
    folder = tmp_path / area
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_knowledge_base_is_valid():
    recipes, problems = validate_all(KNOWLEDGE)
    assert [p.message for p in problems] == []
    assert len(recipes) >= 30


def test_every_recipe_has_sources_sections_and_valid_signatures():
    for recipe in load_recipes(KNOWLEDGE):
        assert recipe.sources, recipe.id
        for name in ("Symptoms", "Cause", "Fix", "Verify"):
            assert recipe.section(name).strip(), (recipe.id, name)
        for pattern in recipe.compiled:
            assert not pattern.search("Deploying resources to the sandbox"), (recipe.id, pattern.pattern)


def test_gen2_fixes_never_tell_users_to_amplify_push():
    for recipe in load_recipes(KNOWLEDGE):
        if recipe.generation == 2:
            fix = recipe.section("Fix")
            assert not re.search(r"^\s*\$?\s*amplify push\b", fix, re.M), recipe.id


def test_every_named_amplify_error_has_a_recipe():
    names = {row["name"] for row in reference_rows("amplify-errors.jsonl")}
    covered = {name for recipe in load_recipes(KNOWLEDGE) for name in recipe.amplify_errors}
    assert sorted(names - covered) == []


def test_a_valid_recipe_parses(tmp_path):
    recipe = parse_recipe(write(tmp_path, GOOD), tmp_path)
    assert recipe.id == "sample-recipe"
    assert recipe.amplify_errors == ("SampleError",)
    assert "{{function_name}}" in recipe.section("Fix")
    assert "function_name" in PLACEHOLDERS


@pytest.mark.parametrize("change, field, why", [
    (("kind: error", "kind: bug"), "kind", "not one of"),
    (("id: sample-recipe", "id: Sample_Recipe"), "id", "kebab-case"),
    (("area: functions", "area: data"), "area", "folder name"),
    (("signatures: ['sample failure happened']", "signatures: ['(unclosed']"), "signatures", "not a valid regex"),
    (("signatures: ['sample failure happened']", "signatures: ['.*']"), "signatures", "too broad"),
    (("## Verify\nRun it.\n", ""), "section Verify", "missing"),
    (("  - docs: src/pages/[platform]/build-a-backend/functions/index.mdx\n", "  - issue: not-an-issue\n"), "sources", "owner/repo#123"),
    (("tags: [defineFunction]\n", "tags: [defineFunction]\ncolour: blue\n"), "colour", "not a known key"),
    (("Do {{function_name}}.", "Do {{functoin_name}}."), "section Fix", "unknown placeholder"),
    (("---\nid", "id"), "front matter", "must start"),
])
def test_an_invalid_recipe_names_the_file_the_field_and_why(tmp_path, change, field, why):
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(RecipeError) as caught:
        parse_recipe(path, tmp_path)
    assert caught.value.path == "functions/sample-recipe.md"
    assert caught.value.field == field
    assert why in caught.value.why


def test_duplicate_ids_and_dangling_links_are_reported(tmp_path):
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("area: functions", "area: data"), area="data")
    write(tmp_path, GOOD.replace("id: sample-recipe", "id: other").replace("Run it.\n", "Run it.\n## Related\n- nowhere\n"),
          name="other")
    _, problems = validate_all(tmp_path)
    messages = " | ".join(p.message for p in problems)
    assert "is also used by" in messages
    assert "'nowhere' is not a recipe id" in messages


def test_every_error_recipe_is_matched_by_its_own_symptoms():
    """A signature copies the error text, so the text the recipe shows under Symptoms matches it."""
    from assistant.logs import normalise
    from assistant.recipes import compile_signature

    recipes, _ = validate_all(KNOWLEDGE)
    unmatched = []
    for recipe in recipes:
        if recipe.kind != "error" or not recipe.signatures:
            continue
        symptoms = recipe.section("Symptoms")
        lines = normalise(symptoms) + normalise(symptoms.replace("`", "\n"))
        if not any(compile_signature(s).search(line) for s in recipe.signatures for line in lines):
            unmatched.append(recipe.id)
    assert not unmatched
