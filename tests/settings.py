"""The suite's settings: the platform's own, over a throw-away data directory.

Test runs never write into a developer's ``./var``; the platform's settings behave the same whether
or not pytest is imported (an explicit ``IPPLEDGE_DATA_DIR`` still wins)."""

import os
import tempfile

os.environ.setdefault("IPPLEDGE_DATA_DIR", tempfile.mkdtemp(prefix="ippledge-test-"))

from ippledge.settings import *  # noqa: E402,F403
