"""Permission matrix: every API route × every role (and anonymous).

Each route states who may use it; a route missing from the table fails the suite, so new routes
must declare their access rule here.
"""

from __future__ import annotations

import pytest

from ippledge.api import api
from ippledge.core.roles import ROLE_ORG_KINDS, Role

from .conftest import Api

pytestmark = pytest.mark.django_db

ANYONE = "anyone"          # anonymous included
LOGGED_IN = "logged_in"    # any authenticated user
ADMIN = {"admin"}
REGISTRAR = {"admin", "registrar"}
DENIED = {"not_authenticated", "permission_denied"}

RIGHT = "invention/ZL201410362077.3"
# (method, path template as in OpenAPI, concrete path, body, who)
ROUTES = [
    ("post", "/api/v1/auth/token", "/auth/token", {"username": "nobody", "password": "x"}, ANYONE),
    ("get", "/api/v1/me", "/me", None, LOGGED_IN),
    ("post", "/api/v1/orgs", "/orgs", {"name": "矩阵测试", "kind": "enterprise"}, ADMIN),
    ("get", "/api/v1/orgs", "/orgs", None, LOGGED_IN),
    ("get", "/api/v1/orgs/{org_id}", "/orgs/{own_org}", None, LOGGED_IN),
    ("post", "/api/v1/users", "/users", {"username": "m-{role}", "password": "Matrix-pass-1!", "org_id": "{ent_org}",
                                         "roles": ["enterprise_user"]}, ADMIN),
    ("get", "/api/v1/admin/business-date", "/admin/business-date", None, LOGGED_IN),
    ("put", "/api/v1/admin/business-date", "/admin/business-date", {"date": None}, ADMIN),
    ("post", "/api/v1/admin/eod", "/admin/eod", {}, ADMIN),
    ("get", "/api/v1/admin/eod", "/admin/eod", None, ADMIN),
    ("post", "/api/v1/ip-rights", "/ip-rights", {"kind": "invention", "number": "ZL202011472880.4", "owners": [
        {"name": "矩阵公司", "id_type": "uscc", "id_number": "914403001922038216"}], "filing_date": "2020-12-15"},
     REGISTRAR),
    ("get", "/api/v1/ip-rights", "/ip-rights?q=2014", None, LOGGED_IN),
    ("get", "/api/v1/ip-rights/{kind}/{number}", f"/ip-rights/{RIGHT}", None, LOGGED_IN),
    ("post", "/api/v1/ip-rights/{kind}/{number}/events", f"/ip-rights/{RIGHT}/events",
     {"type": "licensed", "date": "2020-01-01"}, REGISTRAR),
    ("get", "/api/v1/public/ip-rights/{kind}/{number}", f"/public/ip-rights/{RIGHT}", None, ANYONE),
]


def test_every_route_is_in_the_matrix():
    schema = api.get_openapi_schema()
    declared = {(m, p) for m, p, *_ in ROUTES}
    actual = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert actual - declared == set(), "add these routes to the permission matrix"


def _allowed(who, role):
    if who == ANYONE:
        return True
    if role is None:
        return False
    if who == LOGGED_IN:
        return True
    return role in who


@pytest.mark.parametrize("role", [None, *Role.values])
def test_matrix(role, make_user, make_org):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM
    from ippledge.rights import services as rights

    ent = make_org("enterprise", name="矩阵企业")
    rights.create_right(actor=SYSTEM, data={"kind": "invention", "number": RIGHT.split("/")[1], "owners": [
        {"name": "矩阵公司", "id_type": "uscc", "id_number": "914403001922038216"}],
        "filing_date": "2014-07-28", "grant_date": "2016-01-01"})
    client, own_org = Api(), None
    if role is not None:
        kind = "platform_operator" if role == "admin" else sorted(ROLE_ORG_KINDS[role])[0]
        if role == "registrar":
            kind = "ip_office"
        user = make_user(role, kind)
        own_org = user.organisation_id
        client = Api(services.issue_token(user=user))
    for method, _template, path, body, who in ROUTES:
        path = path.replace("{own_org}", str(own_org or ent.pk))
        if isinstance(body, dict):
            body = {k: (v.replace("{role}", str(role)) if isinstance(v, str) else v) for k, v in body.items()}
            if body.get("org_id") == "{ent_org}":
                body["org_id"] = ent.pk
        r = client.call(method, path, body)
        if _allowed(who, role):
            code = ((r.data or {}).get("error") or {}).get("code") if isinstance(r.data, dict) else None
            assert code not in DENIED, (method, path, role, r.status_code, r.data)
        else:
            expected = 401 if role is None else 403
            assert r.status_code == expected, (method, path, role, r.status_code, r.data)
            assert r.data["error"]["code"] in DENIED
