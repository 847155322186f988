"""Reading what broke: decode, normalise, parse Amplify's error shapes, pick evidence."""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

from .errors import BadInputError
from .redact import Redactor

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TIMESTAMP_RE = re.compile(
    r"^\s*(?:"
    r"\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"  # ISO
    r"|\[?\d{1,2}:\d{2}:\d{2}(?:\s?[AP]M)?(?:\.\d+)?\]?"  # 12:34:56 PM
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"
    r")\s*(?:\[(?:INFO|WARNING|WARN|ERROR|DEBUG)\]:?\s*)?"
)
LEVEL_PREFIX_RE = re.compile(r"^\s*\[(?:INFO|WARNING|WARN|ERROR|DEBUG)\]:?\s*(?:\d{4}-\d{2}-\d{2}T[\d:.]+Z?:?\s*)?")
LAMBDA_PREFIX_RE = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f-]{27,}\s+)?(?:ERROR|INFO|WARN|DEBUG)\s+", re.I)
NAMED_ERROR_RE = re.compile(r"\[(?P<name>[A-Z][A-Za-z0-9]*(?:Error|Fault|Exception))\]\s*(?P<message>.*)")
CAUSED_BY_RE = re.compile(r"(?:∟\s*)?Caused by:\s*(?:\[(?P<name>[A-Za-z0-9]+)\]\s*)?(?P<message>.*)")
HOSTING_ERROR_RE = re.compile(r"^(?:!+\s*)?(?P<name>[A-Z][A-Za-z0-9]*(?:Error|Fault)):\s+(?P<message>\S.*)")
RESOLUTION_RE = re.compile(r"^\s*Resolution:\s*(?P<text>.*)")
SERIALIZED_V2_RE = re.compile(r"[\"']?serializedError[\"']?:[ ]?(?:`([a-zA-Z0-9+/=]+?)`|'([a-zA-Z0-9+/=]+?)'|\"([a-zA-Z0-9+/=]+?)\")")
SERIALIZED_V1_RE = re.compile(r"[\"']?serializedError[\"']?:[ ]?(?:`(.+?)`|'(.+?)'|\"((?:\\\"|[^\"])*?)\")")
CFN_EVENT_RE = re.compile(r"\b(?:CREATE|UPDATE|DELETE|ROLLBACK|UPDATE_ROLLBACK|IMPORT)_(?:FAILED|IN_PROGRESS|COMPLETE)\b")
STACK_LINE_RE = re.compile(r"^\s+at\s+\S|^\s*File \".*\", line \d+")
INTERESTING_RE = re.compile(
    r"error|exception|fail|(?<!de)fault|denied|not authori[sz]ed|unauthori[sz]ed|cannot|can't|could not|unable|invalid|"
    r"missing|not found|timed out|resolution:|caused by|serializedError|rollback|\bwarn|✖|❌|⚠",
    re.I,
)
AMPLIFY_CONTEXT_RE = re.compile(
    r"amplify|ampx|\bappsync\b|cdk[-_.]?(?:bootstrap|toolkit|\.out|assembly)|cdk bootstrap|hnb659fds|"
    r"\bdefine(?:Auth|Data|Function|Storage|Backend)\b|\ba\.(?:schema|model|query|mutation)\(|generateClient|"
    r"\$amplify|AMPLIFY_|aws-exports|sandbox secret|not been bootstrapped|"
    r"(?:^|[\s'\"/.])(?:auth|data|storage|functions/[\w-]+)/resource(?:\.ts)?\b",
    re.I,
)
# Words an Amplify app's output often has, but other stacks' output too: context only when
# nothing shows another toolchain at work.
WEAK_CONTEXT_RE = re.compile(r"aws-cdk|\bUnauthorizedException\b", re.I)
GEN2_RE = re.compile(
    r"\bampx\b|amplify_outputs|@aws-amplify/backend|\[Sandbox\]|\bdefineBackend\b|pipeline-deploy|"
    r"amplify-[a-z0-9]+-[a-z0-9-]+-(?:sandbox|branch)-[0-9a-f]{10}|(?i:\bgen[ -]?2\b)"
)
GEN1_RE = re.compile(
    r"(?:^|[\s$>])amplify (?:push|pull|init|status|publish|add|update|remove|env|mock|codegen)\b|team-provider-info|"
    r"#current-cloud-backend|amplify/backend/(?:api|auth|function|storage|awscloudformation)/|aws-exports|"
    r"amplifyconfiguration\.json|@aws-amplify/cli\b|amplifyPush|docs\.amplify\.aws/cli/"
)
# Output that shows another toolchain at work. It only matters for input with no Amplify
# context at all: a platform error there (a Bedrock quota, a Lambda import failure, an IAM
# denial) is someone else's stack, not an Amplify app.
FOREIGN_MARKERS = (
    ("Python and boto3", re.compile(r"\bbotocore\b|\bboto3\b|An error occurred \(\w+\) when calling the \w+ operation")),
    ("a Python Lambda function", re.compile(r"Unable to import module '[\w.]+': No module named ")),
    ("Pulumi", re.compile(r"@pulumi/|\bpulumi (?:up|preview|stack)\b", re.I)),
    ("the Serverless Framework", re.compile(r"serverless\.ya?ml|Serverless Error|\bsls deploy\b", re.I)),
    ("Terraform", re.compile(r"\bterraform\b|\.tf line \d+", re.I)),
    ("AWS CDK v1", re.compile(r"@aws-cdk/core\b")),
    ("AWS SAM", re.compile(r"\bsam (?:deploy|build|local)\b|\bsamcli\b|\bNodejsNpmEsbuildBuilder\b", re.I)),
    (".NET", re.compile(r"\bat System\.[A-Z]\w+\.|\bMicrosoft\.(?:Azure|AspNetCore)\.")),
)
# Lines an Amplify Hosting build log has and other output does not.
HOSTING_RE = re.compile(
    r"# (?:Starting|Completed) phase|## (?:Starting|Completed|Running) (?:Backend|Frontend)|# Executing command|"
    r"\bamplify\.yml\b|\bCustomerError\b|Build environment configured|Cloning repository|Starting SSR Build|"
    r"## Build completed|!!! Build failed"
)
MAX_LINE_CHARS = 4000
KEEP_HEAD = 200
KEEP_TAIL = 1500
KEEP_INTERESTING = 3000


@dataclass
class NamedError:
    name: str
    message: str
    resolution: str = ""
    depth: int = 0  # 0: the top error, 1: its cause, ...
    line: str = ""


@dataclass
class ParsedLog:
    lines: list[str]
    errors: list[NamedError] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    entities: dict[str, str] = field(default_factory=dict)
    redactions: int = 0
    truncated: bool = False
    amplify_context: bool = True
    gen2: bool = False
    gen1: bool = False
    foreign: str | None = None  # the other toolchain the output shows, when it shows one
    hosting: bool = False  # the output is (part of) an Amplify Hosting build log

    @property
    def error_names(self) -> list[str]:
        seen: list[str] = []
        for err in self.errors:
            if err.name not in seen:
                seen.append(err.name)
        return seen

    @property
    def shows_failure(self) -> bool:
        """An error name, or a line that reads as a failure (error, denied, not found, ...)."""
        return bool(self.errors) or any(INTERESTING_RE.search(l) or CFN_EVENT_RE.search(l) for l in self.lines)

    def query_text(self, limit: int = 12) -> str:
        return "\n".join(self.evidence[:limit]) if self.evidence else "\n".join(self.lines[-limit:])


# ---------------------------------------------------------------- reading input

def _decode(data: bytes, label: str) -> str:
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    sample = data[:8192]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 3 and even < len(sample) // 20:
            return data.decode("utf-16-le", errors="replace")
        if even > len(sample) // 3 and odd < len(sample) // 20:
            return data.decode("utf-16-be", errors="replace")
    if b"\x00" in sample:
        raise BadInputError(f"{label} looks like a binary file, not a log", "pass a text log, or paste the error text on stdin")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") > max(16, len(text) // 10):
            text = data.decode("cp1252", errors="replace")
        return text


BLOCK_BYTES = 4 * 1024 * 1024
LINE_CAP = MAX_LINE_CHARS * 4


KEYWORDS = tuple(k.encode() for k in (
    "error", "exception", "fail", "fault", "denied", "authorized", "authorised", "cannot", "can't", "could not",
    "unable", "invalid", "missing", "not found", "timed out", "resolution:", "caused by", "serializederror",
    "rollback", "warn", "\u2716", "\u274c", "\u26a0",
))
KEEP_FIRST_INTERESTING = 1000


class _Window:
    """What is kept of a stream: its first lines, its last lines, and the interesting ones
    between (the first ones, where a root cause usually is, and the latest ones)."""

    def __init__(self) -> None:
        self.head: list[bytes] = []
        self.first: dict[int, bytes] = {}
        self.latest: deque[tuple[int, bytes]] = deque(maxlen=KEEP_INTERESTING)
        self.tail: deque[tuple[int, bytes]] = deque(maxlen=KEEP_TAIL)
        self.dropped = False

    def cap(self, line: bytes) -> bytes:
        if len(line) <= LINE_CAP:
            return line
        self.dropped = True
        return line[:LINE_CAP] + b"\n"

    def add_block(self, block: bytes, offset: int) -> None:
        """``block`` holds whole lines only (each ending in a newline)."""
        if len(self.head) < KEEP_HEAD:
            block, offset = self._fill_head(block, offset)
        if not block:
            return
        self._pick(block, offset)
        start = len(block)
        for _ in range(KEEP_TAIL):  # only the last lines can survive in the tail
            cut = block.rfind(b"\n", 0, start - 1)
            if cut < 0:
                start = 0
                break
            start = cut + 1
        if start > 0 or len(self.tail) == KEEP_TAIL:
            self.dropped = True
        pos = start
        while pos < len(block):
            end = block.find(b"\n", pos) + 1 or len(block)
            self.tail.append((offset + pos, self.cap(block[pos:end])))
            pos = end

    def _fill_head(self, block: bytes, offset: int) -> tuple[bytes, int]:
        pos = 0
        while len(self.head) < KEEP_HEAD and pos < len(block):
            end = block.find(b"\n", pos) + 1 or len(block)
            self.head.append(self.cap(block[pos:end]))
            pos = end
        return block[pos:], offset + pos

    def _pick(self, block: bytes, offset: int) -> None:
        lowered = block.lower()
        starts: set[int] = set()
        for keyword in KEYWORDS:  # C-speed searches; only line starts are collected in Python
            self._first_hits(lowered, keyword, starts)
            self._last_hits(lowered, keyword, starts)
        for start in sorted(starts):
            end = block.find(b"\n", start) + 1 or len(block)
            line = self.cap(block[start:end])
            if len(self.first) < KEEP_FIRST_INTERESTING:
                self.first[offset + start] = line
            else:
                if len(self.latest) == self.latest.maxlen:
                    self.dropped = True
                self.latest.append((offset + start, line))

    def _first_hits(self, lowered: bytes, keyword: bytes, starts: set[int]) -> None:
        _collect(lowered, keyword, starts, KEEP_FIRST_INTERESTING - len(self.first), backwards=False)

    def _last_hits(self, lowered: bytes, keyword: bytes, starts: set[int]) -> None:
        _collect(lowered, keyword, starts, KEEP_INTERESTING, backwards=True)

    def result(self) -> bytes:
        middle = dict(self.first)
        middle.update(self.latest)
        middle.update(self.tail)
        return b"".join(self.head) + b"".join(line for _, line in sorted(middle.items()))


def _collect(lowered: bytes, keyword: bytes, starts: set[int], limit: int, backwards: bool) -> None:
    """Add the start offsets of up to ``limit`` new lines holding ``keyword``, from either end."""
    pos, found = (len(lowered) if backwards else 0), 0
    while found < limit:
        hit = lowered.rfind(keyword, 0, pos) if backwards else lowered.find(keyword, pos)
        if hit < 0:
            return
        start = lowered.rfind(b"\n", 0, hit) + 1
        if start not in starts:
            starts.add(start)
            found += 1
        pos = start if backwards else (lowered.find(b"\n", hit) + 1 or len(lowered))


def _stream_lines(handle: BinaryIO, max_bytes: int) -> tuple[bytes, bool]:
    """Read a possibly huge stream in bounded memory, a block at a time."""
    window = _Window()
    carry = b""
    offset = 0
    skipping = False  # inside the rest of a line that was too long to keep
    while True:
        block = handle.read(BLOCK_BYTES)
        if not block:
            break
        if skipping:
            newline = block.find(b"\n")
            offset += len(block) if newline < 0 else newline + 1
            if newline < 0:
                continue
            block, skipping = block[newline + 1 :], False
        data = carry + block
        cut = data.rfind(b"\n") + 1
        window.add_block(data[:cut], offset)
        offset += cut
        carry = data[cut:]
        if len(carry) > LINE_CAP:
            window.add_block(carry[:LINE_CAP] + b"\n", offset)
            window.dropped = skipping = True
            offset += len(carry)
            carry = b""
    if carry:
        window.add_block(carry + b"\n", offset)
    return window.result(), window.dropped or offset > max_bytes


def read_input(source: str, max_bytes: int = 64 * 1024 * 1024) -> tuple[str, bool]:
    """Return the text of a file path or ``-`` (stdin), and whether it was cut down."""
    label = "standard input" if source == "-" else source
    if source == "-":
        data, truncated = _stream_lines(sys.stdin.buffer, max_bytes)
    else:
        path = Path(source)
        if not path.exists():
            raise BadInputError(f"no such file: {source}", "check the path, or use - to read from stdin")
        if path.is_dir():
            raise BadInputError(f"{source} is a directory", "pass a log file, e.g. ampfix explain build.log")
        try:
            with path.open("rb") as handle:
                data, truncated = _stream_lines(handle, max_bytes)
        except OSError as exc:
            raise BadInputError(f"cannot read {source}: {exc.strerror or exc}", "check the file's permissions") from exc
    text = _decode(data, label)
    if not text.strip():
        raise BadInputError(f"{label} is empty", "paste the error output, e.g. npx ampx sandbox 2>&1 | ampfix explain -")
    return text, truncated


# ---------------------------------------------------------------- normalising

def normalise_line(line: str) -> str:
    line = ANSI_RE.sub("", line)
    if "\r" in line:
        parts = [p for p in line.split("\r") if p.strip()]
        line = parts[-1] if parts else ""
    line = CONTROL_RE.sub("", line)
    line = TIMESTAMP_RE.sub("", line, count=1)
    line = LEVEL_PREFIX_RE.sub("", line, count=1)
    line = LAMBDA_PREFIX_RE.sub("", line, count=1)
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS] + " …"
    return line.rstrip()


XML_OPEN_RE = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?<Error>\s*$")
XML_PART_RE = re.compile(r"(?:<[^<>]{0,120}>|[^<>]){0,300}")


def _fold_xml_errors(lines: list[str], limit: int = 40) -> list[str]:
    """An AWS REST error document printed one element per line (``<Error>``, ``<Code>``,
    ``AccessDenied``, ``</Code>`` ...) becomes one line, so it reads as the service wrote it."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if XML_OPEN_RE.match(lines[i]):
            end = next((j for j in range(i + 1, min(len(lines), i + limit))
                        if lines[j].strip() == "</Error>"), None)
            if end is not None and all(XML_PART_RE.fullmatch(line.strip()) for line in lines[i + 1:end]):
                out.append("".join(line.strip() for line in lines[i:end + 1]))
                i = end + 1
                continue
        out.append(lines[i])
        i += 1
    return out


def normalise(text: str) -> list[str]:
    text = text.replace("\r\n", "\n")
    return _fold_xml_errors([normalise_line(line) for line in text.split("\n")])


# ---------------------------------------------------------------- parsing

def _serialized_errors(line: str) -> list[NamedError]:
    payload = None
    match = SERIALIZED_V2_RE.search(line)
    if match:
        raw = next((g for g in match.groups() if g), "")
        try:
            payload = base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            payload = None
    if payload is None:
        match = SERIALIZED_V1_RE.search(line)
        if match:
            raw = next((g for g in match.groups() if g), "")
            payload = raw.replace('\\"', '"').replace("\\'", "'")
    if not payload:
        return []
    try:
        obj = json.loads(payload)
    except (json.JSONDecodeError, RecursionError):
        return []
    out: list[NamedError] = []
    depth = 0
    while isinstance(obj, dict) and depth < 10:
        options = obj.get("options") if isinstance(obj.get("options"), dict) else obj
        name = obj.get("name")
        if isinstance(name, str) and name:
            out.append(NamedError(
                name=name, message=str(options.get("message", ""))[:2000],
                resolution=str(options.get("resolution", "") or "")[:2000], depth=depth, line=line[:300],
            ))
        obj = obj.get("cause")
        depth += 1
    return out


def _parse_errors(lines: list[str]) -> list[NamedError]:
    errors: list[NamedError] = []
    last: NamedError | None = None
    for line in lines:
        stripped = line.strip()
        if "serializedError" in line:
            errors.extend(_serialized_errors(line))
            continue
        cause = CAUSED_BY_RE.search(stripped)
        if cause and cause.group("name"):
            last = NamedError(cause.group("name"), cause.group("message").strip(), depth=(last.depth + 1 if last else 1), line=stripped)
            errors.append(last)
            continue
        named = NAMED_ERROR_RE.search(stripped) or HOSTING_ERROR_RE.match(stripped)
        if named and not (cause and not cause.group("name") and named.start() > 0):
            last = NamedError(named.group("name"), named.group("message").strip(), line=stripped)
            errors.append(last)
            continue
        res = RESOLUTION_RE.match(stripped)
        if res and last is not None and not last.resolution:
            last.resolution = res.group("text").strip()
    return errors


_ENTITY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("secret_name", re.compile(r"The secret (?P<v>[A-Za-z0-9_./-]+) specified in the backend")),
    ("secret_name", re.compile(r"Failed to retrieve backend secret (?P<v>[A-Za-z0-9_-]+) for")),
    ("secret_name", re.compile(r"\bsecret\(\s*['\"](?P<v>[A-Za-z0-9_-]+)['\"]\s*\)")),
    ("secret_name", re.compile(r"/amplify/[^/\s]+/[^/\s]+/(?P<v>[A-Z][A-Z0-9_]+)\b")),
    ("function_name", re.compile(r"\$amplify/env/(?P<v>[A-Za-z0-9_-]+)")),
    ("function_name", re.compile(r"amplify/functions/(?P<v>[A-Za-z0-9_-]+)/")),
    ("function_name", re.compile(r"defineFunction\(\s*\{[^}]*?\bname:\s*['\"](?P<v>[A-Za-z0-9_-]+)['\"]", re.S)),
    ("function_name", re.compile(r"allow\.resource\(\s*(?P<v>[A-Za-z0-9_]+)\s*\)")),
    ("model_name", re.compile(r"on type '?(?P<v>[A-Z][A-Za-z0-9_]+)'?")),
    ("model_name", re.compile(r"tables\[\s*['\"](?P<v>[A-Za-z0-9_]+)['\"]\s*\]")),
    ("model_name", re.compile(r"\b(?P<v>[A-Z][A-Za-z0-9]+):\s*a\s*\.\s*model\(")),
    ("field_name", re.compile(r"Not Authorized to access (?P<v>[A-Za-z0-9_]+) on type")),
    ("stack_name", re.compile(r"\b(?P<v>amplify-[a-z0-9]+-[a-z0-9-]*(?:sandbox|branch)-[a-z0-9]+)\b")),
    ("stack_name", re.compile(r"\bStack:?\s*(?:arn:aws:cloudformation:[^:]+:\d+:stack/)?(?P<v>amplify-[A-Za-z0-9-]+)")),
    ("region", re.compile(r"\b(?P<v>(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d)\b")),
    ("account_id", re.compile(r"(?:aws://|arn:aws:[a-z0-9-]+:[a-z0-9-]*:)(?P<v>\d{12})\b")),
    ("bucket_name", re.compile(r"\bbucket[: ]+['\"]?(?P<v>[a-z0-9][a-z0-9.-]{2,62})['\"]?", re.I)),
]


def extract_entities(lines: Iterable[str]) -> dict[str, str]:
    text = "\n".join(lines)
    found: dict[str, str] = {}
    for name, pattern in _ENTITY_PATTERNS:
        if name in found:
            continue
        match = pattern.search(text)
        if match:
            found[name] = match.group("v")
    return found


def _evidence(lines: list[str], errors: list[NamedError], limit: int = 12) -> list[str]:
    picked: list[str] = []

    def add(line: str) -> None:
        line = line.strip()
        if line and line not in picked and len(picked) < limit:
            picked.append(line[:500])

    for err in sorted(errors, key=lambda e: -e.depth):
        add(err.line if err.line and "serializedError" not in err.line else f"[{err.name}] {err.message}")
    for line in lines:
        if STACK_LINE_RE.match(line):
            continue
        if INTERESTING_RE.search(line) or CFN_EVENT_RE.search(line):
            add(line)
    if not picked:
        for line in [l for l in lines if l.strip()][-limit:]:
            add(line)
    return picked


def parse_log(text: str, redactor: Redactor | None = None, truncated: bool = False) -> ParsedLog:
    redactor = redactor or Redactor()
    lines = [redactor.redact(line) for line in normalise(text)]
    errors = _parse_errors(lines)
    for err in errors:
        err.message = redactor.redact(err.message)
        err.resolution = redactor.redact(err.resolution)
    foreign = _foreign(lines)
    return ParsedLog(
        lines=lines, errors=errors, evidence=_evidence(lines, errors),
        entities=extract_entities(lines), redactions=redactor.count, truncated=truncated,
        amplify_context=any(AMPLIFY_CONTEXT_RE.search(line) for line in lines)
        or (foreign is None and any(WEAK_CONTEXT_RE.search(line) for line in lines)),
        gen2=any(GEN2_RE.search(line) for line in lines),
        gen1=any(GEN1_RE.search(line) for line in lines),
        foreign=foreign,
        hosting=any(HOSTING_RE.search(line) for line in lines),
    )


def _foreign(lines: list[str], limit: int = 2000) -> str | None:
    sample = lines[:limit]
    for name, pattern in FOREIGN_MARKERS:
        if any(pattern.search(line) for line in sample):
            return name
    return None
