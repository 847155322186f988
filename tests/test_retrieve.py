from assistant.retrieve import required_literals

WRAPPED = """[BackendBuildError] Unable to deploy due to CDK Assembly Error
  ∟ Caused by: [SecretNotSetError] The secret GOOGLE_CLIENT_ID specified in the backend does not exist.
Resolution: Create secrets using the command npx ampx sandbox secret set."""

DJANGO = """Traceback (most recent call last):
  File "/app/shop/views.py", line 42, in checkout
    order = Order.objects.get(pk=order_id)
django.db.utils.OperationalError: no such table: shop_order"""


def diagnose(engine, text, **kw):
    return engine.diagnose(text, use_llm=False, **kw)


def test_the_cause_under_a_wrapper_ranks_above_the_wrapper(engine):
    answer = diagnose(engine, WRAPPED)
    best = answer.matches[0]
    assert "SecretNotSetError" in best.recipe.amplify_errors
    assert best.confidence == "high"
    assert "error-name" in best.matched_by
    wrappers = [m for m in answer.matches if "BackendBuildError" in m.recipe.amplify_errors]
    assert all(m.confidence != "high" for m in wrappers)


def test_signature_match_fills_placeholders_from_the_log(engine):
    answer = diagnose(engine, "Invoke Error: The data environment variables are malformed. "
                              "Expected string values for: AMPLIFY_DATA_GRAPHQL_ENDPOINT.\n"
                              "at handler (file:///var/task/index.mjs:3:9) amplify/functions/sendDigest/handler.ts")
    best = answer.matches[0]
    assert best.recipe.id == "function-data-access-missing-allow-resource"
    assert "signature" in best.matched_by
    assert "allow.resource(sendDigest)" in answer.section(best, "Fix")
    assert "{{" not in answer.section(best, "Fix")


def test_an_exact_match_needs_no_dense_stage(engine):
    answer = diagnose(engine, WRAPPED)
    assert all(m.dense is None for m in answer.matches)


def test_a_question_is_answered_by_meaning(engine):
    answer = diagnose(engine, "how do I run a function every day on a schedule", dense="always", require_context=False)
    assert "scheduled-function" in [m.recipe.id for m in answer.matches]


def test_a_log_that_never_mentions_amplify_is_not_answered_by_resemblance(engine):
    answer = diagnose(engine, "ERROR: permission denied while pulling image from registry; retrying in 5s")
    assert answer.matches == []


def test_another_framework_gets_no_recipe(engine):
    answer = diagnose(engine, DJANGO)
    assert answer.matches == []
    assert not answer.matched


def test_required_literals_prefilter():
    assert required_literals("The data environment variables are malformed") == ["the data environment variables are malformed"]
    assert required_literals(r"(Has the environment been bootstrapped)|(Is this account bootstrapped)") == [
        "has the environment been bootstrapped", "is this account bootstrapped"]
    assert required_literals(r"a|b") is None
    assert required_literals(r"^\s*x") is None


def test_a_javascript_error_name_alone_is_not_an_amplify_error(engine):
    vite = "[vite-node] [plugin:vite:vue] [SyntaxError] ./node_modules/nuxt/dist/app/components/nuxt-root.vue:4:5"
    assert engine.diagnose(vite, use_llm=False).matches == []
    ours = "[SyntaxError] Unable to build the Amplify backend definition.\nResolution: Check your backend definition in the `amplify` folder"
    assert engine.diagnose(ours, use_llm=False).matches[0].recipe.id == "backend-syntax-error"


def test_a_platform_error_quoted_alone_is_answered_with_what_is_assumed(engine):
    line = "2024-10-04T16:23:04.624Z c2c3b330-0e87-40ec-a490-884dc5f81a3f Task timed out after 3.03 seconds"
    alone = engine.diagnose(line, use_llm=False)
    assert alone.matches[0].recipe.id == "function-task-timed-out"
    assert alone.matches[0].confidence == "medium" and "assumes" in alone.note
    ours = engine.diagnose(line + "\nEND RequestId: c2c3b330 amplify-myapp-main-branch-1a2b3c4d5e-sayHello", use_llm=False)
    assert ours.matches[0].confidence == "high" and ours.note is None


def test_a_hosting_recipe_comes_first_only_in_a_hosting_build_log(engine):
    line = "npm error could not determine executable to run"
    assert engine.diagnose(line, use_llm=False).matches[0].recipe.id == "ampx-run-outside-project"
    build = ("2024-07-04T03:31:35.507Z [INFO]: # Executing command: npx ampx pipeline-deploy --branch $AWS_BRANCH "
             "--app-id $AWS_APP_ID\n2024-07-04T03:31:36.100Z [WARNING]: " + line)
    assert engine.diagnose(build, use_llm=False).matches[0].recipe.id == "hosting-ampx-not-installed-in-build"


def test_several_broad_signatures_on_one_line_do_not_outweigh_a_specific_one(engine):
    line = ("❌ Deployment failed: Error: amplify-d17n1ryzcx-main-branch-0ecd28d8ce: This CDK deployment requires "
            "bootstrap stack version '6', but during the confirmation via SSM parameter /cdk-bootstrap/hnb659fds/version "
            "the following error occurred: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/"
            "AmplifySSRLoggingRole-d17n1ryzcx/BuildSession is not authorized to perform: ssm:GetParameter on resource: "
            "arn:aws:ssm:us-east-1:123456789012:parameter/cdk-bootstrap/hnb659fds/version because no identity-based "
            "policy allows the ssm:GetParameter action")
    ids = [m.recipe.id for m in engine.diagnose(line, use_llm=False).matches]
    assert ids[0] == "cdk-bootstrap-detection-access-denied", ids


def test_a_question_that_says_gen_2_is_not_answered_from_gen_1(engine):
    for question in ("how do I upload files to storage in Gen 2", "is there a gen2 way to run cron jobs"):
        answer = engine.diagnose(question, use_llm=False, dense="always", require_context=False)
        assert answer.matches and all(m.recipe.generation == 2 for m in answer.matches), [m.recipe.id for m in answer.matches]


def test_output_without_a_failure_is_not_answered_by_resemblance(engine):
    banner = ("> ampx sandbox --profile amplify-admin\n\nAmplify Sandbox\n\nIdentifier: rg\n"
              "Stack: amplify-postcards-rg-sandbox-1a2b3c4d5e\n\n✨ Synthesis time: 0.68s")
    answer = engine.diagnose(banner, use_llm=False)
    assert answer.matches == [] and "reads as an error" in answer.note
    assert engine.diagnose(banner, use_llm=False, dense="always", require_context=False).matches  # as a question
