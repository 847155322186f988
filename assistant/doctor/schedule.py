"""Amplify's own validation of `defineFunction({ schedule })`, ported from
aws-amplify/amplify-backend packages/backend-function/src/schedule_parser.ts."""

from __future__ import annotations

import re

CRON_PARTS = (("minutes", 0, 59), ("hours", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12),
              ("day-of-week", 1, 7), ("year", 1970, 2199))
INTERVAL_UNITS = ("m", "h", "day", "week", "month", "year")


def _number(text: str) -> float | None:
    try:
        return float(text) if text.strip() else 0.0
    except ValueError:
        return None


def _whole_between(value: float | None, low: int, high: int) -> bool:
    return value is not None and low <= value <= high and value % 1 == 0


def is_interval(expression: str) -> bool:
    parts = expression.split(" ")
    return len(parts) == 2 and parts[0] == "every" and any(parts[1].endswith(u) for u in INTERVAL_UNITS)


def interval_errors(expression: str, timeout: float | None) -> list[str]:
    if not is_interval(expression):
        return [f"'{expression}' is not an interval Amplify understands (every <n>m, every <n>h, every day, "
                "every week, every month, every year)"]
    part = expression.split(" ")[1]
    value_match, unit_match = re.search(r"-?\d+\.?\d*", part), re.search(r"[a-zA-Z]+", part)
    value = float(value_match.group(0)) if value_match else None
    if value is not None and not (value > 0 and value % 1 == 0):
        return ["Function schedule rate must be set with a positive whole number"]
    if value is not None and timeout and unit_match and unit_match.group(0) == "m" and value * 60 < timeout:
        return [f"Function schedule rate must be greater than the function timeout of {timeout:g} seconds"]
    return []


def _step_error(part: str, value: str, low: int, high: int) -> str | None:
    base_text, _, step_text = value.partition("/")
    step = _number(step_text)
    if base_text == "*":
        if step is None or step <= 0 or step % 1:
            return f"Cron step values for {part} must be positive whole numbers"
    elif not _whole_between(_number(base_text), low, high) or step is None or step <= 0:
        return f"Cron step values for {part} must be whole numbers between {low} and {high}"
    return None


def _range_error(part: str, value: str, low: int, high: int) -> str | None:
    pieces = value.split("-")
    start, end = _number(pieces[0]), _number(pieces[1]) if len(pieces) > 1 else None
    if not (_whole_between(start, low, high) and _whole_between(end, low, high)) or start > end:
        return f"Cron range for {part} must be whole numbers between {low} and {high}"
    return None


def _part_errors(part: str, value: str, low: int, high: int) -> list[str]:
    if value == "*":
        return []
    errors: list[str | None] = []
    if "," in value:
        if not all(_whole_between(_number(v), low, high) for v in value.split(",")):
            errors.append(f"Cron list for {part} must contain whole numbers between {low} and {high}")
        for item in value.split(","):
            if "/" in item:
                errors.append(_step_error(part, item, low, high))
            elif "-" in item:
                errors.append(_range_error(part, item, low, high))
    elif "/" in value:
        errors.append(_step_error(part, value, low, high))
    elif "-" in value:
        errors.append(_range_error(part, value, low, high))
    elif not _whole_between(_number(value), low, high):
        errors.append(f"Cron field for {part} must be a whole number between {low} and {high}")
    return [e for e in errors if e]


def cron_errors(expression: str) -> list[str]:
    fields = expression.split(" ")
    if len(fields) < 5:
        return [f"'{expression}' has {len(fields)} fields; a cron schedule needs 5 or 6, separated by single spaces"]
    errors: list[str] = []
    for (part, low, high), value in zip(CRON_PARTS, fields):
        if part in ("day-of-month", "day-of-week") and value == "?":
            continue
        errors.extend(_part_errors(part, value, low, high))
    if fields[2] != "?" and fields[4] != "?":
        errors.append("Cron expressions cannot have both day-of-month and day-of-week defined, "
                      "you must use a ? in one of the fields")
    return errors


def schedule_errors(expression: str, timeout: float | None) -> list[str]:
    return interval_errors(expression, timeout) if "every" in expression else cron_errors(expression)
