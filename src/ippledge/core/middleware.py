"""Request id: one id per request, returned in a header and stamped on every audit row."""

from __future__ import annotations

import contextvars
import uuid

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
