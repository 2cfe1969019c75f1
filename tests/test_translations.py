"""The Chinese catalog is complete, compiled, and covers every translatable string in the code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

import ippledge

PACKAGE = Path(ippledge.__file__).parent
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)s|%s")


def test_every_message_is_translated():
    catalog = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []


def test_placeholders_survive_translation():
    for entry in polib.pofile(str(PO)):
        if entry.msgid_plural:
            # Chinese has one form, used for every count: it reads the plural's placeholders (Django
            # gives a blocktranslate's variables to both forms).
            targets = [(entry.msgid_plural, t) for t in entry.msgstr_plural.values()]
        else:
            targets = [(entry.msgid, entry.msgstr)]
        for source, target in targets:
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), entry.msgid


def test_compiled_catalog_matches_source():
    source = {(e.msgid, e.msgstr) for e in polib.pofile(str(PO)) if not e.msgid_plural}
    compiled = {(e.msgid, e.msgstr) for e in polib.mofile(str(MO)) if not e.msgid_plural and e.msgid}
    assert source == compiled, "run `ippledge compilemessages`"


def test_catalog_covers_the_code(tmp_path):
    """Re-extract the strings with makemessages and compare with the committed catalog."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is required under CI to check the catalog")
        pytest.skip("install GNU gettext (apt-get install gettext) to check the catalog against the code")
    copy = tmp_path / "ippledge"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "IPPLEDGE_DATA_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "ippledge.settings"}
    subprocess.run([sys.executable, "-c", "from ippledge.cli import main; main()", "makemessages", "-l",
                    "zh_Hans", "--no-obsolete", "--ignore=migrations"], cwd=copy, env=env, check=True,
                   capture_output=True)
    fresh = {e.msgid for e in polib.pofile(str(copy / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    committed = {e.msgid for e in polib.pofile(str(PO))}
    assert fresh - committed == set(), "new strings: run makemessages and translate them"
    assert committed - fresh == set(), "stale strings: run makemessages --no-obsolete"


# The names makemessages (xgettext) extracts strings from; a literal passed to any other alias of a
# gettext function is never extracted, so it shows in English and no catalog test notices.
EXTRACTED = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext",
             "pgettext_lazy", "npgettext", "npgettext_lazy"}
ALIAS = re.compile(r"from django\.utils\.translation import (\w+) as (\w+)")


def test_translatable_literals_go_through_names_makemessages_extracts():
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for _original, alias in ALIAS.findall(source):
            if alias not in EXTRACTED and re.search(rf"(?<![\w.]){alias}\(\s*[\"']", source):
                hidden.append(f"{path.relative_to(PACKAGE)}: {alias}(\"...\")")
    assert hidden == [], "call these as gettext_lazy/gettext so makemessages extracts them:\n" + "\n".join(hidden)
