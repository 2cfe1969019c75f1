"""The JSON API at /api/v1/: one NinjaAPI, bearer-token or session auth, one error shape.

Every error is ``{"error": {"code", "message", "fields"?}}`` with a stable code.
"""

from __future__ import annotations

import logging

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from ippledge.core import services as core_services
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, PermissionDenied

log = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        found = core_services.user_for_token(token)
        if found is None:
            return None
        user, api_token = found
        if api_token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied(_("This token is read-only."), code="read_only_token")
        request.user = user
        request.api_token = api_token
        current_channel.set("api")
        return user


class Session(SessionAuth):
    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            current_channel.set("web")
        return user


api = NinjaAPI(
    title="ippledge API",
    version="1",
    description="IP pledge financing platform: rights register, pledge registry, valuation, credit, statistics.",
    auth=[BearerToken(), Session()],
    urls_namespace="api",
    docs_url="/docs",
)


def _error(request, status: int, code: str, message: str, fields: dict | None = None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    body = exc.as_dict(_)["error"]
    return _error(request, exc.status, exc.code, body["message"], body.get("fields"))


def _field_path(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "header", "form")]
    path = ""
    for p in parts:
        path += f"[{p}]" if p.isdigit() else (f".{p}" if path else p)
    return path or "body"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        fields.setdefault(_field_path(err.get("loc", ())), []).append(err.get("msg", "invalid"))
    return _error(request, 422, "validation_error", _("The request is not valid."), fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "not_authenticated", _("Authentication is required."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    codes = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 429: "throttled"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Http404)
def on_404(request, exc):
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    log.exception("unhandled API error (request %s)", getattr(request, "request_id", ""))
    return _error(request, 500, "internal_error", _("Something went wrong on our side. The request id is %s.")
                  % getattr(request, "request_id", ""))


def _mount_routers() -> None:
    from ippledge.core.api import router as core_router
    from ippledge.credit.api import router as credit_router
    from ippledge.credit.workflow_api import router as credit_workflow_router
    from ippledge.registry.api import public_router as registry_public_router
    from ippledge.registry.api import router as registry_router
    from ippledge.reporting.api import public_router as reporting_public_router
    from ippledge.reporting.api import router as reporting_router
    from ippledge.rights.api import public_router as rights_public_router
    from ippledge.rights.api import router as rights_router
    from ippledge.valuation.api import router as valuation_router

    # Public routes first: Django tries URL patterns in order, and anonymous search is the hot path.
    api.add_router("/public", registry_public_router)
    api.add_router("/public/ip-rights", rights_public_router)
    api.add_router("", core_router)
    api.add_router("/ip-rights", rights_router)
    api.add_router("", registry_router)
    api.add_router("", valuation_router)
    api.add_router("", credit_router)
    api.add_router("", credit_workflow_router)
    api.add_router("", reporting_router)
    api.add_router("/public", reporting_public_router)


_mount_routers()
