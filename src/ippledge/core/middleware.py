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
