"""Write docs/settings-reference.md from the code: every environment variable the settings read,
its default and the comment above it. `make settings-reference` runs it; a test fails when the
committed page differs from what this prints, so the page can never go stale.

Reads the settings modules as source (ast), without importing them: the defaults are shown as
written, and nothing in the environment of the machine that runs it leaks into the page.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "revivatech" / "settings"
OUT = ROOT / "docs" / "settings-reference.md"
READERS = {"env_str": "text", "env_int": "integer", "env_bool": "boolean", "env_list": "list"}

HEADER = """# Settings reference

Generated from `revivatech/settings/` by `make settings-reference` (a test fails when this page is
stale): every environment variable the settings read, its type, its default as written in the code,
and the comment above it. [Settings](settings.md) explains the ones a deployment chooses.
"""


def _comment_above(lines: list[str], lineno: int) -> str:
    notes = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        notes.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(notes)


def _default(call: ast.Call, reader: str) -> str:
    node = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "default":
            node = keyword.value
    if node is None:
        return {"env_str": '""', "env_bool": "False"}.get(reader, "")
    return ast.unparse(node)


def collect(path: Path) -> list[tuple[str, str, str, str]]:
    source = path.read_text()
    lines = source.splitlines()
    rows, seen = [], set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in READERS):
            continue
        if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        name = node.args[0].value
        if name in seen:
            continue
        seen.add(name)
        default = _default(node, node.func.id).replace("|", "\\|")
        note = _comment_above(lines, node.lineno).replace("|", "\\|")
        rows.append((node.lineno, name, READERS[node.func.id], default, note))
    return [row[1:] for row in sorted(rows)]


def render() -> str:
    parts = [HEADER]
    for path in sorted(SETTINGS.glob("*.py")):
        rows = collect(path)
        if not rows:
            continue
        parts.append(
            f"\n## `{path.relative_to(ROOT)}`\n\n| variable | type | default | note |\n|---|---|---|---|"
        )
        for name, kind, default, note in rows:
            parts.append(
                f"| `{name}` | {kind} | `{default}` | {note} |"
                if default
                else f"| `{name}` | {kind} | | {note} |"
            )
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)
