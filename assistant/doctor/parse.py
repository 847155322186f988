"""TypeScript through tree-sitter: parse a file once, then ask about calls, objects and strings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import tree_sitter_typescript as ts_typescript
from tree_sitter import Language, Node, Parser

from ..errors import AmpfixError

MAX_SOURCE_BYTES = 1_000_000


class ParserUnavailableError(AmpfixError):
    """The TypeScript grammar could not be loaded."""


@lru_cache(maxsize=2)
def _parser(tsx: bool) -> Parser:
    try:
        grammar = ts_typescript.language_tsx() if tsx else ts_typescript.language_typescript()
        return Parser(Language(grammar))
    except Exception as exc:  # noqa: BLE001 - a broken wheel is reported with a hint
        raise ParserUnavailableError(f"cannot load the TypeScript grammar: {exc}",
                                     "reinstall it: .venv/bin/pip install tree-sitter tree-sitter-typescript") from exc


@dataclass
class Source:
    """One parsed file: its path relative to the project, its bytes and its syntax tree."""

    path: Path
    rel: str
    data: bytes
    root: Node

    def text(self, node: Node | None) -> str:
        return "" if node is None else self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")


def parse_text(text: str, rel: str = "<text>", path: Path | None = None) -> Source:
    data = text.encode("utf-8")
    tsx = rel.endswith((".tsx", ".jsx", ".js"))
    return Source(path or Path(rel), rel, data, _parser(tsx).parse(data).root_node)


def parse_file(path: Path, rel: str) -> Source | None:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return parse_text(path.read_text(encoding="utf-8", errors="replace"), rel, path)
    except OSError:
        return None


def line(node: Node) -> int:
    return node.start_point[0] + 1


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def callee_name(src: Source, call: Node) -> str:
    """`defineFunction` for defineFunction(...), `a.model` for a.model(...), `x.y` for a().x.y()."""
    fn = call.child_by_field_name("function")
    if fn is None:
        return ""
    if fn.type == "identifier":
        return src.text(fn)
    if fn.type == "member_expression":
        obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
        base = src.text(obj) if obj is not None and obj.type in ("identifier", "member_expression") else ""
        return f"{base}.{src.text(prop)}" if base else f".{src.text(prop)}"
    return ""


def calls(src: Source, node: Node, *names: str) -> Iterator[Node]:
    """Every call below ``node`` whose callee name is one of ``names`` (".x" matches any receiver)."""
    for child in walk(node):
        if child.type != "call_expression":
            continue
        name = callee_name(src, child)
        if name in names or any(n.startswith(".") and name.endswith(n) for n in names):
            yield child


def args(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    return [] if arguments is None else [a for a in arguments.named_children if a.type != "comment"]


def string_value(src: Source, node: Node | None) -> str | None:
    """The value of a plain string or a template string without substitutions."""
    if node is None:
        return None
    if node.type == "string":
        return "".join(src.text(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence"))
    if node.type == "template_string" and not any(c.type == "template_substitution" for c in node.named_children):
        return src.text(node)[1:-1]
    return None


def number_value(src: Source, node: Node | None) -> float | None:
    """A numeric literal or a product of literals (15 * 60)."""
    if node is None:
        return None
    if node.type == "number":
        try:
            return float(src.text(node).replace("_", ""))
        except ValueError:
            return None
    if node.type == "parenthesized_expression" and node.named_children:
        return number_value(src, node.named_children[0])
    if node.type == "binary_expression":
        left = number_value(src, node.child_by_field_name("left"))
        right = number_value(src, node.child_by_field_name("right"))
        op = src.text(node.child_by_field_name("operator"))
        if left is not None and right is not None and op in ("*", "+", "-"):
            return {"*": left * right, "+": left + right, "-": left - right}[op]
    if node.type == "unary_expression" and src.text(node).startswith("-"):
        inner = number_value(src, node.named_children[0] if node.named_children else None)
        return None if inner is None else -inner
    return None


def unwrap(node: Node | None) -> Node | None:
    """Look through `x as const`, `x satisfies T`, `(x)`."""
    while node is not None and node.type in ("as_expression", "satisfies_expression", "parenthesized_expression",
                                               "non_null_expression"):
        node = node.named_children[0] if node.named_children else None
    return node


def key_text(src: Source, key: Node) -> str:
    value = string_value(src, key)
    return value if value is not None else src.text(key)


def _properties(src: Source, obj: Node | None) -> Iterator[tuple[str, Node, Node]]:
    """(key, the whole `key: value` node, the value node) of each property of an object literal;
    for a shorthand property both nodes are the identifier."""
    obj = unwrap(obj)
    if obj is None or obj.type != "object":
        return
    for child in obj.named_children:
        if child.type == "pair":
            yield key_text(src, child.child_by_field_name("key")), child, child.child_by_field_name("value")
        elif child.type == "shorthand_property_identifier":
            yield src.text(child), child, child


def object_pairs(src: Source, obj: Node | None) -> dict[str, Node]:
    """`{a: 1, b}` as {"a": <1>, "b": <b>}; the value node of a shorthand property is the identifier."""
    return {key: value for key, _, value in _properties(src, obj)}


def pair_nodes(src: Source, obj: Node | None) -> dict[str, Node]:
    """Like object_pairs, but each value is the whole `key: value` pair (for line numbers and patches)."""
    return {key: pair for key, pair, _ in _properties(src, obj)}


def chain(src: Source, node: Node | None) -> list[tuple[str, Node]]:
    """A builder chain `a.string().required().default('x')` as [("a.string", call), ("required", call), ...]."""
    links: list[tuple[str, Node]] = []
    node = unwrap(node)
    while node is not None and node.type == "call_expression":
        fn = node.child_by_field_name("function")
        if fn is not None and fn.type == "member_expression":
            obj = unwrap(fn.child_by_field_name("object"))
            prop = src.text(fn.child_by_field_name("property"))
            if obj is not None and obj.type == "call_expression":
                links.append((prop, node))
                node = obj
                continue
            links.append((f"{src.text(obj)}.{prop}", node))
        else:
            links.append((src.text(fn), node))
        break
    return list(reversed(links))


def arrow_body(node: Node | None) -> Node | None:
    """The returned expression of `(allow) => [...]` or `(allow) => ({...})` or `allow => { return [...] }`."""
    node = unwrap(node)
    if node is None or node.type not in ("arrow_function", "function_expression"):
        return None
    body = node.child_by_field_name("body")
    if body is not None and body.type == "statement_block":
        for statement in body.named_children:
            if statement.type == "return_statement" and statement.named_children:
                return unwrap(statement.named_children[0])
        return None
    return unwrap(body)


def imports(src: Source) -> list[tuple[str, list[str], bool, Node]]:
    """Each import as (module, local names, type_only, node)."""
    found = []
    for node in src.root.named_children:
        if node.type != "import_statement":
            continue
        module = string_value(src, node.child_by_field_name("source")) or ""
        type_only = any(c.type == "type" for c in node.children) or src.text(node).startswith("import type")
        names: list[str] = []
        for clause in (c for c in node.named_children if c.type == "import_clause"):
            for part in walk(clause):
                if part.type == "import_specifier":
                    alias = part.child_by_field_name("alias") or part.child_by_field_name("name")
                    if src.text(part).startswith("type "):
                        continue
                    names.append(src.text(alias))
                elif part.type == "identifier" and part.parent is not None \
                        and part.parent.type in ("import_clause", "namespace_import"):
                    names.append(src.text(part))
        found.append((module, names, type_only, node))
    return found
