"""Checks on package.json, lockfiles, tsconfig.json, amplify.yml and the frontend entry."""

from __future__ import annotations

import fnmatch
import re
from typing import Iterator

from .parse import args, calls, imports, string_value
from .packages import declared, locked_version, parse_version, range_minimum
from .project import Project
from .registry import Hit, Severity, check, diff

NODE_WINDOWS = (((18, 19), (19, 0)), ((20, 6), (21, 0)), ((22, 0), (999, 0)))
NVM_RE = re.compile(r"\bnvm (?:use|install)\s+v?(\d+(?:\.\d+)*)")
TYPE_CHECKING_BUILD_RE = re.compile(r"\b(tsc|vue-tsc|next build|ng build|nuxi? typecheck|astro check|svelte-check)\b")
GENERATES_OUTPUTS_RE = re.compile(r"ampx\s+(pipeline-deploy|generate\s+outputs)")


def node_supported(version: tuple[int, int, int]) -> bool:
    return any(low <= version[:2] < high for low, high in NODE_WINDOWS)


def _line_of(text: str, needle: str) -> int | None:
    for number, content in enumerate(text.splitlines(), 1):
        if needle in content:
            return number
    return None


@check("node-version-too-old", Severity.ERROR, "node-version-not-supported", on_preview=True)
def node_version(project: Project) -> Iterator[Hit]:
    if not project.is_gen2:
        return
    spec = (project.package_json.get("engines") or {}).get("node")
    if isinstance(spec, str):
        low = range_minimum(spec)
        if low is not None and not node_supported(low):
            severity = Severity.ERROR if low < (18, 0, 0) else Severity.WARNING
            yield Hit(f"engines.node '{spec}' admits Node {'.'.join(map(str, low))}; Amplify Gen 2 needs "
                      "^18.19.0 || ^20.6.0 || >=22", "package.json", _line_of(project.text("package.json") or "", '"node"'),
                      severity=severity)
    for name in (".nvmrc", ".node-version"):
        text = (project.text(name) or "").strip().removeprefix("v")
        if text[:1].isdigit() and not _selected_ok(text):
            yield Hit(f"{name} selects Node {text}; Amplify Gen 2 needs ^18.19.0 || ^20.6.0 || >=22", name, 1)
    for match in NVM_RE.finditer(project.amplify_yml or ""):
        if not _selected_ok(match.group(1)):
            yield Hit(f"amplify.yml runs `{match.group(0)}`; Amplify Gen 2 needs Node ^18.19.0 || ^20.6.0 || >=22",
                      "amplify.yml", _line_of(project.amplify_yml or "", match.group(0)))


def _selected_ok(text: str) -> bool:
    """A version given to nvm: a bare major ('20') selects that major's newest release."""
    version = parse_version(text)
    if version is None:
        return True
    if "." not in text:
        return version[0] in (18, 20) or version[0] >= 22
    return node_supported(version)


# ------------------------------------------------------------------ package versions

def _show(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


@check("backend-cli-version-mismatch", Severity.ERROR, "backend-package-version-mismatch", on_preview=True)
def backend_versions(project: Project) -> Iterator[Hit]:
    if declared(project, "@aws-amplify/backend") is None:
        return
    line = _line_of(project.text("package.json") or "", '"@aws-amplify/backend"')
    if declared(project, "@aws-amplify/backend-cli") is None:
        yield Hit("@aws-amplify/backend is installed without @aws-amplify/backend-cli (npx ampx); add it with "
                  "`npm add --save-dev @aws-amplify/backend-cli`", "package.json", line, severity=Severity.WARNING)
        return
    backend, cli = locked_version(project, "@aws-amplify/backend"), locked_version(project, "@aws-amplify/backend-cli")
    if backend and cli and backend[0] != cli[0]:
        yield Hit(f"@aws-amplify/backend {_show(backend)} and @aws-amplify/backend-cli {_show(cli)} are different major "
                  "versions; update both: `npm add --save-dev @aws-amplify/backend@latest @aws-amplify/backend-cli@latest`",
                  "package.json", line)


@check("aws-amplify-too-old", Severity.ERROR, "outputs-outputs-version-mismatch", on_preview=True)
def aws_amplify_version(project: Project) -> Iterator[Hit]:
    if not project.is_gen2 or declared(project, "aws-amplify") is None or next(_outputs_imports(project), None) is None:
        return
    version = locked_version(project, "aws-amplify")
    if version is not None and version < (6, 2, 0):
        yield Hit(f"aws-amplify {_show(version)} cannot read amplify_outputs.json; Gen 2 needs 6.2.0 or later: "
                  "`npm add aws-amplify@latest`", "package.json",
                  _line_of(project.text("package.json") or "", '"aws-amplify"'))


@check("backend-preview-version", Severity.WARNING, "backend-package-version-mismatch", on_preview=True)
def preview_version(project: Project) -> Iterator[Hit]:
    if not project.preview:
        return
    version = locked_version(project, "@aws-amplify/backend")
    yield Hit(f"@aws-amplify/backend {_show(version)} is the Gen 2 preview: its schema API (a.allow, relationships "
              "without reference fields) is not the one current docs describe, so the schema and function checks "
              "were skipped. Upgrade: `npm add --save-dev @aws-amplify/backend@latest @aws-amplify/backend-cli@latest`",
              "package.json", _line_of(project.text("package.json") or "", '"@aws-amplify/backend"'))


# ------------------------------------------------------------------ tsconfig

def _covers_amplify(pattern: str) -> bool:
    pattern = pattern.strip().removeprefix("./")
    return pattern in ("", ".", "*", "**", "amplify") or pattern.startswith(("**", "amplify/")) or \
        fnmatch.fnmatch("amplify/functions/x/handler.ts", pattern)


def _tsconfig_patch(project: Project) -> str | None:
    text = project.text("tsconfig.json")
    if text is None:
        return None
    match = re.search(r'"exclude"\s*:\s*\[', text)
    if match:
        after = text[:match.end()] + '"amplify", ' + text[match.end():]
    else:
        end = text.rstrip().rfind("}")
        body = text[:end].rstrip()
        after = body + (",\n" if not body.endswith("{") else "\n") + '  "exclude": ["node_modules", "amplify"]\n' + text[end:]
    return diff("tsconfig.json", text, after)


@check("frontend-tsconfig-includes-amplify", Severity.ERROR, "amplify-env-module-not-found-frontend-build", on_preview=True)
def tsconfig_includes_amplify(project: Project) -> Iterator[Hit]:
    config = project.tsconfig
    if config is None or not project.is_gen2 or config.get("files") and "include" not in config:
        return
    uses_env = [s for s in project.sources.values() if any(m.startswith("$amplify/") for m, _, _, _ in imports(s))]
    if not uses_env:
        return
    include = config.get("include", ["**/*"])
    excluded = any(str(e).strip("./").split("/")[0] == "amplify" for e in config.get("exclude", []) or [])
    paths = (config.get("compilerOptions") or {}).get("paths") or {}
    if excluded or "$amplify/*" in paths or not any(_covers_amplify(str(p)) for p in include):
        return
    build = str((project.package_json.get("scripts") or {}).get("build", ""))
    next_config = "".join(project.text(f"next.config.{ext}") or "" for ext in ("js", "mjs", "ts"))
    checked = TYPE_CHECKING_BUILD_RE.search(build) is not None and not re.search(r"ignoreBuildErrors:\s*true", next_config)
    yield Hit(f"tsconfig.json type-checks amplify/ too, where {uses_env[0].rel} imports $amplify/env; "
              + (f"`{build}` then fails" if checked else "a type check then fails")
              + " with \"Cannot find module '$amplify/env/...'\". Exclude amplify/ (ampx checks it with "
              "amplify/tsconfig.json)", "tsconfig.json", _line_of(project.text("tsconfig.json") or "", '"include"'),
              patch=_tsconfig_patch(project), severity=None if checked else Severity.WARNING)


# ------------------------------------------------------------------ amplify_outputs.json and Amplify.configure

def _outputs_imports(project: Project):
    for src in project.frontend.values():
        for module, _, _, node in imports(src):
            if module.rsplit("/", 1)[-1] in ("amplify_outputs.json", "amplify_outputs"):
                yield src, module, node
        for call in calls(src, src.root, "require"):
            value = string_value(src, args(call)[0]) if args(call) else None
            if value and value.rsplit("/", 1)[-1] == "amplify_outputs.json":
                yield src, value, call


def _outputs_present(project: Project, src, module: str) -> bool:
    if module.startswith("."):
        return (src.path.parent / module).with_suffix(".json").is_file()
    tail = module.split("/", 1)[1] if "/" in module else module
    return any((project.root / base / tail).with_suffix(".json").is_file() for base in ("", "src", "app", "lib"))


def _ignored(project: Project, name: str) -> bool:
    return any(fnmatch.fnmatch(name, p.strip("/")) for p in project.gitignore if not p.startswith("!"))


@check("amplify-outputs-missing", Severity.ERROR, "client-amplify-outputs-json-missing", on_preview=True)
def outputs_missing(project: Project) -> Iterator[Hit]:
    found = next(_outputs_imports(project), None)
    if found is None:
        return
    src, module, node = found
    yml = project.amplify_yml
    generated_in_build = yml is not None and GENERATES_OUTPUTS_RE.search(yml) is not None
    if _ignored(project, "amplify_outputs.json") and yml is not None and not generated_in_build:
        yield Hit(f"{src.rel} imports {module}, which is git-ignored, and amplify.yml never generates it; add "
                  "`npx ampx pipeline-deploy --branch $AWS_BRANCH --app-id $AWS_APP_ID` to the backend phase, or "
                  "`npx ampx generate outputs --branch $AWS_BRANCH --app-id $AWS_APP_ID` for a frontend-only app",
                  "amplify.yml", 1)
    elif not _outputs_present(project, src, module):
        where = "the Hosting build generates it" if generated_in_build else "nothing in the repository generates it"
        yield Hit(f"{src.rel} imports {module}, which does not exist yet ({where}); run `npx ampx sandbox` or "
                  "`npx ampx generate outputs` before building locally", src.rel, node.start_point[0] + 1,
                  severity=Severity.WARNING)


CONFIGURE_CALLS = ("Amplify.configure", "createServerRunner")


@check("amplify-configure-missing", Severity.WARNING, "amplify-not-configured", on_preview=True)
def configure_missing(project: Project) -> Iterator[Hit]:
    users = [s for s in project.frontend.values() if any(m == "aws-amplify" or m.startswith("aws-amplify/")
                                                         for m, _, _, _ in imports(s))]
    if not users or not project.is_gen2:
        return
    if any(next(calls(s, s.root, *CONFIGURE_CALLS), None) is not None for s in project.frontend.values()):
        return
    yield Hit(f"{users[0].rel} uses aws-amplify but no file calls Amplify.configure(outputs); call it once in the app "
              "entry (main.tsx, app/layout.tsx or a client component it renders)", users[0].rel, 1)
