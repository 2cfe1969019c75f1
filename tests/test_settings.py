"""Settings do what the README says, whoever imports them (issue 10, point 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _data_dir(cwd: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("IPPLEDGE_") and k != "DJANGO_SETTINGS_MODULE"}
    code = "import pytest, ippledge.settings as s; print(s.DATA_DIR)"  # pytest imported on purpose
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**base, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_importing_pytest_does_not_move_the_data_directory(tmp_path):
    assert _data_dir(tmp_path) == str((tmp_path / "var").resolve())


def test_an_explicit_data_directory_wins(tmp_path):
    assert _data_dir(tmp_path, IPPLEDGE_DATA_DIR=str(tmp_path / "elsewhere")) == str(tmp_path / "elsewhere")


def test_the_suite_runs_over_a_throwaway_directory():
    from django.conf import settings

    assert Path(settings.DATA_DIR).resolve() != (Path.cwd() / "var").resolve()
