import base64
import io
import json

import pytest

from assistant.errors import BadInputError
from assistant.logs import normalise, parse_log, read_input, _stream_lines
from assistant.redact import Redactor

SANDBOX = (
    "\x1b[2m12:01:07 PM\x1b[22m [Sandbox] Watching for file changes...\r\n"
    "\x1b[31m\x1b[1m[BackendBuildError]\x1b[22m\x1b[39m Unable to deploy due to CDK Assembly Error\r\n"
    "  ∟ Caused by: [SecretNotSetError] The secret GOOGLE_CLIENT_ID specified in the backend does not exist.\r\n"
    "Resolution: Create secrets using the command npx ampx sandbox secret set.\r\n"
)


def test_ansi_timestamps_and_crlf_are_removed():
    lines = normalise(SANDBOX)
    assert lines[0] == "[Sandbox] Watching for file changes..."
    assert lines[1] == "[BackendBuildError] Unable to deploy due to CDK Assembly Error"
    assert all("\r" not in line and "\x1b" not in line for line in lines)


def test_hosting_and_cloudwatch_prefixes_are_removed():
    lines = normalise("2024-05-01T10:00:00.123Z [INFO]: # Starting phase: build\n"
                      "2024-05-01T10:00:00.123Z\tc0ffee00-1234-4abc-9def-001122334455\tERROR\tInvoke Error boom\n")
    assert lines[0] == "# Starting phase: build"
    assert lines[1].startswith("Invoke Error boom")


def test_caused_by_chain_and_resolution_are_parsed():
    parsed = parse_log(SANDBOX)
    assert parsed.error_names == ["BackendBuildError", "SecretNotSetError"]
    top, cause = parsed.errors
    assert (top.depth, cause.depth) == (0, 1)
    assert cause.resolution.startswith("Create secrets")
    assert parsed.entities["secret_name"] == "GOOGLE_CLIENT_ID"
    assert parsed.evidence[0].startswith("∟ Caused by: [SecretNotSetError]")


def test_serialized_error_base64_is_decoded_with_its_cause():
    payload = {"name": "BackendBuildError", "classification": "ERROR",
               "options": {"message": "Unable to build", "resolution": "Fix it"},
               "cause": {"name": "ESBuildError", "options": {"message": "Transform failed"}}}
    line = "serializedError: '" + base64.b64encode(json.dumps(payload).encode()).decode() + "'"
    parsed = parse_log("something\n" + line)
    assert parsed.error_names == ["BackendBuildError", "ESBuildError"]
    assert parsed.errors[0].resolution == "Fix it"
    assert parsed.errors[1].depth == 1


def test_malformed_serialized_error_is_ignored_not_raised():
    parsed = parse_log('serializedError: "{not json at all"\n' + "serializedError: '" + "A" * 7 + "'")
    assert parsed.errors == []


def test_hosting_style_name_colon_message():
    parsed = parse_log("!!! BootstrapNotDetectedError: This AWS account and region has not been bootstrapped.\n"
                       "Resolution: Run `cdk bootstrap aws://{YOUR_ACCOUNT_ID}/{YOUR_REGION}` locally")
    assert parsed.error_names == ["BootstrapNotDetectedError"]
    assert parsed.errors[0].resolution.startswith("Run `cdk bootstrap")


def test_entities_from_paths_and_stacks():
    parsed = parse_log("Cannot find module '$amplify/env/sayHello'\n"
                       "amplify-myapp-alice-sandbox-1a2b3c4d5e failed: arn:aws:iam::123456789012:role/x in eu-west-1")
    assert parsed.entities["function_name"] == "sayHello"
    assert parsed.entities["stack_name"] == "amplify-myapp-alice-sandbox-1a2b3c4d5e"
    assert parsed.entities["region"] == "eu-west-1"
    assert parsed.entities["account_id"] == "123456789012"


def test_secrets_are_redacted_with_stable_placeholders():
    redactor = Redactor()
    text = ("key AKIAIOSFODNN7EXAMPLE again AKIAIOSFODNN7EXAMPLE\n"
            "apiKey: da2-abcdefghijklmnopqrstuvwxyz and Authorization: Bearer abcdefghijklmnopqrstuvwx\n"
            "postgres://admin:hunter2pass@db.example.com:5432/app")
    parsed = parse_log(text, redactor)
    joined = "\n".join(parsed.lines)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "da2-abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwx", "hunter2pass"):
        assert secret not in joined
    assert joined.count("[REDACTED_AWS_ACCESS_KEY_ID_1]") == 2
    assert parsed.redactions == 5


def test_missing_directory_empty_and_binary_inputs_are_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        read_input(str(tmp_path / "nope.log"))
    with pytest.raises(BadInputError, match="is a directory"):
        read_input(str(tmp_path))
    empty = tmp_path / "empty.log"
    empty.write_text("  \n\n")
    with pytest.raises(BadInputError, match="is empty"):
        read_input(str(empty))
    binary = tmp_path / "a.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(BadInputError, match="binary"):
        read_input(str(binary))


def test_other_encodings_are_decoded(tmp_path):
    path = tmp_path / "utf16.log"
    path.write_bytes("[SecretNotSetError] The secret X specified".encode("utf-16"))
    text, _ = read_input(str(path))
    assert "[SecretNotSetError]" in text
    latin = tmp_path / "latin.log"
    latin.write_bytes("caf\xe9 [ExpiredTokenError] The security token included in the request is expired".encode("latin-1"))
    text, _ = read_input(str(latin))
    assert "[ExpiredTokenError]" in text


def test_huge_inputs_keep_head_tail_and_errors_in_bounded_memory():
    noise = b"".join(b"line %d all good\n" % i for i in range(200_000))
    middle = b"[SecretNotSetError] The secret MIDDLE specified in the backend does not exist.\n"
    long_line = b"x" * 5_000_000 + b"\n"
    data, dropped = _stream_lines(io.BytesIO(noise + middle + long_line + noise), max_bytes=1 << 20)
    assert dropped
    assert len(data) < 2_000_000
    assert middle in data
    assert data.startswith(b"line 0 all good")
    assert data.rstrip().endswith(b"line 199999 all good")


def test_an_xml_error_printed_one_element_per_line_is_folded_into_one():
    text = "GET https://b.s3.amazonaws.com/k 403\n<Error>\n<Code>\nAccessDenied\n</Code>\n<Message>\nAccess Denied\n</Message>\n</Error>\nnext"
    assert normalise(text) == ["GET https://b.s3.amazonaws.com/k 403",
                               "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", "next"]
    unclosed = "<Error>\n<Code>\nAccessDenied"
    assert normalise(unclosed) == ["<Error>", "<Code>", "AccessDenied"]


@pytest.mark.parametrize("line, toolchain", [
    ("botocore.errorfactory.ValidationException: An error occurred (ValidationException) when calling the Converse operation: x",
     "Python and boto3"),
    ("Error: Cannot find module '@pulumi/aws/apigateway/index.js'", "Pulumi"),
    ("[ERROR] Runtime.ImportModuleError: Unable to import module 'handler': No module named 'handler'",
     "a Python Lambda function"),
    ("Error: NodejsNpmEsbuildBuilder:EsbuildBundle - Esbuild Failed: ✘ [ERROR] Could not resolve \"x\"", "AWS SAM"),
    ("    at new Node (/repo/node_modules/@aws-cdk/core/lib/construct-compat.js:174:28)", "AWS CDK v1"),
    ("   at Microsoft.Azure.Devices.Client.Transport.Mqtt.MqttTransportHandler.OpenAsync()", ".NET"),
])
def test_output_of_another_toolchain_is_recognised_and_weak_context_does_not_count(line, toolchain):
    parsed = parse_log(line + "\nUnauthorizedException: not authorized")
    assert parsed.foreign == toolchain
    assert not parsed.amplify_context
    assert parse_log("UnauthorizedException: not authorized").amplify_context


def test_gen2_resource_files_are_amplify_context_and_plain_errors_are_not():
    assert parse_log("SyntaxError: The requested module './data/resource' does not provide an export named 'data'").amplify_context
    assert not parse_log("SyntaxError: Unexpected token '<' in JSON at position 0").amplify_context
    assert parse_log("[SyntaxError] Unexpected token '<'").foreign is None


def test_a_help_text_or_banner_does_not_read_as_a_failure():
    help_text = parse_log("Options:\n  --debug  Print debug logs to the console  [boolean] [default: false]")
    assert not help_text.shows_failure
    assert parse_log("[UnknownFault] Error: ValidationError").shows_failure
