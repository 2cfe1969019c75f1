"""Business actions of the platform core.  The only writers of core models; every entry point
(API, pages, CLI) calls these.  Each runs in one transaction and leaves an audit row."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, identifiers
from .errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationFailed,
)
from .models import ApiToken, BusinessDateChange, LoginFailure, Organisation, User, UserRole
from .roles import ROLE_ORG_KINDS, OrgKind, Role

TOKEN_PREFIX = "ipp_"


def require_admin(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Authentication is required."))
    if not actor.is_platform_admin:
        raise PermissionDenied(_("Only a platform administrator may do this."))


def _org_snapshot(org: Organisation) -> dict:
    return {"name": org.name, "kind": org.kind, "uscc": org.uscc, "region_code": org.region_code}


@transaction.atomic
def create_organisation(*, actor, name: str, kind: str, uscc: str | None = None,
                        region_code: str = "") -> Organisation:
    require_admin(actor)
    name = identifiers.clean_display_name(name or "")
    if not name:
        raise ValidationFailed(_("A name is required."), fields={"name": [_("This field is required.")]})
    if kind not in OrgKind.values:
        raise ValidationFailed(_("Unknown organisation kind."), code="invalid_org_kind",
                               fields={"kind": [_("Choose one of: %s") % ", ".join(OrgKind.values)]})
    if uscc:
        try:
            uscc = identifiers.normalise_uscc(uscc)
        except DomainError as exc:
            exc.fields = {"uscc": [exc.localised(_)]}
            raise
        if not region_code:
            region_code = uscc[2:8]
        if Organisation.objects.filter(uscc=uscc).exists():
            raise Conflict(_("An organisation with this USCC already exists."), code="duplicate_uscc",
                           fields={"uscc": [_("Already registered.")]})
    try:
        with transaction.atomic():
            org = Organisation.objects.create(name=name, name_normalised=identifiers.normalise_name(name),
                                              kind=kind, uscc=uscc or None, region_code=region_code)
    except IntegrityError as exc:  # a concurrent create with the same USCC
        raise Conflict(_("An organisation with this USCC already exists."), code="duplicate_uscc") from exc
    audit.record(actor=actor, action="org.create", obj=org, after=_org_snapshot(org))
    return org


def _validate_roles(roles: list[str], org: Organisation | None) -> list[str]:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationFailed(_("Unknown role: %s") % ", ".join(unknown), code="invalid_role",
                               fields={"roles": [_("Choose from: %s") % ", ".join(Role.values)]})
    if org is not None:
        wrong = [r for r in roles if org.kind not in ROLE_ORG_KINDS[r]]
        if wrong:
            raise ValidationFailed(
                _("Role %(roles)s cannot be held in an organisation of kind %(kind)s.")
                % {"roles": ", ".join(wrong), "kind": org.kind},
                code="role_not_allowed_for_org", fields={"roles": [_("Not allowed for this organisation.")]})
    return sorted(set(roles))


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("The password is too weak."), code="weak_password",
                               fields={"password": list(exc.messages)}) from exc


@transaction.atomic
def create_user(*, actor, username: str, password: str, org_id: int, roles: list[str],
                display_name: str = "") -> User:
    require_admin(actor)
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ValidationFailed(_("A username is required."), fields={"username": [_("This field is required.")]})
    org = Organisation.objects.filter(pk=org_id).first()
    if org is None:
        raise NotFound(_("Organisation not found."), code="org_not_found", fields={"org_id": [_("Not found.")]})
    roles = _validate_roles(list(roles or []), org)
    _check_password(password)
    if User.objects.filter(username=username).exists():
        raise Conflict(_("This username is taken."), code="duplicate_username",
                       fields={"username": [_("Already taken.")]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, organisation=org,
                                            display_name=display_name.strip())
    except IntegrityError as exc:
        raise Conflict(_("This username is taken."), code="duplicate_username") from exc
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in roles])
    audit.record(actor=actor, action="user.create", obj=user,
                 after={"username": username, "organisation": org.pk, "roles": roles})
    return user


@transaction.atomic
def ensure_admin(*, username: str, password: str, actor=None) -> tuple[User, bool]:
    """Create a platform administrator, or reset its password; idempotent (``ippledge createadmin``)."""
    _check_password(password)
    operator, _created = Organisation.objects.get_or_create(
        kind=OrgKind.PLATFORM_OPERATOR, uscc=None, name="ippledge 平台运营方",
        defaults={"name_normalised": identifiers.normalise_name("ippledge 平台运营方")})
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User.objects.create_user(username=username, password=password, organisation=operator,
                                        display_name=username, is_staff=True)
    else:
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
    UserRole.objects.get_or_create(user=user, role=Role.ADMIN)
    audit.record(actor=actor, action="user.admin_created" if created else "user.admin_password_reset",
                 obj=user, after={"username": username})
    return user, created


# --- login and tokens -------------------------------------------------------------------------

def _throttle_check(username: str, client: str) -> None:
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    limit = settings.LOGIN_THROTTLE_MAX_FAILURES
    recent = LoginFailure.objects.filter(at__gte=since)
    # Per-address limit is wider so one office behind NAT is not locked out by one user.
    if recent.filter(username=username.lower()).count() >= limit or \
            (client and recent.filter(client=client).count() >= limit * 4):
        raise Throttled(_("Too many failed logins. Try again in a few minutes."), code="login_throttled")


def login(*, username: str, password: str, client: str = "", request=None) -> User:
    """Check credentials with throttling; raise ``invalid_credentials`` without saying which part."""
    username = (username or "").strip()
    _throttle_check(username, client)
    user = authenticate(request, username=username, password=password)
    if user is None:
        LoginFailure.objects.create(username=username.lower(), client=client[:64])
        raise NotAuthenticated(_("Wrong username or password."), code="invalid_credentials")
    LoginFailure.objects.filter(username=username.lower()).delete()
    return user


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def issue_token(*, user: User, name: str = "", read_only: bool = False,
                lifetime: dt.timedelta | None = dt.timedelta(days=30)) -> str:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, key_hash=_hash_token(raw), prefix=raw[:12], name=name,
                                    read_only=read_only,
                                    expires_at=timezone.now() + lifetime if lifetime else None)
    audit.record(actor=user, action="token.issue", obj=token, object_repr=token.prefix,
                 after={"name": name, "read_only": read_only})
    return raw


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
    now = timezone.now()
    if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now) \
            or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


@transaction.atomic
def revoke_token(*, actor, token_id: int) -> None:
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or (token.user_id != actor.pk and not actor.is_platform_admin):
        raise NotFound(_("Token not found."))
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    audit.record(actor=actor, action="token.revoke", obj=token, object_repr=token.prefix)


# --- business date ----------------------------------------------------------------------------

@transaction.atomic
def set_business_date(*, actor, date: dt.date | None) -> dt.date:
    require_admin(actor)
    if not settings.ALLOW_BUSINESS_DATE:
        raise PermissionDenied(_("Setting the business date is disabled (IPPLEDGE_ALLOW_BUSINESS_DATE is off)."),
                               code="business_date_locked")
    from . import business_date

    before = business_date.today()
    BusinessDateChange.objects.create(date=date, set_by=actor)
    audit.record(actor=actor, action="business_date.set", object_type="core.businessdate", object_id="1",
                 before={"date": before}, after={"date": date})
    return business_date.today()
