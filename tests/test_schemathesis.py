"""Schemathesis over the whole OpenAPI, in process, as an anonymous caller, a bank officer and a platform
admin: no answer may be a server error (issue 9, point 10).

Each operation gets a few derandomised examples (schema-valid data with real path parameters from a
small world, schema-valid data with generated ones, and schema-violating data), so a CI run is
reproducible and bounded in time.  Every request runs in a savepoint that is rolled back, so each
reported failure reproduces as one request against the world alone.  Only ``not_a_server_error`` is
checked: response conformance is not this test's business.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup

from ippledge.wsgi import application

from .schemathesis_world import build_world

pytestmark = pytest.mark.django_db

OPENAPI = "/api/v1/openapi.json"
MAX_EXAMPLES = 6  # per operation and user
MAX_REPORTED_PER_OPERATION = 3  # distinct causes


@dataclass
class ServerError:
    who: str
    method: str
    path: str
    status: int
    request: str
    traceback: str

    def __str__(self):
        return f"[{self.who}] {self.method} {self.path} → {self.status}\n    {self.request}\n{self.traceback}"


class _Tracebacks(logging.Handler):
    """Keeps the exceptions logged while a request runs (ippledge.api's and django.request's)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)

    def last_frames(self, frames: int = 3) -> tuple[str, str]:
        """The platform's last frames of the logged exception, and a key telling one cause from another."""
        if not self.records:
            return "    (no exception was logged)", ""
        exc_type, exc, tb = self.records[-1].exc_info
        stack = traceback.extract_tb(tb)
        ours = [f for f in stack if "/ippledge/" in f.filename] or stack
        lines = [f"    {f.filename.rsplit('/ippledge/', 1)[-1]}:{f.lineno} in {f.name}: {f.line}" for f in ours[-frames:]]
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        last = ours[-1] if ours else None
        key = f"{exc_type.__name__}@{last.filename}:{last.lineno}" if last else exc_type.__name__
        return "\n".join([*lines, f"    {exc_type.__name__}: {message}"]), key


def in_process(environ, start_response):
    """The platform's WSGI application, except that a request does not close the test's database
    connection (Django's test client does the same): the test's transaction holds the world."""
    request_started.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        request_finished.disconnect(close_old_connections)
        try:
            body = b"".join(response)
            response.close()
        finally:
            request_finished.connect(close_old_connections)
    finally:
        request_started.connect(close_old_connections)
    return [body]


@pytest.fixture
def tracebacks():
    handler = _Tracebacks()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def _strategies(operation, world):
    """Schema-valid data with generated and with real path parameters, and schema-violating data."""
    strategies = [operation.as_strategy()]
    real = world.path_parameters([p.name for p in operation.path_parameters])
    if real:
        strategies.append(operation.as_strategy(path_parameters=real))
    strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _run_operation(operation, world, who, token, tracebacks) -> list[ServerError]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = operation.method.upper()
    found: list[ServerError] = []
    causes: set[str] = set()

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=_strategies(operation, world))
    def examples(case):
        tracebacks.records.clear()
        with transaction.atomic():  # rolled back: each request meets the world as it was built
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        try:
            case.validate_response(response, checks=[not_a_server_error], headers=headers)
        except FailureGroup:
            frames, cause = tracebacks.last_frames()
            if cause not in causes and len(found) < MAX_REPORTED_PER_OPERATION:  # one example per cause
                causes.add(cause)
                found.append(ServerError(who, method, operation.path, response.status_code,
                                         case.as_curl_command(headers=headers), frames))

    try:
        examples()
    except Exception as exc:  # noqa: BLE001 - the harness itself failed on this operation: say so
        found.append(ServerError(who, method, operation.path, 0, "(the harness failed)",
                                 f"    {type(exc).__name__}: {str(exc)[:500]}"))
    return found


@pytest.mark.parametrize("who", ["anonymous", "bank_officer", "admin"])
@override_settings(PUBLIC_RATE_LIMIT=0)  # hundreds of requests from one address; the limiter has its own tests
def test_no_server_errors(who, tracebacks):
    started = time.monotonic()
    world = build_world()
    token = world.token(who)
    schema = schemathesis.openapi.from_wsgi(OPENAPI, in_process)
    only = os.environ.get("IPPLEDGE_SCHEMATHESIS_PATHS")  # e.g. "/lpr": run the operations under it only
    found: list[ServerError] = []
    timings = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if only and only not in operation.path:
            continue
        begun = time.monotonic()
        found += _run_operation(operation, world, who, token, tracebacks)
        timings.append((time.monotonic() - begun, label))
    slowest = ", ".join(f"{label} {t:.1f}s" for t, label in sorted(timings, reverse=True)[:3])
    print(f"{who}: {len(timings)} operations in {time.monotonic() - started:.0f}s; slowest: {slowest}")
    if found:
        pytest.fail(f"{len(found)} server errors as {who}:\n\n" + "\n\n".join(map(str, found)), pytrace=False)
