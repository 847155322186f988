"""The data schema as the checks see it: every `a.schema({...})` with its models, fields and rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from .parse import Source, args, calls, chain, pair_nodes, unwrap

if TYPE_CHECKING:
    from .project import Entry, Project, Schema

FIELDED = ("model", "customType")


def read_schemas(project: "Project") -> "list[Schema]":
    from .project import Schema

    found = []
    for src in project.sources.values():
        for call in calls(src, src.root, "a.schema"):
            first = args(call)[0] if args(call) else None
            entries = {key: _entry(project, src, key, pair) for key, pair in pair_nodes(src, first).items()}
            found.append(Schema(src, call, entries, chain(src, _outermost_chain(call))))
    return found


def _entry(project: "Project", src: Source, key: str, pair: Node) -> "Entry":
    """One schema key; `{ Todo }` or `Todo: TodoModel` are followed to the variable's definition."""
    from .project import Entry, Field

    value = unwrap(pair.child_by_field_name("value")) if pair.type == "pair" else pair
    value_src = src
    if value is not None and value.type in ("identifier", "shorthand_property_identifier"):
        found = project.definition(src, src.text(value))
        if found is not None:
            value_src, value = found
    links = chain(value_src, value)
    kind = links[0][0].split(".")[-1] if links else ""
    entry = Entry(key, kind, pair, links, src=value_src)
    if kind in FIELDED and args(links[0][1]):
        for name, fpair in pair_nodes(value_src, args(links[0][1])[0]).items():
            fvalue = fpair.child_by_field_name("value") if fpair.type == "pair" else None
            entry.fields[name] = Field(name, fpair, chain(value_src, fvalue))
    return entry


def _outermost_chain(call: Node) -> Node:
    """From `a.schema(...)` up to the whole `a.schema(...).authorization(...)` expression."""
    node = call
    while node.parent is not None and node.parent.type == "member_expression" and node.parent.parent is not None \
            and node.parent.parent.type == "call_expression":
        node = node.parent.parent
    return node
