"""What a Slack message says: its text, code blocks and attached text files, as plain text."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
LINK_RE = re.compile(r"<((?:https?|mailto|ftp):[^|>]*)(?:\|([^>]*))?>")
CHANNEL_RE = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
SPECIAL_RE = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
MAX_FILE_BYTES = 1_000_000
MAX_FILES = 5
SKIPPED_TYPES = ("image/", "video/", "audio/", "application/pdf", "application/zip")


def plain_text(text: str, bot_user_id: str = "") -> str:
    """Slack's message markup back to what the user typed, without the bot's own mention."""
    text = MENTION_RE.sub(lambda m: "" if m.group(1) == bot_user_id else f"@{m.group(1)}", text or "")
    text = LINK_RE.sub(lambda m: m.group(2) or m.group(1), text)
    text = CHANNEL_RE.sub(lambda m: f"#{m.group(1) or 'channel'}", text)
    text = SPECIAL_RE.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("```", "\n")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


class FileReader:
    """Downloads the text files attached to a message, with the bot token, from Slack only."""

    def __init__(self, token: str, api_url: str, timeout: float = 20.0) -> None:
        self.token = token
        self.timeout = timeout
        self.api_host = urllib.parse.urlsplit(api_url).hostname or "slack.com"

    def allowed(self, url: str) -> bool:
        host = urllib.parse.urlsplit(url).hostname or ""
        return host == self.api_host or host == "slack.com" or host.endswith(".slack.com")

    def read(self, url: str) -> str | None:
        """The file's text, or None for a file that is not text or cannot be read."""
        if not self.allowed(url):
            return None
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if "text/html" in (response.headers.get("Content-Type") or ""):
                return None  # Slack's sign-in page: the app lacks the files:read scope
            data = response.read(MAX_FILE_BYTES)
        if b"\x00" in data:
            return None
        return data.decode("utf-8", errors="replace")


def attached_texts(files: list[dict], read: Callable[[str], str | None], log: Callable[[str], None]) -> list[str]:
    """The text of each attached file or snippet that is text."""
    texts = []
    for item in (files or [])[:MAX_FILES]:
        mimetype = item.get("mimetype") or ""
        url = item.get("url_private_download") or item.get("url_private")
        if not url or mimetype.startswith(SKIPPED_TYPES):
            continue
        try:
            text = read(url)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log(f"warning: cannot read the attached file {item.get('name', '?')}: {exc}")
            continue
        if text and text.strip():
            texts.append(text)
    return texts
