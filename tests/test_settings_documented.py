"""Every setting the code reads is in the README's table, and every one the table names is read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READ = re.compile(r"""env(?:_bool|_int)?\(\s*["']([A-Z0-9_]+)["']|IPPLEDGE_([A-Z0-9_]+)""")
TEST_ONLY = {"CHROMIUM"}  # read by the browser tests, documented with them
PATTERNS = {"LIMIT_"}  # IPPLEDGE_LIMIT_<NAME>, documented as a family


def _read() -> set[str]:
    names = set()
    for path in (ROOT / "src" / "ippledge").rglob("*.py"):
        for a, b in READ.findall(path.read_text(encoding="utf-8")):
            names.add(a or b)
    return {n for n in names if not any(n.startswith(p) for p in PATTERNS) and not n.endswith("_")}


def _documented() -> set[str]:
    table = (ROOT / "README.md").read_text(encoding="utf-8")
    return {n for n in re.findall(r"IPPLEDGE_([A-Z0-9_]+)", table) if not n.endswith("_")} - TEST_ONLY


def test_every_setting_read_is_documented():
    assert sorted(_read() - _documented()) == []


def test_every_documented_setting_is_read():
    assert sorted(_documented() - _read()) == []
