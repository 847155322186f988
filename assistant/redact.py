"""Secret redaction: applied to every user line before it reaches a prompt or the screen."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (kind, pattern, group to replace: 0 for the whole match)
_RULES: list[tuple[str, re.Pattern[str], int]] = [
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S), 0),
    ("AWS_ACCESS_KEY_ID", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16}\b"), 0),
    ("AWS_SECRET", re.compile(r"(?i)(aws_?secret_?access_?key|secretAccessKey|SecretAccessKey)([\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})"), 3),
    ("AWS_SESSION_TOKEN", re.compile(r"(?i)(aws_?session_?token|sessionToken|SessionToken|x-amz-security-token)([\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=%]{100,})"), 3),
    ("APPSYNC_API_KEY", re.compile(r"\bda2-[a-z0-9]{26}\b"), 0),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), 0),
    ("BEARER", re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{16,})"), 2),
    ("SLACK_TOKEN", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0),
    ("SLACK_TOKEN", re.compile(r"\bxapp-[A-Za-z0-9-]{10,}\b"), 0),
    ("GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"), 0),
    ("URL_PASSWORD", re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)([^@\s/]+)(@)"), 2),
    ("PASSWORD", re.compile(r"(?i)(\b(?:password|passwd|pwd|client_?secret|api_?key|apikey)\b[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{6,})"), 2),
]


_OPTIONAL: dict[str, tuple[str, re.Pattern[str], int]] = {
    "accounts": ("AWS_ACCOUNT_ID", re.compile(r"(?<![\d-])(\d{12})(?![\d-])"), 1),
    "emails": ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), 0),
}


@dataclass
class Redactor:
    """Replaces secrets with stable placeholders: the same secret, the same placeholder.

    ``enabled=False`` turns redaction off (it must be asked for explicitly); ``accounts`` and
    ``emails`` also hide AWS account ids and e-mail addresses."""

    mapping: dict[str, str] = field(default_factory=dict)
    count: int = 0
    enabled: bool = True
    accounts: bool = False
    emails: bool = False

    def _placeholder(self, kind: str, secret: str) -> str:
        if secret not in self.mapping:
            n = sum(1 for v in self.mapping.values() if v.startswith(f"[REDACTED_{kind}_")) + 1
            self.mapping[secret] = f"[REDACTED_{kind}_{n}]"
        self.count += 1
        return self.mapping[secret]

    def redact(self, text: str) -> str:
        if not self.enabled:
            return text
        rules = list(_RULES) + [rule for name, rule in _OPTIONAL.items() if getattr(self, name)]
        for kind, pattern, group in rules:
            text = pattern.sub(lambda m, k=kind, g=group: self._replace(m, k, g), text)
        return text

    def _replace(self, match: re.Match[str], kind: str, group: int) -> str:
        secret = match.group(group)
        if secret.startswith("[REDACTED_"):
            return match.group(0)
        if group == 0:
            return self._placeholder(kind, secret)
        start, end = match.span(group)
        base = match.start(0)
        whole = match.group(0)
        return whole[: start - base] + self._placeholder(kind, secret) + whole[end - base :]
