"""The front door stays a front door: README.md within its size limit, and what README.md and bench/README.md point
at exists — relative links (and their #anchors), repository paths in backticks, the commands in code blocks (their
scripts and files, and `python -m core` lines parse with the real parser), and the map of the code names every
package and module."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from support.paths import ROOT

README = ROOT / "README.md"
DOCS = [README, ROOT / "bench" / "README.md"]
README_LIMIT = 25_000  # bytes; bench details belong in bench/README.md

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SHELL_FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
TOP_LEVEL = {"app.py", "core", "components", "pages", "lessons", "tests", "bench", "docs", ".ci", ".streamlit",
             "requirements.txt", "requirements-dev.txt", "pyproject.toml"}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not - or _), spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _prose(path: Path) -> str:
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _command_lines(path: Path) -> list[str]:
    """Every line of every bash block, continuation lines joined, comments and redirections dropped."""
    lines: list[str] = []
    for block in SHELL_FENCE.findall(path.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s#.*$", "", line).strip()
            line = re.sub(r"\s>\s*\S+$", "", line)
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _words(line: str) -> list[str]:
    return shlex.split(re.sub(r"<[^>]*>", "X", line))  # runs/<run id> is a placeholder


def test_readme_stays_within_its_size_limit():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, (
        f"README.md is {size:,} bytes (limit {README_LIMIT:,}); move details to bench/ or the docs"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_in_backticks_exist(doc):
    missing = []
    for span in re.findall(r"`([^`\s]+)`", _prose(doc)):
        path = span.rstrip("/")
        if "<" in path or path.split("/")[0] not in TOP_LEVEL or "/" not in span:
            continue
        if not (ROOT / path).exists():
            missing.append(span)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_in_code_blocks_name_real_files_and_flags(doc):
    from core.cli.entry import build_parser

    problems = []
    for line in _command_lines(doc):
        words = _words(line)
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words = words[1:]  # KERAS_BACKEND=torch ...
        if not words:
            continue
        if words[:3] in (["python", "-m", "core"], [".venv/bin/python", "-m", "core"]):
            try:
                build_parser().parse_args(words[3:])
            except Exception as exc:  # UsageError: an unknown command or flag
                problems.append(f"{line}: {exc}")
            continue
        if words[:3] == [".venv/bin/python", "-m", "pytest"]:
            for word in words[3:]:
                if word.startswith("tests/") and not (ROOT / word.split("::")[0]).exists():
                    problems.append(f"{line}: no {word}")
            continue
        scripts = [word for word in words if word.endswith(".py") or word.endswith(".txt")]
        for script in scripts:
            if not (ROOT / script).exists():
                problems.append(f"{line}: no {script}")
            elif script.startswith("bench/"):
                source = (ROOT / script).read_text(encoding="utf-8")
                for flag in (word.split("=")[0] for word in words if word.startswith("--")):
                    if f'"{flag}"' not in source:
                        problems.append(f"{line}: {script} has no {flag}")
    assert not problems, "\n".join(problems)


def test_the_pytest_markers_the_readme_names_are_declared():
    import tomllib

    markers = tomllib.loads(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    )["tool"]["pytest"]["ini_options"]["markers"]
    declared = {marker.split(":")[0].strip() for marker in markers}
    for line in _command_lines(README):
        expression = re.search(r'-m "([^"]+)"', line)
        if expression:
            named = set(re.findall(r"\w+", expression.group(1))) - {"not", "and", "or"}
            assert named <= declared, f"{line}: undeclared markers {named - declared}"


def test_the_map_of_the_code_names_every_package_and_module():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Map of the code"):]
    section = section[: section.index("\n## ", 1)]
    unnamed = []
    for root in ("core", "components"):
        for path in sorted((ROOT / root).rglob("*.py")):
            if path.name == "__init__.py":
                name = path.parent.name  # the package itself
            else:
                name = path.stem
            if not re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", section):
                unnamed.append(str(path.relative_to(ROOT)))
    assert not unnamed, f"README's map of the code does not name: {unnamed}"
