"""Checks on the data schema: relationships, defaults and authorization rules."""

from __future__ import annotations

import difflib
from typing import Iterator

from .parse import Source, args, string_value, unwrap
from .project import Entry, Field, Project, rules_of
from .registry import Hit, Severity, add_property, at, check, diff, insert_after, replace

RELATIONSHIPS = ("hasMany", "hasOne", "belongsTo")
DYNAMIC_RULES = ("owner", "ownerDefinedIn", "ownersDefinedIn", "groupDefinedIn", "groupsDefinedIn", "resource")
OWNER_RULES = ("owner", "ownerDefinedIn", "ownersDefinedIn")
OPERATIONS = ("query", "mutation", "subscription")
NOT_MODELS = ("customType", "enum", *OPERATIONS, "generation", "conversation")
SAME_KEY_TYPES = {"id": "string"}


def _all_entries(project: Project) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for schema in project.schemas:
        entries.update(schema.entries)
    return entries


def _fields(project: Project) -> Iterator[tuple[Entry, Field]]:
    for schema in project.schemas:
        for entry in schema.models.values():
            for fld in entry.fields.values():
                yield entry, fld


def _relation(src: Source, fld: Field) -> tuple[str | None, list[str]]:
    """(target model, reference fields) of a.hasMany('Child', 'parentId') / ['a', 'b']."""
    call = fld.links[0][1]
    params = args(call)
    target = string_value(src, params[0]) if params else None
    refs: list[str] = []
    for param in params[1:2]:
        param = unwrap(param)
        items = param.named_children if param is not None and param.type == "array" else [param]
        refs.extend(v for v in (string_value(src, i) for i in items) if v)
    return target, refs


def _entities(entry: Entry, fld: Field | None = None) -> dict[str, str]:
    found = {"model_name": entry.name}
    if fld is not None:
        found["field_name"] = fld.name
    return found


@check("data-relationship-unknown-model", Severity.ERROR, "data-relationship-unknown-model")
def unknown_model(project: Project) -> Iterator[Hit]:
    entries = _all_entries(project)
    for entry, fld in _fields(project):
        if fld.type not in (*RELATIONSHIPS, "ref"):
            continue
        target, _ = _relation(entry.src, fld)
        if target is None:
            continue
        known = entries.get(target)
        if known is None:
            close = difflib.get_close_matches(target, [n for n, e in entries.items() if e.kind != 'enum'], 1, 0.7)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} refers to '{target}', which is not in the "
                     f"schema{hint}", entities=_entities(entry, fld),
                     patch=_rename_target(entry.src, fld, close[0]) if close else None)
        elif fld.type in RELATIONSHIPS and known.kind in NOT_MODELS:
            yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} is a {fld.type} to '{target}', a "
                     f"{known.kind}; relationships need an a.model() (embed a custom type with a.ref instead)",
                     entities=_entities(entry, fld))


def _rename_target(src: Source, fld: Field, name: str) -> str | None:
    params = args(fld.links[0][1])
    return replace(src, params[0], f"'{name}'") if params else None


def _partners(entries: dict[str, Entry], model: str, target: str, kinds: tuple[str, ...]):
    other = entries.get(target)
    if other is None or other.kind != "model":
        return None
    related = [(f, _relation(other.src, f)) for f in other.fields.values() if f.type in kinds]
    return [(f, rel) for f, rel in related if rel[0] == model]


@check("data-relationship-missing-side", Severity.ERROR, "data-relationship-reference-mismatch")
def missing_side(project: Project) -> Iterator[Hit]:
    entries = _all_entries(project)
    for entry, fld in _fields(project):
        if fld.type not in RELATIONSHIPS:
            continue
        target, refs = _relation(entry.src, fld)
        wanted = ("belongsTo",) if fld.type != "belongsTo" else ("hasMany", "hasOne")
        partners = _partners(entries, entry.name, target or "", wanted)
        if partners is None or not refs:
            continue
        if not partners:
            other = " or ".join(f"a.{w}('{entry.name}', '{refs[0]}')" for w in wanted)
            yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} ({fld.type} '{target}') has no matching side: "
                     f"add {other} to {target}", entities=_entities(entry, fld))
        elif fld.type != "belongsTo" and all(prefs != refs for _, (_, prefs) in partners):
            names = ", ".join(f"{target}.{p.name} uses {prefs}" for p, (_, prefs) in partners)
            yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} uses reference {refs} but {names}; both sides "
                     "must name the same reference field", entities=_entities(entry, fld))


def _key_types(parent: Entry, src: Source) -> list[tuple[str, str | None]]:
    ident = parent.modifier("identifier")
    names = ["id"]
    if ident is not None and args(ident):
        array = unwrap(args(ident)[0])
        names = [string_value(src, n) or "" for n in (array.named_children if array is not None else [])]
    return [(n, parent.fields[n].type if n in parent.fields else ("id" if n == "id" else None)) for n in names]


def _same_type(a: str | None, b: str | None) -> bool:
    return a is None or b is None or SAME_KEY_TYPES.get(a, a) == SAME_KEY_TYPES.get(b, b)


@check("data-reference-field-invalid", Severity.ERROR, "relationships-reference-fields")
def reference_fields(project: Project) -> Iterator[Hit]:
    entries = _all_entries(project)
    for entry, fld in _fields(project):
        if fld.type != "belongsTo":
            continue
        target, refs = _relation(entry.src, fld)
        parent = entries.get(target or "")
        if parent is None or parent.kind != "model":
            continue
        if not refs:
            yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} belongsTo '{target}' without a reference field; "
                     f"add a field such as {target[0].lower() + target[1:]}Id: a.id() and name it",
                     entities=_entities(entry, fld))
            continue
        yield from _reference_problems(entry, fld, parent, refs)


def _reference_problems(entry: Entry, fld: Field, parent: Entry, refs: list[str]) -> Iterator[Hit]:
    keys = _key_types(parent, parent.src)
    if len(keys) != len(refs):
        yield at(entry.src, fld.pair, f"{entry.name}.{fld.name} has {len(refs)} reference field(s) but {parent.name} "
                 f"has {len(keys)} identifier field(s) ({', '.join(k for k, _ in keys)})", entities=_entities(entry, fld))
        return
    for ref, (key, key_type) in zip(refs, keys):
        ref_field = entry.fields.get(ref)
        if ref_field is None:
            yield at(entry.src, fld.pair, f"reference field '{ref}' of {entry.name}.{fld.name} is not a field of "
                     f"{entry.name}; add {ref}: a.{key_type or 'id'}()", entities=_entities(entry, fld),
                     patch=add_property(entry.src, fld.pair.parent, f"{ref}: a.{key_type or 'id'}()"))
        elif not _same_type(ref_field.type, key_type):
            yield at(entry.src, ref_field.pair, f"reference field {entry.name}.{ref} is a.{ref_field.type}() but "
                     f"{parent.name}.{key} is a.{key_type}(); the types must match",
                     entities=_entities(entry, ref_field),
                     patch=replace(entry.src, ref_field.links[0][1].child_by_field_name("function"), f"a.{key_type}"))


@check("data-default-on-required", Severity.ERROR, "data-default-value-invalid")
def default_on_required(project: Project) -> Iterator[Hit]:
    for entry, fld in _fields(project):
        default, required = fld.modifier("default"), fld.modifier("required")
        if default is not None and required is not None:
            fn = required.child_by_field_name("function")
            yield at(entry.src, default, f"{entry.name}.{fld.name} has both .required() and .default(); a required "
                     "field must be sent by the caller. Drop .required()", entities=_entities(entry, fld),
                     patch=_drop_modifier(entry.src, fn))


def _drop_modifier(src: Source, member) -> str | None:
    """Remove `.required()` from a chain: the member expression `x.required` and its `()`."""
    if member is None or member.type != "member_expression":
        return None
    obj = member.child_by_field_name("object")
    call = member.parent
    before = src.data.decode("utf-8", "replace")
    after = (src.data[:obj.end_byte] + src.data[call.end_byte:]).decode("utf-8", "replace")
    return diff(src.rel, before, after)


@check("data-default-on-list-or-relationship", Severity.ERROR, "data-default-value-invalid")
def default_on_list(project: Project) -> Iterator[Hit]:
    for entry, fld in _fields(project):
        default = fld.modifier("default")
        if default is None:
            continue
        if fld.modifier("array") is not None or fld.type in (*RELATIONSHIPS, "ref"):
            what = "a list" if fld.modifier("array") is not None else f"a {fld.type} field"
            yield at(entry.src, default, f"{entry.name}.{fld.name} is {what}; .default() is allowed only on single "
                     "scalar or enum fields", entities=_entities(entry, fld))


@check("data-custom-operation-dynamic-auth", Severity.ERROR, "custom-operation-dynamic-auth-not-supported")
def operation_dynamic_auth(project: Project) -> Iterator[Hit]:
    for schema in project.schemas:
        for entry in schema.entries.values():
            auth = entry.modifier("authorization") if entry.kind in OPERATIONS else None
            if auth is None or not args(auth):
                continue
            for rule in rules_of(entry.src, args(auth)[0]):
                if rule.name in DYNAMIC_RULES:
                    yield at(entry.src, rule.call, f"custom {entry.kind} {entry.name} uses allow.{rule.name}(); "
                             "custom operations accept only static rules (authenticated, guest, publicApiKey, "
                             "group(s), custom). Use allow.authenticated() and check the caller in the handler",
                             patch=replace(entry.src, rule.links[-1][1], "allow.authenticated()"),
                             entities={"model_name": entry.name})


def _restricts_update(src: Source, links) -> bool:
    """True when a rule's .to([...]) leaves out 'update'."""
    to = next((call for name, call in links[1:] if name == "to"), None)
    if to is None or not args(to):
        return False
    array = unwrap(args(to)[0])
    ops = {string_value(src, n) for n in (array.named_children if array is not None else [])}
    return "update" not in ops


@check("data-owner-field-reassignable", Severity.WARNING, "owner-based-authorization")
def owner_reassignable(project: Project) -> Iterator[Hit]:
    for schema in project.schemas:
        for entry in schema.models.values():
            auth = entry.modifier("authorization")
            rules = rules_of(entry.src, args(auth)[0]) if auth is not None and args(auth) else []
            for rule in (r for r in rules if r.name in OWNER_RULES):
                if _restricts_update(entry.src, rule.links):
                    continue
                params = args(rule.call)
                owner_field = string_value(entry.src, params[0]) if params and rule.name != "owner" else "owner"
                fld = entry.fields.get(owner_field or "owner")
                if fld is not None and fld.modifier("authorization") is not None:
                    continue
                yield _owner_hit(entry, fld, owner_field or "owner", rule)


def _owner_hit(entry: Entry, fld: Field | None, name: str, rule) -> Hit:
    owner = "" if rule.name == "owner" else f"'{name}'"
    lock = f"authorization((allow) => [allow.{rule.name}({owner}).to(['read', 'delete'])])"
    if fld is None:
        kind = "a.string().array()" if rule.name == "ownersDefinedIn" else "a.string()"
        patch = add_property(entry.src, unwrap(args(entry.links[0][1])[0]), f"{name}: {kind}.{lock}")
    else:
        patch = insert_after(entry.src, fld.links[-1][1], f".{lock}")
    return at(entry.src, rule.call, f"owners of {entry.name} can reassign the '{name}' field to another user; "
              f"add a field-level rule on {name} that leaves out 'update'", patch=patch,
              entities={"model_name": entry.name, "field_name": name})
