"""The platform's edge: who the client is, request ids, security headers, body limits, rate limits
and one error shape for every answer of the API.

Order in ``settings.MIDDLEWARE`` matters: the client address is settled first, bodies are refused
before anything parses them, and public rate limits run once the session user is known.
"""

from __future__ import annotations

import contextvars
import uuid

from django.http import HttpResponse, JsonResponse

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        # Accept a caller's id only when it looks like one, so logs cannot be injected.
        rid = incoming if incoming and len(incoming) <= 36 and incoming.replace("-", "").isalnum() else str(uuid.uuid4())
        request.request_id = rid
        token = current_request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-Id"] = rid
        return response


class ChineseFirstLocaleMiddleware:
    """Pages are Chinese unless the visitor chose another language (cookie from the switcher); the API
    follows ``Accept-Language`` so integrating systems get messages in the language they ask for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen and translation.check_for_language(chosen):
            language = chosen
        elif request.path.startswith("/api/"):
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        patch = response.get("Vary", "")
        if "Accept-Language" not in patch:
            response["Vary"] = f"{patch}, Accept-Language, Cookie".strip(", ")
        translation.deactivate()
        return response


# --- errors at the edge --------------------------------------------------------------------------

def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_response(request, exc) -> HttpResponse:
    """A domain error as the API's JSON error body, or as the error page for browsers."""
    from django.shortcuts import render
    from django.utils.translation import gettext

    if is_api(request):
        response = JsonResponse(exc.as_dict(gettext), status=exc.status)
    else:
        titles = {400: gettext("Bad request"), 403: gettext("Not allowed"), 404: gettext("Not found"),
                  413: gettext("Request too large"), 415: gettext("Unsupported format"),
                  429: gettext("Too many requests")}
        response = render(request, "errors/error.html",
                          {"error": exc, "title": titles.get(exc.status, gettext("Error"))}, status=exc.status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


class ClientAddressMiddleware:
    """REMOTE_ADDR becomes the real client: the peer, or behind ``IPPLEDGE_TRUSTED_PROXIES`` the
    right-most untrusted X-Forwarded-For address.  Forwarding headers from anyone else are dropped, so
    nothing later (HTTPS detection, rate limits, login throttling) can be fooled by them."""

    FORWARDING = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                  "HTTP_X_FORWARDED_PORT", "HTTP_FORWARDED")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from . import ratelimit

        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        if ratelimit.is_trusted_proxy(peer):
            meta["REMOTE_ADDR"] = ratelimit.forwarded_client(meta.get("HTTP_X_FORWARDED_FOR", ""), peer)
        else:
            for header in self.FORWARDING:
                meta.pop(header, None)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every answer (Django's SecurityMiddleware
    adds HSTS, nosniff, referrer and opener policies)."""

    # Swagger UI sets inline styles as it renders; its scripts still come only from our own origin.
    DOCS_STYLE = ("style-src 'self'", "style-src 'self' 'unsafe-inline'")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            if request.path.startswith("/api/v1/docs"):
                policy = policy.replace(*self.DOCS_STYLE)
            response["Content-Security-Policy"] = policy
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class RequestBodyMiddleware:
    """Refuse a body before anything parses it: over the size limit 413 ``payload_too_large``
    (anonymous or not, whatever the route), multipart without a boundary 400 ``malformed_body``."""

    BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def cap(multipart: bool) -> int:
        from . import limits

        # Evidence files travel as multipart and may be larger than a JSON body.
        if multipart and "MAX_UPLOAD_BYTES" in limits.DEFAULTS:
            return limits.limit("MAX_UPLOAD_BYTES")
        return limits.limit("MAX_BODY_BYTES") * (5 if multipart else 1)

    def __call__(self, request):
        from django.utils.translation import gettext as _

        from .errors import MalformedBody, NotFound, PayloadTooLarge

        # No record's number or name contains a control character; PostgreSQL cannot even compare with
        # a NUL, so a path carrying one is answered here, for every route.
        if any(ord(ch) < 32 for ch in request.path):
            return error_response(request, NotFound(_("Not found.")))
        # Nor a query parameter: a filter carrying a NUL would reach PostgreSQL from every list route.
        if "\x00" in request.META.get("QUERY_STRING", "").replace("%00", "\x00") and any(
                "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            from .errors import ValidationFailed

            # The API's validation status; a page answers a bad address 400, as its filters do.
            return error_response(request, ValidationFailed(_("A query parameter contains a NUL character."),
                                                            code="invalid_query",
                                                            status=422 if request.path.startswith("/api/") else 400))
        if request.method in self.BODY_METHODS:
            raw_length = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw_length)
            except ValueError:
                return error_response(request, MalformedBody(_("The Content-Length header is not a number.")))
            multipart = request.content_type == "multipart/form-data"
            cap = self.cap(multipart)
            if length > cap:
                return error_response(request, PayloadTooLarge(
                    _("The request body may be at most %(cap)s bytes."), params={"cap": f"{cap:,}"}))
            if multipart and not request.content_params.get("boundary"):
                return error_response(request, MalformedBody(_("A multipart body needs a boundary.")))
            if multipart or request.content_type == "application/x-www-form-urlencoded":
                refused = self._parse_form(request)
                if refused is not None:
                    return refused
        return self.get_response(request)

    @staticmethod
    def _parse_form(request):
        """Parse a form body here, once, so that its errors are 4xx wherever it is read later
        (CSRF middleware, a page, ninja's Form and File parameters)."""
        from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
        from django.http.multipartparser import MultiPartParserError
        from django.utils.translation import gettext as _

        from .errors import MalformedBody, PayloadTooLarge

        try:
            # Read the raw body first (it is already bounded above): whoever reads it later — ninja on a
            # JSON route sent a form by mistake — still can, and the form parses from memory.
            request.body  # noqa: B018
            request.POST  # noqa: B018 - parsing is the point
        except RequestDataTooBig:
            return error_response(request, PayloadTooLarge(_("The request body is too large.")))
        except (TooManyFieldsSent, TooManyFilesSent):
            return error_response(request, MalformedBody(_("The request has too many fields or files.")))
        except MultiPartParserError:
            return error_response(request, MalformedBody(_("The multipart body cannot be read.")))
        return None


class ErrorShapeMiddleware:
    """Every API error in the JSON error shape, whoever produced it (Django's 404 for unknown paths,
    ninja's plain-text 405, a 400 for a suspicious request), and a Retry-After on every 429."""

    CODES = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
             405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
             415: "unsupported_media_type", 429: "throttled"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = "60"
        if is_api(request) and response.status_code >= 400 and \
                not response.get("Content-Type", "").startswith("application/json"):
            response = self._as_json(request, response)
        return response

    def _as_json(self, request, response):
        from django.utils.translation import gettext as _

        from .errors import DomainError

        messages = {404: _("Not found."), 405: _("This method is not allowed here."),
                    413: _("The request body is too large."), 429: _("Too many requests. Please wait a minute.")}
        status = response.status_code
        exc = DomainError(messages.get(status, _("The request could not be processed.")),
                          code=self.CODES.get(status, "internal_error" if status >= 500 else "error"),
                          status=status)
        converted = JsonResponse(exc.as_dict(), status=status)
        for header in ("Allow", "Retry-After", "X-Request-Id", "Content-Language", "Vary"):
            if header in response:
                converted[header] = response[header]
        return converted


class PublicRateLimitMiddleware:
    """One rate limit for every public route, keyed by path: /api/v1/public/*, the token endpoint and
    every page an anonymous visitor opens (search, certificates, public statistics, rights …).
    Logged-in users' pages and the authenticated API are not counted here."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def bucket(request) -> str | None:
        from django.conf import settings

        path = request.path
        if path.startswith("/api/v1/public/"):
            return "public-api"
        if path == "/api/v1/auth/token":
            return "token"
        if path.startswith(("/api/", settings.STATIC_URL)) or path == "/healthz":
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return "public-pages"

    def __call__(self, request):
        from . import ratelimit
        from .errors import Throttled

        bucket = self.bucket(request)
        if bucket is not None:
            try:
                ratelimit.hit(bucket, request)
            except Throttled as exc:
                return error_response(request, exc)
        return self.get_response(request)
