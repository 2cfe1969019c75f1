"""The suite's settings: the platform's own, over a throw-away data directory.

Test runs never write into a developer's ``./var``; the platform's settings behave the same whether
or not pytest is imported (an explicit ``IPPLEDGE_DATA_DIR`` still wins)."""

import os
import tempfile

os.environ.setdefault("IPPLEDGE_DATA_DIR", tempfile.mkdtemp(prefix="ippledge-test-"))

from ippledge.settings import *  # noqa: E402,F403

# Tasks run where they are enqueued (the immediate backend), so a test that notifies or imports needs
# no worker.  The queue itself is tested for real in tests/test_tasks_worker.py: its server and
# `ippledge worker --batch` processes (these settings too) get IPPLEDGE_TASK_BACKEND set to the
# database backend, the platform's default.
TASKS = {"default": {"BACKEND": os.environ.get("IPPLEDGE_TASK_BACKEND",
                                               "django_tasks.backends.immediate.ImmediateBackend")}}

# Argon2 costs ~0.1–0.2 s a hash and the suite creates and signs in thousands of users: hashing was
# minutes of every CI run.  The suite hashes with MD5 first; Argon2 stays in the list, so existing
# Argon2 hashes still verify, and the tests of hashing itself (test_security_edge) put it first again.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
