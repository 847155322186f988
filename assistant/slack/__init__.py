"""The Slack adapter: `ampfix slack` answers mentions and direct messages in their threads."""

from .app import run

__all__ = ["run"]
