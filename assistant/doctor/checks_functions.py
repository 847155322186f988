"""Checks on defineFunction, defineBackend and secrets."""

from __future__ import annotations

import re
from typing import Iterator

from .parse import args, arrow_body, calls, imports, number_value, object_pairs, pair_nodes, string_value, unwrap, walk
from .project import Project, Resource
from .registry import Hit, Severity, add_property, at, check, insert_after, replace
from .schedule import schedule_errors

DATA_CLIENT_CALLS = ("getAmplifyDataClientConfig", "generateClient")
BACKEND_MEMBERS = {"createStack", "addOutput", "stack"}
SECRET_NAME_RE = re.compile(r"(secret|token|password|passwd|api[_-]?key|private[_-]?key|client[_-]?secret|"
                            r"access[_-]?key|auth[_-]?key|credential)", re.IGNORECASE)
SECRET_VALUE_RE = re.compile(r"^(sk|pk|rk)_(live|test)_\w{8,}|^AKIA[0-9A-Z]{16}$|^gh[pousr]_\w{20,}|^xox[abpr]-|"
                             r"^eyJ[\w-]+\.[\w-]+\.|^AIza[\w-]{30,}|^[A-Za-z0-9+/_\-]{32,}={0,2}$")
NOT_SECRET_VALUE_RE = re.compile(r"^(true|false|yes|no|\d+(\.\d+)?|https?://[^@\s]*|[a-z]+([-_./][a-z]+)*)$", re.IGNORECASE)


def _fn_entities(fn: Resource) -> dict[str, str]:
    return {"function_name": fn.name, "resource_name": fn.var}


def _group(fn: Resource) -> str | None:
    return fn.prop_str("resourceGroupName")


# ------------------------------------------------------------------ data access

def _schema_grant_patch(project: Project, fn: Resource) -> str | None:
    """Add allow.resource(fn) to the schema-level authorization (or create one)."""
    if not project.schemas:
        return None
    schema = project.schemas[0]
    auth = next((call for name, call in schema.links[1:] if name == "authorization"), None)
    if auth is None:
        return insert_after(schema.src, schema.node, f".authorization((allow) => [allow.resource({fn.var})])")
    body = arrow_body(args(auth)[0]) if args(auth) else None
    if body is None or body.type != "array":
        return None
    elements = body.named_children
    if elements:
        return insert_after(schema.src, elements[-1], f", allow.resource({fn.var})")
    return replace(schema.src, body, f"[allow.resource({fn.var})]")


@check("function-data-client-without-allow-resource", Severity.ERROR, "function-data-access-missing-allow-resource")
def data_client_without_grant(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        if id(fn) in project.data_access:
            continue
        for src in project.function_code(fn):
            call = next(calls(src, src.root, *DATA_CLIENT_CALLS), None)
            if call is not None:
                yield at(src, call, f"function {fn.name} builds a data client but the schema has no "
                         f"allow.resource({fn.var}); Amplify never gives it the AMPLIFY_DATA_* variables. "
                         f"Add allow.resource({fn.var}) to the schema authorization and import {fn.var} there",
                         patch=_schema_grant_patch(project, fn), entities=_fn_entities(fn))
                break


@check("function-missing-resource-group", Severity.WARNING, "function-resource-group-circular-dependency")
def function_without_group(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        if id(fn) in project.auth_triggers or _group(fn) or fn.options is None:
            continue
        uses_data = id(fn) in project.data_access or id(fn) in project.data_handlers
        if not uses_data and id(fn) not in project.auth_access:
            continue
        group, what = ("data", "the data API") if uses_data else ("auth", "the user pool (defineAuth access)")
        yield at(fn.src, fn.call, f"function {fn.name} reaches {what} but stays in the shared function stack; add "
                 f"resourceGroupName: '{group}' so it cannot form a circular dependency",
                 patch=add_property(fn.src, fn.options, f"resourceGroupName: '{group}'"), entities=_fn_entities(fn))


@check("auth-trigger-resource-group", Severity.WARNING, "function-resource-group-circular-dependency")
def auth_trigger_group(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        if id(fn) not in project.auth_triggers or fn.options is None:
            continue
        trigger = project.auth_triggers[id(fn)][0]
        group = _group(fn)
        if group == "data":
            node = fn.props["resourceGroupName"]
            yield at(fn.src, node, f"auth trigger {fn.name} ({trigger} trigger) sits in the data stack, which already "
                     "depends on auth: a circular dependency. Use resourceGroupName: 'auth'",
                     patch=replace(fn.src, node, "'auth'"), entities=_fn_entities(fn), severity=Severity.ERROR)
        elif group is None and (id(fn) in project.data_access or id(fn) in project.auth_access):
            yield at(fn.src, fn.call, f"auth trigger {fn.name} ({trigger} trigger) also reaches data or auth but has no "
                     "resourceGroupName; add resourceGroupName: 'auth' to avoid a circular dependency",
                     patch=add_property(fn.src, fn.options, "resourceGroupName: 'auth'"), entities=_fn_entities(fn))


@check("auth-trigger-imports-data", Severity.ERROR, "auth-trigger-data-access")
def auth_trigger_imports_data(project: Project) -> Iterator[Hit]:
    data_files = {r.src.rel for r in project.of_kind("data")}
    for fn in project.of_kind("function"):
        if id(fn) not in project.auth_triggers:
            continue
        for src in [fn.src, *project.function_code(fn)]:
            for module, names, type_only, node in imports(src):
                target = project.resolve_module(src, module)
                if target is not None and target.rel in data_files and names and not type_only:
                    yield at(src, node, f"auth trigger {fn.name} imports the data resource ({module}); the trigger "
                             "and data then depend on each other. Import only types (import type { Schema }) and "
                             "grant access with allow.resource in the schema",
                             entities=_fn_entities(fn))


# ------------------------------------------------------------------ defineBackend

def _references(project: Project, fn: Resource) -> str | None:
    if id(fn) in project.data_handlers:
        return "a data handler"
    if id(fn) in project.auth_triggers:
        return "an auth trigger"
    if id(fn) in project.data_access:
        return "allow.resource in the schema"
    if id(fn) in project.auth_access:
        return "defineAuth access"
    if id(fn) in project.used_in:
        return f"its use in {project.used_in[id(fn)]}"
    return None


@check("resource-not-in-backend", Severity.WARNING, "backend-resource-not-registered")
def resource_not_in_backend(project: Project) -> Iterator[Hit]:
    backend = project.backend
    if backend is None:
        return
    listed = project.registered()
    for res in project.resources:
        if id(res) in listed:
            continue
        used_by = _references(project, res) if res.kind == "function" else None
        if used_by:
            yield at(res.src, res.call, f"function {res.name} is deployed through {used_by} but is not listed in "
                     f"defineBackend, so backend.{res.var} does not exist in backend.ts",
                     entities=_fn_entities(res), severity=Severity.INFO)
            continue
        obj = unwrap(args(backend.call)[0]) if args(backend.call) else None
        patch = add_property(backend.src, obj, res.var) if obj is not None and obj.type == "object" else None
        yield at(res.src, res.call, f"{res.kind} {res.var} is defined but not listed in defineBackend in "
                 f"{backend.src.rel}, so it is never deployed; add it (and its import), or delete it",
                 patch=patch, entities={"resource_name": res.var, **(_fn_entities(res) if res.kind == "function" else {})})


@check("backend-property-not-registered", Severity.ERROR, "backend-resource-not-registered")
def backend_property_missing(project: Project) -> Iterator[Hit]:
    backend = project.backend
    if backend is None or backend.var is None:
        return
    src = backend.src
    for node in (n for n in _members(src) if src.text(n.child_by_field_name("object")) == backend.var):
        prop = src.text(node.child_by_field_name("property"))
        if prop not in backend.keys and prop not in BACKEND_MEMBERS:
            yield at(src, node, f"backend.{prop} is used but defineBackend has no key {prop!r} "
                     f"(keys: {', '.join(backend.keys) or 'none'})", entities={"resource_name": prop})


def _members(src):
    return (n for n in walk(src.root) if n.type == "member_expression")


@check("function-name-duplicate", Severity.ERROR, "cdk-duplicate-construct-name")
def duplicate_names(project: Project) -> Iterator[Hit]:
    seen: dict[tuple[str, str], Resource] = {}
    for fn in sorted(project.of_kind("function"), key=lambda r: (r.src.rel, r.call.start_byte)):
        name = fn.deployed_name
        if name is None:
            continue
        key = (_group(fn) or "function", name)
        first = seen.setdefault(key, fn)
        if first is not fn:
            node = fn.props.get("name", fn.call)
            yield at(fn.src, node, f"function {fn.var} has the name '{name}', like {first.var} in {first.src.rel}; "
                     f"both land in the {key[0]} stack, where a name may be used once. Give it its own name",
                     patch=replace(fn.src, node, f"'{fn.var}'") if "name" in fn.props else None,
                     entities=_fn_entities(fn))


# ------------------------------------------------------------------ secrets

@check("secret-reference", Severity.INFO, "sandbox-secret-not-set")
def secret_references(project: Project) -> Iterator[Hit]:
    seen: set[str] = set()
    for name, src, call in project.secrets:
        if name in seen:
            continue
        seen.add(name)
        yield at(src, call, f"secret('{name}') must be set in every environment: "
                 f"`npx ampx sandbox secret set {name}` for your sandbox; for branches, Amplify console > "
                 f"Hosting > Secrets > Manage secrets (or `aws ssm put-parameter` under /amplify/shared/<app-id>/{name})",
                 entities={"secret_name": name})


@check("function-environment-looks-like-secret", Severity.WARNING, "function-environment-and-secrets")
def environment_secret(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        for key, pair in _pairs(fn, "environment"):
            value = string_value(fn.src, unwrap(pair.child_by_field_name("value")))
            if not value or NOT_SECRET_VALUE_RE.match(value):
                continue
            if SECRET_NAME_RE.search(key) or SECRET_VALUE_RE.search(value):
                yield at(fn.src, pair, f"environment variable {key} of function {fn.name} holds a literal value that "
                         f"looks like a secret; it is stored in plain text. Use secret('{key}') and set it with "
                         f"`npx ampx sandbox secret set {key}`",
                         patch=replace(fn.src, pair.child_by_field_name("value"), f"secret('{key}')"),
                         entities={**_fn_entities(fn), "secret_name": key})


def _pairs(fn: Resource, key: str):
    return [(k, p) for k, p in pair_nodes(fn.src, fn.props.get(key)).items() if p.type == "pair"]


# ------------------------------------------------------------------ limits

def _numeric_prop(fn: Resource, key: str):
    node = unwrap(fn.props.get(key))
    if node is None or node.type == "identifier":
        return None, None
    return node, number_value(fn.src, node)


@check("function-timeout-out-of-range", Severity.ERROR, "function-invalid-timeout")
def timeout_range(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        node, value = _numeric_prop(fn, "timeoutSeconds")
        if node is None or (value is not None and 1 <= value <= 900 and value % 1 == 0):
            continue
        shown = fn.src.text(node)
        fixed = "900" if value is not None and value > 900 else None
        yield at(fn.src, node, f"timeoutSeconds {shown} of function {fn.name} must be a whole number of seconds "
                 "from 1 to 900 (Lambda's 15-minute limit)",
                 patch=replace(fn.src, node, fixed) if fixed else None, entities=_fn_entities(fn))


@check("function-memory-out-of-range", Severity.ERROR, "function-invalid-memory")
def memory_range(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        node, value = _numeric_prop(fn, "memoryMB")
        if node is None or (value is not None and 128 <= value <= 10240 and value % 1 == 0):
            continue
        fixed = "10240" if value is not None and value > 10240 else "128" if value is not None and value < 128 else None
        yield at(fn.src, node, f"memoryMB {fn.src.text(node)} of function {fn.name} must be a whole number of "
                 "megabytes from 128 to 10240", patch=replace(fn.src, node, fixed) if fixed else None,
                 entities=_fn_entities(fn))


def _schedule_values(fn: Resource):
    node = unwrap(fn.props.get("schedule"))
    items = node.named_children if node is not None and node.type == "array" else [node] if node is not None else []
    for item in items:
        item = unwrap(item)
        if item is not None and item.type == "object":
            pairs = object_pairs(fn.src, item)
            item = pairs.get("rate") or pairs.get("cron")
        value = string_value(fn.src, item)
        if value is not None:
            yield item, value


@check("function-schedule-invalid", Severity.ERROR, "function-schedule-invalid-rate")
def schedule_invalid(project: Project) -> Iterator[Hit]:
    for fn in project.of_kind("function"):
        _, timeout = _numeric_prop(fn, "timeoutSeconds")
        for node, value in _schedule_values(fn):
            problems = schedule_errors(value, timeout or 3)
            if value.startswith("cron("):
                problems = [f"write the bare fields without cron(...): '{value[5:-1].strip()}'"] + problems
            if problems:
                yield at(fn.src, node, f"schedule '{value}' of function {fn.name}: {'; '.join(problems)}",
                         entities=_fn_entities(fn))
