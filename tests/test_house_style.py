"""House style that a test can hold: one place for each rule (scans of the source files)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "outreach"
TIMEZONE_MODULE = PACKAGE / "timezone.py"


def _sources(root: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _text_files(root: Path = PACKAGE) -> list[Path]:
    """Every text file of the package: code, templates, scripts (binary files skipped)."""
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def _where(path: Path, text: str, match: re.Match[str]) -> str:
    line = text.count("\n", 0, match.start()) + 1
    return f"{path.relative_to(PACKAGE.parent)}:{line}: {match.group(0)}"


def test_the_time_zone_is_named_in_one_module():
    # outreach/timezone.py owns PARIS; everything else imports it (or campaigns.schedule's
    # re-export), so that the pages, the scheduler and the domain cannot disagree on the day.
    pattern = re.compile(r"Europe/Paris|ZoneInfo\(")
    found = [
        _where(path, text, m)
        for path in _text_files()
        if path != TIMEZONE_MODULE
        for text in [path.read_text(encoding="utf-8")]
        for m in pattern.finditer(text)
    ]
    assert found == [], "import PARIS from outreach.timezone instead:\n" + "\n".join(found)
    assert 'ZoneInfo("Europe/Paris")' in TIMEZONE_MODULE.read_text(encoding="utf-8")


def test_the_clock_is_never_read_without_a_time_zone():
    # The server's local clock is not the users' day: read now(UTC) and convert with PARIS.
    pattern = re.compile(
        r"\b(?:datetime\.now\(\)|datetime\.utcnow\(|datetime\.today\(|date\.today\()"
    )
    found = [
        _where(path, text, m)
        for path in _sources()
        for text in [path.read_text(encoding="utf-8")]
        for m in pattern.finditer(text)
    ]
    assert found == [], "use datetime.now(UTC) and campaigns.schedule.paris_today:\n" + "\n".join(
        found
    )


def test_job_modules_are_named_jobs():
    # A Task is a domain noun (one planned contact); scheduled jobs live in <domain>/jobs.py.
    assert [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("tasks.py")] == []
    registry = (PACKAGE / "scheduling" / "registry.py").read_text(encoding="utf-8")
    for module in re.findall(r"import (outreach\.[\w.]+)", registry):
        assert module.endswith(".jobs"), module


def _record_calls(path: Path) -> list[tuple[int, str | None]]:
    """(line, action) of each call to ``record(...)`` in a module; action None if not a literal."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
            action = next((k.value for k in node.keywords if k.arg == "action"), None)
            literal = action.value if isinstance(action, ast.Constant) else None
            calls.append((node.lineno, literal))
    return calls


def test_audit_events_are_written_by_operations_not_by_handlers():
    # The page and the command line must leave the same trail: a write's audit event belongs
    # to the operation. Handlers may only log who opened a page ("view"), an HTTP matter.
    handlers = [*_sources(PACKAGE / "web"), PACKAGE / "cli.py"]
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: action={action!r}"
        for path in handlers
        for line, action in _record_calls(path)
        if action != "view"
    ]
    assert found == [], "move these record() calls into the operation:\n" + "\n".join(found)
