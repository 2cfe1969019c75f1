"""Core API: tokens, the current user, organisations, users, business date, end of day."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Router, Schema

from . import business_date, eod, permissions, services
from .errors import NotFound, ValidationFailed
from .models import EodRun, Organisation, User

router = Router(tags=["platform"])


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class TokenInfoOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    read_only: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_reason: str
    active: bool


class OrgIn(Schema):
    name: str
    kind: str
    uscc: str | None = None
    region_code: str = ""


class OrgOut(Schema):
    id: int
    name: str
    kind: str
    uscc: str | None
    region_code: str


class UserIn(Schema):
    username: str
    password: str
    org_id: int
    roles: list[str]
    display_name: str = ""


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    org_id: int | None
    organisation: OrgOut | None
    roles: list[str]


class BusinessDateIn(Schema):
    date: dt.date | None


class BusinessDateOut(Schema):
    date: dt.date
    real_date: dt.date
    overridden: bool
    settable: bool


class EodIn(Schema):
    date: dt.date | None = None
    rerun: bool = False  # simulation only: run every job of ``date`` again


class EodRunOut(Schema):
    business_date: dt.date
    job: str
    status: str
    attempts: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    detail: dict


def _client(request) -> str:
    # REMOTE_ADDR is the real client (ClientAddressMiddleware honours only trusted proxies).
    return request.META.get("REMOTE_ADDR", "")


def token_info(token) -> dict:
    from django.utils import timezone

    return {"id": token.pk, "name": token.name, "prefix": token.prefix, "scope": token.scope,
            "read_only": token.read_only, "created_at": token.created_at, "expires_at": token.expires_at,
            "last_used_at": token.last_used_at, "revoked_at": token.revoked_at,
            "revoked_reason": token.revoked_reason,
            "active": token.revoked_at is None and token.expires_at > timezone.now()}


def user_out(user: User) -> dict:
    org = user.organisation
    return {"id": user.pk, "username": user.username, "display_name": user.display_name,
            "org_id": user.organisation_id,
            "organisation": None if org is None else {"id": org.pk, "name": org.name, "kind": org.kind,
                                                      "uscc": org.uscc, "region_code": org.region_code},
            "roles": sorted(user.role_set)}


@router.post("/auth/token", auth=None, response={200: TokenOut}, summary="Exchange a username and password for a bearer token")
def token(request, payload: TokenIn):
    user = services.login(username=payload.username, password=payload.password, client=_client(request))
    raw = services.issue_token(user=user, name="api")
    return {"access_token": raw, "token_type": "bearer",
            "expires_in": int(services.token_lifetime("full").total_seconds())}


@router.get("/auth/tokens", response=list[TokenInfoOut],
            summary="Your API tokens (an admin may pass user_id), revoked and expired ones included")
def list_tokens(request, user_id: int | None = None):
    return [token_info(t) for t in services.list_tokens(actor=request.auth, user_id=user_id)[:200]]


@router.delete("/auth/tokens/{token_id}", response=TokenInfoOut, summary="Revoke one of your API tokens")
def revoke_token(request, token_id: int):
    return token_info(services.revoke_token(actor=request.auth, token_id=token_id))


@router.get("/me", response=UserOut, summary="The authenticated user, its organisation and roles")
def me(request):
    return user_out(request.auth)


@router.post("/orgs", response={201: OrgOut}, summary="Create an organisation (admin)")
def create_org(request, payload: OrgIn):
    org = services.create_organisation(actor=request.auth, name=payload.name, kind=payload.kind,
                                       uscc=payload.uscc, region_code=payload.region_code)
    return 201, org


@router.get("/orgs", response=list[OrgOut], summary="Organisations visible to you")
def list_orgs(request, kind: str | None = None):
    qs = Organisation.objects.restrict(request.auth, "view")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs[:1000])


@router.get("/orgs/{org_id}", response=OrgOut)
def get_org(request, org_id: int):
    org = Organisation.objects.restrict(request.auth, "view").filter(pk=org_id).first()
    if org is None:
        raise NotFound(_("Organisation not found."), code="org_not_found")
    return org


@router.post("/users", response={201: UserOut}, summary="Create a user in an organisation with roles (admin)")
def create_user(request, payload: UserIn):
    user = services.create_user(actor=request.auth, username=payload.username, password=payload.password,
                                org_id=payload.org_id, roles=payload.roles, display_name=payload.display_name)
    return 201, user_out(user)


def _business_date_out() -> dict:
    from django.conf import settings

    override = business_date.override()
    return {"date": business_date.today(), "real_date": business_date.real_today(),
            "overridden": override is not None, "settable": settings.ALLOW_BUSINESS_DATE}


@router.get("/admin/business-date", response=BusinessDateOut, summary="The platform's business date")
def get_business_date(request):
    return _business_date_out()


@router.put("/admin/business-date", response=BusinessDateOut,
            summary="Set the business date (admin; only with IPPLEDGE_ALLOW_BUSINESS_DATE=1; null resets)")
def put_business_date(request, payload: BusinessDateIn):
    services.set_business_date(actor=request.auth, date=payload.date)
    return _business_date_out()


@router.post("/admin/eod", response=list[EodRunOut], summary="Run end-of-day jobs for a business date (admin)")
def run_eod(request, payload: EodIn | None = None):
    permissions.require_admin(request.auth)
    if payload is None or payload.date is None:
        if payload is not None and payload.rerun:
            raise ValidationFailed(_("Give the date to re-run."), fields={"date": [_("This field is required.")]})
        return eod.run_pending(actor=request.auth)
    return eod.run(business_date=payload.date, actor=request.auth, rerun=payload.rerun)


@router.get("/admin/eod", response=list[EodRunOut], summary="End-of-day run log (admin)")
def eod_log(request, date: dt.date | None = None):
    permissions.require_admin(request.auth)
    qs = EodRun.objects.all()
    if date:
        qs = qs.filter(business_date=date)
    return list(qs[:200])
