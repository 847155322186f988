"""The project model: the Amplify resources, schema, backend and package files of one folder."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tree_sitter import Node

from ..errors import BadInputError
from .parse import (Source, args, arrow_body, calls, callee_name, chain, imports, object_pairs, pair_nodes,
                    parse_file, string_value, unwrap, walk)

CODE_SUFFIXES = (".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx")
SKIP_DIRS = {"node_modules", ".amplify", ".git", ".next", "dist", "build", "out", ".turbo", "coverage", "cdk.out",
             ".svelte-kit", ".nuxt", ".output", ".expo", "ios", "android", ".vercel"}
MAX_FILES = 3000
DEFINERS = {"defineFunction": "function", "defineStorage": "storage", "defineAuth": "auth", "defineData": "data"}
ENTRY_DEFAULT = "handler.ts"


@dataclass
class Resource:
    """One `export const x = defineFunction/defineStorage/defineAuth/defineData(...)`."""

    kind: str
    var: str
    src: Source
    call: Node

    @cached_property
    def options(self) -> Node | None:
        for arg in args(self.call):
            if unwrap(arg) is not None and unwrap(arg).type == "object":
                return unwrap(arg)
        return None

    @cached_property
    def props(self) -> dict[str, Node]:
        return object_pairs(self.src, self.options)

    @cached_property
    def pairs(self) -> dict[str, Node]:
        return pair_nodes(self.src, self.options)

    @property
    def name(self) -> str:
        return string_value(self.src, self.props.get("name")) or self.var

    @property
    def deployed_name(self) -> str | None:
        """The function's construct id: `name`, or the folder of its resource file; None when computed."""
        if "name" in self.props:
            return self.prop_str("name")
        if "entry" in self.props:
            entry = self.prop_str("entry")
            return Path(entry).stem if entry else None
        return self.src.path.parent.name

    def prop_str(self, key: str) -> str | None:
        return string_value(self.src, self.props.get(key))


class _Chained:
    """A call chain such as `a.string().required().default('x')`, as (name, call) links."""

    links: list[tuple[str, Node]]

    def modifier(self, name: str) -> Node | None:
        """The call of modifier `name` after the head of the chain, if the chain has one."""
        return next((call for link, call in self.links[1:] if link == name), None)


@dataclass
class Field(_Chained):
    name: str
    pair: Node
    links: list[tuple[str, Node]]

    @property
    def type(self) -> str:
        """`string` for a.string(), `hasMany` for a.hasMany(...), `ref` for a.ref(...)."""
        head = self.links[0][0] if self.links else ""
        return head.split(".")[-1]


@dataclass
class Entry(_Chained):
    """A key of `a.schema({...})`: a model, custom type, enum or custom operation."""

    name: str
    kind: str
    pair: Node
    links: list[tuple[str, Node]]
    fields: dict[str, Field] = field(default_factory=dict)
    src: Source | None = None  # the file that defines it (a model may live in its own file)


@dataclass
class Schema:
    src: Source
    node: Node
    entries: dict[str, Entry]
    links: list[tuple[str, Node]]

    @property
    def models(self) -> dict[str, Entry]:
        return {k: e for k, e in self.entries.items() if e.kind == "model"}


@dataclass
class Rule:
    """One authorization rule: `allow.owner().to([...])` is Rule("owner", ...)."""

    name: str
    call: Node
    links: list[tuple[str, Node]]


@dataclass
class Backend:
    src: Source
    call: Node
    var: str | None
    keys: dict[str, Node]


def _loads_jsonc(text: str) -> dict:
    """JSON with comments and trailing commas, as tsconfig.json allows."""
    out, i, in_str = [], 0, False
    while i < len(text):
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    cleaned = re.sub(r",(\s*[}\]])", r"\1", "".join(out))
    value = json.loads(cleaned) if cleaned.strip() else {}
    return value if isinstance(value, dict) else {}


def read_json(path: Path) -> dict | None:
    try:
        return _loads_jsonc(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None


def rules_of(src: Source, callback: Node | None) -> list[Rule]:
    """The rules returned by an `(allow) => [...]` callback."""
    body = arrow_body(callback)
    if body is None or body.type != "array":
        return []
    rules = []
    for element in body.named_children:
        links = chain(src, element)
        if links:
            head = links[0][0]
            rules.append(Rule(head.split(".", 1)[-1] if "." in head else head, links[0][1], links))
    return rules


class Project:
    """Everything the checks read, parsed once."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise BadInputError(f"{root} is not a folder", "pass the folder that holds amplify/ and package.json")
        self.root = root.resolve()
        self.amplify_dir = self.root / "amplify"
        self.sources: dict[str, Source] = {}
        self.frontend: dict[str, Source] = {}
        self._texts: dict[str, str | None] = {}
        self._load_sources()

    # ------------------------------------------------------------ files

    def _code_files(self, base: Path) -> list[Path]:
        found: list[Path] = []
        stack = [base]
        while stack and len(found) < MAX_FILES:
            folder = stack.pop()
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir() and not entry.is_symlink():
                    if entry.name not in SKIP_DIRS and not (entry.name.startswith(".") and entry.name != ".storybook"):
                        stack.append(entry)
                elif entry.suffix in CODE_SUFFIXES and not entry.name.endswith(".d.ts"):
                    found.append(entry)
        return found

    def _load_sources(self) -> None:
        for path in self._code_files(self.root):
            rel = path.relative_to(self.root).as_posix()
            src = parse_file(path, rel)
            if src is None:
                continue
            if rel.startswith("amplify/"):
                self.sources[rel] = src
            else:
                self.frontend[rel] = src

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def text(self, name: str) -> str | None:
        """A project file's text (cached), None when it cannot be read."""
        if name not in self._texts:
            try:
                self._texts[name] = (self.root / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._texts[name] = None
        return self._texts[name]

    @cached_property
    def package_json(self) -> dict:
        return read_json(self.root / "package.json") or {}

    @cached_property
    def tsconfig(self) -> dict | None:
        return read_json(self.root / "tsconfig.json")

    @cached_property
    def amplify_yml(self) -> str | None:
        return self.text("amplify.yml")

    @cached_property
    def gitignore(self) -> list[str]:
        text = self.text(".gitignore") or ""
        return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]

    @property
    def is_gen2(self) -> bool:
        return self.amplify_dir.is_dir() and bool(self.sources)

    @cached_property
    def preview(self) -> bool:
        """@aws-amplify/backend before 1.0: the Gen 2 preview, whose schema API differs."""
        from .packages import locked_version

        version = locked_version(self, "@aws-amplify/backend")
        return version is not None and version < (1, 0, 0)

    # ------------------------------------------------------------ imports

    def resolve_module(self, src: Source, module: str) -> Source | None:
        if not module.startswith("."):
            return None
        base = (src.path.parent / module).resolve()
        stem = base.with_suffix("") if base.suffix in (".js", ".mjs", ".ts") else base
        for candidate in (base, *(stem.with_suffix(s) for s in (".ts", ".tsx", ".js", ".mjs")),
                          *(base / f"index{s}" for s in (".ts", ".js"))):
            try:
                rel = candidate.relative_to(self.root).as_posix()
            except ValueError:
                continue
            found = self.sources.get(rel) or self.frontend.get(rel)
            if found is not None and candidate.is_file():
                return found
        return None

    def reachable(self, start: Source) -> list[Source]:
        """``start`` and every project file it imports, directly or not."""
        seen = {start.rel: start}
        queue = [start]
        while queue:
            current = queue.pop()
            for module, _, _, _ in imports(current):
                found = self.resolve_module(current, module)
                if found is not None and found.rel not in seen:
                    seen[found.rel] = found
                    queue.append(found)
        return list(seen.values())

    # ------------------------------------------------------------ resources

    @cached_property
    def resources(self) -> list[Resource]:
        found = []
        for src in self.sources.values():
            for declarator in walk(src.root):
                if declarator.type != "variable_declarator":
                    continue
                value = unwrap(declarator.child_by_field_name("value"))
                if value is not None and value.type == "call_expression" and callee_name(src, value) in DEFINERS:
                    name = src.text(declarator.child_by_field_name("name"))
                    found.append(Resource(DEFINERS[callee_name(src, value)], name, src, value))
        return found

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def resolve(self, src: Source, local: str) -> Resource | None:
        """The resource an identifier in ``src`` stands for, following imports."""
        for res in self.resources:
            if res.src is src and res.var == local:
                return res
        for module, _, _, node in imports(src):
            for spec in (n for n in walk(node) if n.type == "import_specifier"):
                alias = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                if src.text(alias) != local:
                    continue
                target = self.resolve_module(src, module)
                original = src.text(spec.child_by_field_name("name"))
                return next((r for r in self.resources if r.var == original and (target is None or r.src is target)),
                            None)
        same = [r for r in self.resources if r.var == local]
        return same[0] if len(same) == 1 else None

    @cached_property
    def backend(self) -> Backend | None:
        for src in sorted(self.sources.values(), key=lambda s: (s.rel != "amplify/backend.ts", s.rel)):
            for call in calls(src, src.root, "defineBackend"):
                var = None
                parent = call.parent
                if parent is not None and parent.type == "variable_declarator":
                    var = src.text(parent.child_by_field_name("name"))
                options = args(call)[0] if args(call) else None
                return Backend(src, call, var, object_pairs(src, options))
        return None

    def registered(self) -> set[int]:
        """ids of the resources listed in defineBackend."""
        backend = self.backend
        if backend is None:
            return set()
        found = set()
        for node in backend.keys.values():
            res = self.resolve(backend.src, backend.src.text(node))
            if res is not None:
                found.add(id(res))
        return found

    @cached_property
    def used_in(self) -> dict[int, str]:
        """Resources named in another amplify/ file than their own and the backend: id -> that file."""
        found: dict[int, str] = {}
        skip = self.backend.src.rel if self.backend else None
        for src in self.sources.values():
            if src.rel == skip:
                continue
            local = {name for _, names, _, _ in imports(src) for name in names}
            for node in walk(src.root):
                if node.type in ("identifier", "shorthand_property_identifier") and src.text(node) in local \
                        and not _inside(node, "import_statement"):
                    res = self.resolve(src, src.text(node))
                    if res is not None and res.src is not src:
                        found.setdefault(id(res), src.rel)
        return found

    # ------------------------------------------------------------ functions

    def entry_source(self, fn: Resource) -> Source | None:
        entry = fn.prop_str("entry") or ENTRY_DEFAULT
        return self.resolve_module(fn.src, entry if entry.startswith(".") else f"./{entry}")

    def function_code(self, fn: Resource) -> list[Source]:
        entry = self.entry_source(fn)
        return [] if entry is None else self.reachable(entry)

    def function_refs(self, src: Source, node: Node, *callees: str) -> list[tuple[Resource, Node]]:
        """Functions named as the first argument of the given calls below ``node``."""
        found = []
        for call in calls(src, node, *callees):
            first = unwrap(args(call)[0]) if args(call) else None
            if first is not None and first.type == "identifier":
                res = self.resolve(src, src.text(first))
                if res is not None and res.kind == "function":
                    found.append((res, call))
        return found

    @cached_property
    def data_access(self) -> dict[int, Node]:
        """Functions with allow.resource(fn) in a data schema: id(function) -> the rule."""
        granted: dict[int, Node] = {}
        for schema in self.schemas:
            auth = next((call for name, call in schema.links[1:] if name == "authorization"), None)
            if auth is not None:
                for res, call in self.function_refs(schema.src, auth, ".resource"):
                    granted[id(res)] = call
        return granted

    @cached_property
    def data_handlers(self) -> dict[int, Node]:
        """Functions used as resolvers: a.handler.function(fn)."""
        found: dict[int, Node] = {}
        for schema in self.schemas:
            for res, call in self.function_refs(schema.src, schema.src.root, "a.handler.function"):
                found[id(res)] = call
        return found

    @cached_property
    def auth_triggers(self) -> dict[int, tuple[str, Node]]:
        """Functions used as auth triggers: id(function) -> (trigger name, the pair)."""
        found: dict[int, tuple[str, Node]] = {}
        for auth in self.of_kind("auth"):
            for trigger, pair in pair_nodes(auth.src, auth.props.get("triggers")).items():
                value = unwrap(pair.child_by_field_name("value")) if pair.type == "pair" else pair
                res = self.resolve(auth.src, auth.src.text(value)) if value is not None else None
                if res is not None:
                    found[id(res)] = (trigger, pair)
        return found

    @cached_property
    def auth_access(self) -> dict[int, Node]:
        found: dict[int, Node] = {}
        for auth in self.of_kind("auth"):
            access = auth.props.get("access")
            if access is not None:
                for res, call in self.function_refs(auth.src, access, ".resource"):
                    found[id(res)] = call
        return found

    # ------------------------------------------------------------ data schema

    @cached_property
    def schemas(self) -> list[Schema]:
        from .schema import read_schemas

        return read_schemas(self)

    def definition(self, src: Source, name: str) -> tuple[Source, Node] | None:
        """The value of `const name = ...` in ``src``, or of the export it imports under that name."""
        for node in src.root.named_children:
            target = node.named_children[0] if node.type == "export_statement" and node.named_children else node
            if target.type in ("lexical_declaration", "variable_declaration"):
                for declarator in (d for d in target.named_children if d.type == "variable_declarator"):
                    if src.text(declarator.child_by_field_name("name")) == name:
                        value = declarator.child_by_field_name("value")
                        return (src, value) if value is not None else None
        for module, _, _, node in imports(src):
            for spec in (n for n in walk(node) if n.type == "import_specifier"):
                alias = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                target_src = self.resolve_module(src, module) if src.text(alias) == name else None
                if target_src is not None and target_src is not src:
                    return self.definition(target_src, src.text(spec.child_by_field_name("name")))
        return None

    @cached_property
    def secrets(self) -> list[tuple[str, Source, Node]]:
        found = []
        for src in self.sources.values():
            for call in calls(src, src.root, "secret"):
                name = string_value(src, args(call)[0]) if args(call) else None
                if name:
                    found.append((name, src, call))
        return found


def _inside(node: Node, kind: str) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == kind:
            return True
        parent = parent.parent
    return False
