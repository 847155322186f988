"""Build a short string that a regular expression matches, to test signatures against."""

from __future__ import annotations

import re

try:
    import re._constants as C  # type: ignore[import-not-found]
    import re._parser as P  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

CATEGORY = {
    C.CATEGORY_DIGIT: "1", C.CATEGORY_NOT_DIGIT: "a", C.CATEGORY_SPACE: " ", C.CATEGORY_NOT_SPACE: "a",
    C.CATEGORY_WORD: "a", C.CATEGORY_NOT_WORD: " ",
}


def js_to_python(pattern: str) -> str:
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)


def _in(items) -> str:
    negate = any(op is C.NEGATE for op, _ in items)
    if negate:
        banned = {chr(arg) for op, arg in items if op is C.LITERAL}
        return next(c for c in "axyz019 _-" if c not in banned)
    for op, arg in items:
        if op is C.LITERAL:
            return chr(arg)
        if op is C.RANGE:
            return chr(arg[0])
        if op is C.CATEGORY:
            return CATEGORY.get(arg, "a")
    return "a"


def _gen(parsed, groups: dict[int, str]) -> str:
    out = []
    for op, arg in parsed:
        if op is C.LITERAL:
            out.append(chr(arg))
        elif op is C.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is C.ANY:
            out.append("x")
        elif op is C.IN:
            out.append(_in(arg))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            out.append(_gen(sub, groups) * max(low, 1 if low == 0 and _is_word(sub) else low))
        elif op is C.BRANCH:
            out.append(_gen(arg[1][0], groups))
        elif op is C.SUBPATTERN:
            text = _gen(arg[-1], groups)
            if arg[0]:
                groups[arg[0]] = text
            out.append(text)
        elif op is C.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        elif op is C.CATEGORY:
            out.append(CATEGORY.get(arg, "a"))
    return "".join(out)


def _is_word(sub) -> bool:
    return any(op in (C.LITERAL, C.IN, C.ANY, C.CATEGORY) for op, _ in sub)


def example(pattern: str) -> str:
    """A string that ``pattern`` (Python syntax) matches, or AssertionError."""
    text = _gen(P.parse(pattern), {})
    assert re.search(pattern, text), (pattern, text)
    return text
