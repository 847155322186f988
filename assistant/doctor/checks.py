"""All checks: importing the check modules registers them."""

from . import checks_data, checks_functions, checks_project, checks_storage  # noqa: F401 - they register
from .registry import CHECKS

__all__ = ["CHECKS"]
