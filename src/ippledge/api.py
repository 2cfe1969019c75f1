"""The JSON API at /api/v1/: one NinjaAPI, bearer-token or session auth, one error shape.

Every error is ``{"error": {"code", "message", "fields"?}}`` with a stable code, and the OpenAPI
document lists those error answers on every operation.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from ippledge.core import services as core_services
from ippledge.core.audit import current_channel
from ippledge.core.errors import (
    DomainError,
    MalformedBody,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        found = core_services.user_for_token(token)
        if found is None:
            return None
        user, api_token = found
        if not core_services.token_allows(api_token, request.path):
            raise PermissionDenied(_("This token may read statistics only."), code="token_scope")
        if api_token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied(_("This token is read-only."), code="read_only_token")
        request.user = user
        request.api_token = api_token
        current_channel.set("api")
        return user


class Session(SessionAuth):
    def _get_key(self, request):
        key = request.COOKIES.get(self.param_name)
        if not key:
            return None  # no session cookie, nothing a forged request could ride on: 401, not a CSRF 403
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise PermissionDenied(
                _("The form or request has expired or did not come from this site. Reload the page and try again."),
                code="csrf_failed")
        return key

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            current_channel.set("web")
        return user


class JsonParser(Parser):
    """JSON bodies only: ``text/plain`` or a form posted to a JSON endpoint is 415, not parsed."""

    def parse_body(self, request):
        content_type = request.content_type or ""
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(_("Send the body as application/json."))
        return json.loads(request.body)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "stable snake_case code, e.g. validation_error"},
            "message": {"type": "string", "description": "translated into the Accept-Language"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    }},
}
ERROR_ANSWERS = {
    "400": "Malformed request or body (bad_request, malformed_body)",
    "401": "Not authenticated",
    "403": "Not allowed for this user, token or organisation",
    "404": "Not found (or not visible to you)",
    "409": "Conflicts with the current state",
    "413": "Request body too large (payload_too_large)",
    "415": "Body not application/json (unsupported_media_type)",
    "422": "Validation failed, with field errors",
    "429": "Too many requests; see Retry-After",
    "500": "Internal error (with a request id)",
}
BODY_ANSWERS = {"409", "413", "415"}


class PlatformAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja's document, plus the error answers every operation can give, in the one error shape."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_ANSWERS.items():
                    if status == "401" and not operation.get("security"):
                        continue
                    if status in BODY_ANSWERS and method in ("get", "head", "delete"):
                        continue
                    responses.setdefault(status, {"description": description, "content": ref})
        return schema


api = PlatformAPI(
    title="ippledge API",
    version="1",
    description="IP pledge financing platform: rights register, pledge registry, valuation, credit, statistics.",
    auth=[BearerToken(), Session()],
    parser=JsonParser(),
    urls_namespace="api",
    docs_url="/docs",
)


def _error(request, status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = api.create_response(request, {"error": body}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    body = exc.as_dict(_)["error"]
    retry_after = getattr(exc, "retry_after", None)
    return _error(request, exc.status, exc.code, body["message"], body.get("fields"),
                  headers={"Retry-After": str(retry_after)} if retry_after else None)


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
    if isinstance(exc.__cause__, DomainError):  # raised by our parser, wrapped by ninja
        return on_domain_error(request, exc.__cause__)
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):  # ninja's JSON failure
        return on_domain_error(request, MalformedBody(_("The request body is not valid JSON.")))
    codes = {401: "not_authenticated", 403: "permission_denied", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 429: "throttled"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


@api.exception_handler(MultiPartParserError)
def on_multipart_error(request, exc):
    return on_domain_error(request, MalformedBody(_("The multipart body cannot be read.")))


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request, exc):
    if isinstance(exc, RequestDataTooBig):
        return on_domain_error(request, PayloadTooLarge(_("The request body is too large.")))
    if isinstance(exc, TooManyFieldsSent):
        return on_domain_error(request, MalformedBody(_("The request has too many fields.")))
    return on_domain_error(request, MalformedBody(_("The request cannot be processed.")))


@api.exception_handler(BadRequest)
def on_bad_request(request, exc):
    return on_domain_error(request, MalformedBody(_("The request cannot be processed.")))


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
    from ippledge.core.tasks_api import router as tasks_router
    from ippledge.credit.api import router as credit_router
    from ippledge.credit.workflow_api import router as credit_workflow_router
    from ippledge.disposal.api import router as disposal_router
    from ippledge.monitoring.api import router as monitoring_router
    from ippledge.monitoring.feeds.api import router as feeds_router
    from ippledge.monitoring.reviews_api import router as monitoring_reviews_router
    from ippledge.registry.api import public_router as registry_public_router
    from ippledge.registry.api import router as registry_router
    from ippledge.reporting.api import public_router as reporting_public_router
    from ippledge.reporting.api import router as reporting_router
    from ippledge.rights.api import public_router as rights_public_router
    from ippledge.rights.api import router as rights_router
    from ippledge.risksharing.api import router as risksharing_router
    from ippledge.valuation.api import router as valuation_router

    # Public routes first: Django tries URL patterns in order, and anonymous search is the hot path.
    api.add_router("/public", registry_public_router)
    api.add_router("/public/ip-rights", rights_public_router)
    api.add_router("", core_router)
    api.add_router("", tasks_router)
    api.add_router("/ip-rights", rights_router)
    api.add_router("", registry_router)
    api.add_router("", valuation_router)
    api.add_router("", credit_router)
    api.add_router("", credit_workflow_router)
    api.add_router("/alerts", monitoring_router)
    api.add_router("", monitoring_reviews_router)
    api.add_router("", feeds_router)
    api.add_router("", risksharing_router)
    api.add_router("", disposal_router)
    api.add_router("", reporting_router)
    api.add_router("/public", reporting_public_router)


_mount_routers()
