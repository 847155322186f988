from assistant.grounding import Grounder, identifiers
from assistant.prompts import explain_messages

WRAPPED = """[BackendBuildError] Unable to deploy due to CDK Assembly Error
  ∟ Caused by: [SecretNotSetError] The secret GOOGLE_CLIENT_ID specified in the backend does not exist.
Resolution: Create secrets using the command npx ampx sandbox secret set."""


def test_the_explain_prompt_is_pinned():
    messages = explain_messages(
        ["[SecretNotSetError] The secret X specified in the backend does not exist."],
        "Secret not set",
        "The backend reads a secret that has no value.\n\n```ts\nsecret('X')\n```\nMore text.",
        "Set it:\n\n```bash\nnpx ampx sandbox secret set X\n```",
    )
    assert messages == [
        {"role": "system", "content": "You are a concise assistant. Answer in two sentences using only the given text."},
        {"role": "user", "content": (
            "Error: [SecretNotSetError] The secret X specified in the backend does not exist.\n"
            "Problem: The backend reads a secret that has no value. More text.\n"
            "Solution: Set it:\n\n"
            "Explain the problem and the solution in two sentences.")},
    ]


def test_identifiers_are_found():
    found = identifiers("Run `npx ampx sandbox secret set` and call allow.resource(fn) with --profile in AMPLIFY_SSM_ENV_CONFIG.")
    assert {"npx ampx sandbox secret set", "allow.resource", "--profile", "AMPLIFY_SSM_ENV_CONFIG"} <= found


def test_grounding_drops_invented_apis_and_unsupported_words():
    grounder = Grounder("Set the secret with npx ampx sandbox secret set GOOGLE_CLIENT_ID before you deploy the sandbox.")
    kept = grounder.check("Set the secret GOOGLE_CLIENT_ID with npx ampx sandbox secret set before you deploy. "
                          "Then call amplify.secrets.refresh() to reload it. "
                          "Quantum firewalls corrupt the galaxy database sometimes.")
    assert kept.kept == ["Set the secret GOOGLE_CLIENT_ID with npx ampx sandbox secret set before you deploy."]
    assert len(kept.dropped) == 2


def test_the_narrative_streams_only_checked_sentences(fake_engine):
    fake_engine.backend.enqueue(
        "The backend refers to a secret that has no value for this sandbox. "
        "Run `npx ampx secrets sync --force` to fix it. "
        "Set the value with npx ampx sandbox secret set GOOGLE_CLIENT_ID and deploy again."
    )
    shown = []
    answer = fake_engine.diagnose(WRAPPED, on_sentence=shown.append)
    assert answer.model == "fake"
    assert "--force" not in (answer.narrative or "")
    assert answer.removed_sentences >= 1
    assert shown[-1] == "Set the value with npx ampx sandbox secret set GOOGLE_CLIENT_ID and deploy again."
    assert " ".join(shown) == answer.narrative
    assert all("secrets sync" not in s for s in shown)
    prompt = fake_engine.backend.history[-1][1]["content"]
    assert "GOOGLE_CLIENT_ID" in prompt and prompt.startswith("Error: ")


def test_no_model_call_when_nothing_matches(fake_engine):
    answer = fake_engine.diagnose("Traceback (most recent call last):\nValueError: bad pizza topping")
    assert answer.matches == []
    assert fake_engine.backend.history == []
    assert answer.narrative is None
