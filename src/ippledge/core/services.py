"""Business actions of the platform core.  The only writers of core models; every entry point
(API, pages, CLI) calls these.  Each runs in one transaction and leaves an audit row."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
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
from .models import (
    ApiToken,
    BusinessDateChange,
    Holiday,
    LoginFailure,
    LoginThrottle,
    Organisation,
    User,
    UserRole,
)
from .permissions import Actor, require_admin, require_user
from .roles import ROLE_ORG_KINDS, OrgKind, Role

TOKEN_PREFIX = "ipp_"


def _org_snapshot(org: Organisation) -> dict:
    return {"name": org.name, "kind": org.kind, "uscc": org.uscc, "region_code": org.region_code,
            "size_class": org.size_class, "industry": org.industry, "parent": org.parent_id, "is_demo": org.is_demo}


# A GB/T 4754 industry: a section letter, optionally with its division, group and class digits.
INDUSTRY_CODE = re.compile(r"[A-T](\d{2,4})?")


def _check_profile(kind: str, size_class: str, industry: str, parent: Organisation | None) -> None:
    sizes = [value for value, _label in Organisation._meta.get_field("size_class").choices]
    if size_class and size_class not in sizes:
        raise ValidationFailed(_("Unknown size class."), code="invalid_size_class",
                               fields={"size_class": [_("Choose one of: %s") % ", ".join(sizes)]})
    if industry and not INDUSTRY_CODE.fullmatch(industry):
        raise ValidationFailed(_("Give the industry as a GB/T 4754 code such as C39."), code="invalid_industry",
                               fields={"industry": [_("Not a GB/T 4754 code.")]})
    # A branch is of its head office's kind, and a head office is no one's branch.
    if parent is not None and (parent.kind != kind or parent.parent_id is not None):
        raise ValidationFailed(_("A branch belongs to a head office of its own kind."), code="invalid_parent",
                               fields={"parent": [_("Not a head office of this kind.")]})


@transaction.atomic
def create_organisation(*, actor: Actor, name: str, kind: str, uscc: str | None = None,
                        region_code: str = "", size_class: str = "", industry: str = "",
                        parent: Organisation | None = None, is_demo: bool = False) -> Organisation:
    """``size_class`` (2011 MIIT table), ``industry`` (GB/T 4754), ``parent`` (head office) and
    ``is_demo`` (the demo region's rows) are profile facts other apps read; only this service writes them."""
    require_admin(actor)
    name = identifiers.clean_display_name(name or "")
    if not name:
        raise ValidationFailed(_("A name is required."), fields={"name": [_("This field is required.")]})
    if kind not in OrgKind.values:
        raise ValidationFailed(_("Unknown organisation kind."), code="invalid_org_kind",
                               fields={"kind": [_("Choose one of: %s") % ", ".join(OrgKind.values)]})
    _check_profile(kind, size_class, industry, parent)
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
                                              kind=kind, uscc=uscc or None, region_code=region_code,
                                              size_class=size_class, industry=industry, parent=parent,
                                              is_demo=is_demo)
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
def create_user(*, actor: Actor, username: str, password: str, org_id: int, roles: list[str],
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
def ensure_admin(*, username: str, password: str, actor: Actor | None = None) -> tuple[User, bool]:
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
        # The save revokes every token of the user (see revoke_tokens_after_password_change); a
        # locked-out operator resetting from the shell may log in again at once.
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        LoginThrottle.objects.filter(key__startswith="u:", key__endswith=f"|{username.lower()}").delete()
    UserRole.objects.get_or_create(user=user, role=Role.ADMIN)
    audit.record(actor=actor, action="user.admin_created" if created else "user.admin_password_reset",
                 obj=user, after={"username": username})
    return user, created


# --- login throttling -------------------------------------------------------------------------
#
# Two buckets per attempt: (username, address) — limits a guesser at one account without ever
# locking its owner out from another address — and, wider, the address alone (one office behind
# NAT shares it).  An attempt is counted before the password is checked, under a row lock, so 40
# concurrent guesses let exactly as many through as the limit allows.

def _throttle_keys(username: str, client: str) -> list[tuple[str, str, int]]:
    keys = []
    if client:
        keys.append(("address", f"a:{client}"[:255], settings.LOGIN_THROTTLE_ADDRESS_FAILURES))
    keys.append(("user", f"u:{client}|{username.lower()}"[:255], settings.LOGIN_THROTTLE_MAX_FAILURES))
    return keys


def _lockout(failures: int, threshold: int) -> dt.timedelta:
    """Back-off once the threshold is reached: the base lock-out, doubled for every further failure."""
    doublings = min(failures - threshold, 32)
    seconds = min(settings.LOGIN_THROTTLE_LOCKOUT_SECONDS * (2 ** doublings),
                  settings.LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS)
    return dt.timedelta(seconds=seconds)


def _locked_rows(keys) -> list[tuple[str, LoginThrottle, int]]:
    rows = []
    for kind, key, threshold in keys:  # always address before user: one lock order, no deadlock
        row, created = LoginThrottle.objects.get_or_create(key=key)
        if created and row.pk % 200 == 0:
            _forget_stale_buckets()
        rows.append((kind, LoginThrottle.objects.select_for_update().get(key=key), threshold))
    return rows


def _forget_stale_buckets() -> None:
    """Buckets quiet for longer than any lock-out and window: sprayed usernames do not pile up."""
    horizon = timezone.now() - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS
                                            + settings.LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS)
    LoginThrottle.objects.filter(last_at__lt=horizon).delete()


@transaction.atomic
def _reserve_attempt(keys, now) -> None:
    rows = _locked_rows(keys)
    wait = 0
    window = dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    for _kind, row, _threshold in rows:
        if row.last_at and now >= max(row.locked_until or row.last_at, row.last_at) + window:
            row.failures, row.locked_until = 0, None  # quiet long enough: forgotten
        if row.locked_until and row.locked_until > now:
            wait = max(wait, int((row.locked_until - now).total_seconds()) + 1)
    if wait:
        raise Throttled(_("Too many failed logins. Try again in a few minutes."), code="login_throttled",
                        retry_after=wait)
    for _kind, row, threshold in rows:
        row.failures += 1
        row.last_at = now
        if row.failures >= threshold:
            row.locked_until = now + _lockout(row.failures, threshold)
        row.save(update_fields=["failures", "last_at", "locked_until"])


@transaction.atomic
def _attempt_succeeded(keys, username: str) -> None:
    for kind, row, threshold in _locked_rows(keys):
        if kind == "user":
            row.delete()  # the right password: this account from this address starts afresh
            continue
        # The address keeps its other failures: logging into one's own account must not reset them.
        row.failures = max(0, row.failures - 1)
        if row.failures < threshold:
            row.locked_until = None
        row.save(update_fields=["failures", "locked_until"])
    LoginFailure.objects.filter(username=username.lower()).delete()


@transaction.atomic
def _attempt_failed(keys, username: str, client: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], client=client[:64])
    for kind, key, threshold in keys:
        row = LoginThrottle.objects.filter(key=key).first()
        if row is not None and row.failures >= threshold:
            audit.record(actor=None, action="login.lockout", obj=row, object_repr=kind,
                         after={"bucket": kind, "username": username[:150], "client": client[:64],
                                "failures": row.failures, "locked_until": row.locked_until})


def login(*, username: str, password: str, client: str = "", request=None) -> User:
    """Check credentials with throttling; raise ``invalid_credentials`` without saying which part."""
    username = (username or "").strip()
    keys = _throttle_keys(username, client)
    _reserve_attempt(keys, timezone.now())
    user = authenticate(request, username=username, password=password)
    if user is None:
        _attempt_failed(keys, username, client)
        raise NotAuthenticated(_("Wrong username or password."), code="invalid_credentials")
    _attempt_succeeded(keys, username)
    return user


# --- tokens -----------------------------------------------------------------------------------

# What a scoped token reaches, whatever its user's roles (a full token reaches what its user may).
TOKEN_SCOPE_PATHS = {
    ApiToken.Scope.STATISTICS: re.compile(
        r"^/api/v1/(me|reports/(npl-tolerance|ip-pledge-loans(\.xlsx|\.csv)?|scorecard|registry)"
        r"|registry/stats/[\w-]+|public/.+)$"),
}


def token_lifetime(scope: str) -> dt.timedelta:
    days = settings.SHARING_TOKEN_LIFETIME_DAYS if scope == ApiToken.Scope.STATISTICS else settings.TOKEN_LIFETIME_DAYS
    return dt.timedelta(days=days)


def token_allows(token: ApiToken, path: str) -> bool:
    pattern = TOKEN_SCOPE_PATHS.get(token.scope)
    return pattern is None or bool(pattern.match(path))


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def issue_token(*, user: User, name: str = "", read_only: bool = False, scope: str = ApiToken.Scope.FULL,
                lifetime: dt.timedelta | None = None) -> str:
    if scope not in ApiToken.Scope.values:
        raise ValidationFailed(_("Unknown token scope."), code="invalid_scope")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + (lifetime or token_lifetime(scope))
    token = ApiToken.objects.create(user=user, key_hash=_hash_token(raw), prefix=raw[:12], name=name[:100],
                                    read_only=read_only, scope=scope, expires_at=expires_at)
    audit.record(actor=user, action="token.issue", obj=token, object_repr=token.prefix,
                 after={"name": name, "read_only": read_only, "scope": scope, "expires_at": expires_at})
    return raw


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
    now = timezone.now()
    if token is None or token.revoked_at or token.expires_at <= now or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


def list_tokens(*, actor: Actor, user_id: int | None = None):
    """The actor's tokens (an admin may name another user), newest first, revoked ones included."""
    require_user(actor)
    owner = actor.pk
    if user_id is not None and user_id != actor.pk:
        require_admin(actor)
        owner = user_id
    return ApiToken.objects.filter(user_id=owner)


@transaction.atomic
def revoke_token(*, actor: Actor, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or (token.user_id != actor.pk and not actor.is_platform_admin):
        raise NotFound(_("Token not found."), code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_reason = timezone.now(), "revoked"
        token.save(update_fields=["revoked_at", "revoked_reason"])
        audit.record(actor=actor, action="token.revoke", obj=token, object_repr=token.prefix)
    return token


@transaction.atomic
def revoke_all_tokens(*, user: User, reason: str, actor: Actor | None = None) -> int:
    count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:32])
    if count:
        audit.record(actor=actor or user, action="token.revoke_all", obj=user, object_repr=user.username,
                     after={"reason": reason, "tokens": count})
    return count


def note_password_change(sender, instance, raw=False, **kwargs):
    """pre_save: ``set_password`` leaves the new raw password in ``_password`` until the save; a hash
    upgrade on login clears it first, so only a real change is noticed."""
    instance._ippledge_password_changed = not raw and instance.pk is not None and \
        getattr(instance, "_password", None) is not None


def revoke_tokens_after_password_change(sender, instance, created=False, raw=False, **kwargs):
    if getattr(instance, "_ippledge_password_changed", False) and not created:
        instance._ippledge_password_changed = False
        revoke_all_tokens(user=instance, reason="password_changed")


# --- business date ----------------------------------------------------------------------------

@transaction.atomic
def set_business_date(*, actor: Actor, date: dt.date | None) -> dt.date:
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


# --- administration: organisations, users and roles, the business calendar ------------------------

@transaction.atomic
def update_organisation(*, actor: Actor, org_id: int, name: str | None = None, region_code: str | None = None,
                        size_class: str | None = None, industry: str | None = None,
                        is_active: bool | None = None) -> Organisation:
    """Change an organisation's profile (kind, USCC and head office stay: they are its identity)."""
    require_admin(actor)
    org = Organisation.objects.select_for_update().filter(pk=org_id).first()
    if org is None:
        raise NotFound(_("Organisation not found."), code="org_not_found")
    before = _org_snapshot(org) | {"is_active": org.is_active}
    if name is not None:
        name = identifiers.clean_display_name(name)
        if not name:
            raise ValidationFailed(_("A name is required."), fields={"name": [_("This field is required.")]})
        if len(name) > Organisation._meta.get_field("name").max_length:
            raise ValidationFailed(_("The name is too long."), code="too_long", fields={"name": [_("Too long.")]})
        org.name, org.name_normalised = name, identifiers.normalise_name(name)
    if region_code is not None:
        region_code = region_code.strip()
        if region_code and not (len(region_code) == 6 and region_code.isascii() and region_code.isdigit()):
            raise ValidationFailed(_("Give a six-digit administrative division code (GB/T 2260)."),
                                   code="invalid_region", fields={"region_code": [_("Not a GB/T 2260 code.")]})
        org.region_code = region_code
    _check_profile(org.kind, org.size_class if size_class is None else size_class,
                   org.industry if industry is None else industry, org.parent)
    if size_class is not None:
        org.size_class = size_class
    if industry is not None:
        org.industry = industry
    if is_active is not None:
        org.is_active = bool(is_active)
    org.save()
    audit.record(actor=actor, action="org.update", obj=org, before=before,
                 after=_org_snapshot(org) | {"is_active": org.is_active})
    return org


def _managed_user(actor: Actor, user_id: int) -> User:
    require_admin(actor)
    user = User.objects.select_for_update(of=("self",)).select_related("organisation").filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("User not found."), code="user_not_found")
    return user


@transaction.atomic
def set_user_roles(*, actor: Actor, user_id: int, roles: list[str]) -> User:
    """Replace a user's roles; each must suit the user's organisation.  An administrator cannot take the
    administrator role from themselves (someone else must)."""
    user = _managed_user(actor, user_id)
    roles = _validate_roles(list(roles or []), user.organisation)
    before = sorted(user.role_set)
    if user.pk == actor.pk and Role.ADMIN in before and Role.ADMIN not in roles and not user.is_superuser:
        raise Conflict(_("You cannot take the administrator role from yourself."), code="cannot_demote_self",
                       fields={"roles": [_("Keep the administrator role.")]})
    UserRole.objects.filter(user=user).exclude(role__in=roles).delete()
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in roles if r not in before])
    user._role_cache = None
    audit.record(actor=actor, action="user.roles", obj=user, object_repr=user.username,
                 before={"roles": before}, after={"roles": roles})
    return user


@transaction.atomic
def set_user_active(*, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate a user (they can no longer log in; their API tokens are revoked) or reactivate one.
    Nobody deactivates themselves."""
    user = _managed_user(actor, user_id)
    if not active and user.pk == actor.pk:
        raise Conflict(_("You cannot deactivate your own account."), code="cannot_deactivate_self")
    if user.is_active != bool(active):
        user.is_active = bool(active)
        user.save(update_fields=["is_active"])
        audit.record(actor=actor, action="user.activate" if active else "user.deactivate", obj=user,
                     object_repr=user.username, before={"is_active": not active}, after={"is_active": active})
        if not active:
            revoke_all_tokens(user=user, reason="deactivated", actor=actor)
    return user


@transaction.atomic
def set_holiday(*, actor: Actor, date: dt.date, is_working_day: bool = False, name: str = "") -> Holiday:
    """Record a public holiday (or, ``is_working_day``, a weekend make-up working day, 调休) in the
    business calendar; an entry for the same date is replaced."""
    from . import business_date, limits

    require_admin(actor)
    limits.business_date(date, field="date", today=business_date.today())
    name = limits.text(name, field="name", max_length=Holiday._meta.get_field("name").max_length)
    entry = Holiday.objects.filter(date=date).first()
    before = None if entry is None else {"is_working_day": entry.is_working_day, "name": entry.name}
    entry, _created = Holiday.objects.update_or_create(date=date, defaults={"is_working_day": bool(is_working_day),
                                                                             "name": name})
    audit.record(actor=actor, action="calendar.set", obj=entry, object_repr=date.isoformat(), before=before,
                 after={"is_working_day": entry.is_working_day, "name": entry.name})
    return entry


@transaction.atomic
def remove_holiday(*, actor: Actor, date: dt.date) -> None:
    """Take a date out of the business calendar: it is a working day again if it is a weekday."""
    require_admin(actor)
    entry = Holiday.objects.filter(date=date).first()
    if entry is None:
        raise NotFound(_("This date is not in the business calendar."), code="holiday_not_found")
    before = {"is_working_day": entry.is_working_day, "name": entry.name}
    entry.delete()
    audit.record(actor=actor, action="calendar.remove", object_type="core.holiday", object_id=date.isoformat(),
                 object_repr=date.isoformat(), before=before)
