"""Every file path named in the code, the docs and the build files exists, and every relative link in
the docs resolves: a newcomer following a pointer never lands on nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = r"(?:docs|benchmarks|tests|revivatech|repairs|notifications|payments|analytics|templates|static|\.ci)"
EXT = r"(?:md|py|html|js|css|yml|yaml|json|txt)"
PATH = re.compile(rf"(?<![\w/.-]){TOP}/[A-Za-z0-9_./-]*[A-Za-z0-9_]\.{EXT}\b")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
SCANNED = (".py", ".md", ".html", ".js", ".css", ".toml", ".yml", ".txt")


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        ROOT / name
        for name in out
        if (name.endswith(SCANNED) or name in ("Makefile", "Dockerfile"))
        and not name.startswith("static/vendor/")
        and (ROOT / name).is_file()
    ]


#: Template and static names are relative to these folders (an app's own live in <app>/templates/…).
SEARCH = [ROOT, ROOT / "templates", ROOT / "static", *ROOT.glob("*/templates"), *ROOT.glob("*/static")]


def test_every_named_path_exists():
    missing = []
    for path in tracked_files():
        text = path.read_text(errors="replace")
        for match in PATH.finditer(text):
            name = match.group(0)
            if not any((base / name).exists() for base in SEARCH):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, "named but missing:\n" + "\n".join(sorted(set(missing)))


def test_relative_links_in_the_docs_resolve():
    broken = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if not path.exists():
            continue
        for match in LINK.finditer(path.read_text()):
            target = match.group(1)
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_nothing_points_outside_the_repository():
    offenders = [
        str(p.relative_to(ROOT))
        for p in tracked_files()
        if "../" + "shared" in p.read_text(errors="replace") and not str(p).startswith(str(ROOT / ".ci"))
    ]
    assert not offenders, offenders
