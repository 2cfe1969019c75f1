"""Shared fixtures: organisations and users of every role, and an API client that speaks JSON."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ippledge.core import services
from ippledge.core.actors import SYSTEM

PASSWORD = "Test-pass-2026!"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body: str) -> str:
    """A valid USCC from a 17-character body (GB 32100 check character appended)."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_CHARSET[(31 - total % 31) % 31]


class Api:
    """JSON client for /api/v1 with an optional bearer token."""

    def __init__(self, token: str | None = None):
        self.client = Client()
        self.token = token

    def _headers(self, headers):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def call(self, method: str, path: str, body=None, headers=None):
        kwargs = {"headers": self._headers(headers)}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        response.data = response.json() if response.content and \
            response.headers.get("Content-Type", "").startswith("application/json") else None
        return response

    def get(self, path, **kw):
        return self.call("get", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("post", path, body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.call("put", path, body, **kw)


@pytest.fixture
def make_org(db):
    def make(kind: str, name: str | None = None, uscc: str | None = None):
        return services.create_organisation(actor=SYSTEM, name=name or f"测试{kind}机构", kind=kind, uscc=uscc)
    return make


@pytest.fixture
def make_user(db, make_org):
    orgs = {}

    def make(role: str, org_kind: str | None = None, username: str | None = None, org=None):
        from ippledge.core.roles import ROLE_ORG_KINDS

        kind = org_kind or sorted(ROLE_ORG_KINDS[role])[0]
        if role == "admin":
            kind = "platform_operator"
        if org is None:
            org = orgs.get(kind) or make_org(kind)
            orgs[kind] = org
        return services.create_user(actor=SYSTEM, username=username or f"{role}-{kind}", password=PASSWORD,
                                    org_id=org.pk, roles=[role])
    return make


@pytest.fixture
def api_as(make_user):
    """``api_as("registrar", "ip_office")`` → an Api client holding a token of a fresh user."""

    def make(role: str, org_kind: str | None = None, **kw):
        user = make_user(role, org_kind, **kw)
        return Api(services.issue_token(user=user)), user
    return make


@pytest.fixture
def anon():
    return Api()
