"""Domain errors: every expected failure has a stable code, an HTTP status and a translatable message.

Pure module (no Django import) so rules and engines can raise these too; the API layer turns them
into ``{"error": {"code", "message", "fields"}}`` and pages show them inline.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation in modules that must not import Django.

    makemessages runs with ``--keyword=N_``; the API and pages pass the message through
    ``gettext`` when they show it, so the catalog entry is found at run time.
    """
    return message


class DomainError(Exception):
    """An expected failure a user can act on.  ``code`` is a stable API contract."""

    status = 422
    code = "invalid"

    def __init__(self, message: str = "", *, code: str | None = None, fields: dict | None = None,
                 status: int | None = None, params: dict | None = None):
        # ``message`` stays an untranslated template; ``params`` fill it after translation.
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.params = params or {}
        super().__init__(self.message % self.params if self.params else self.message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}

    def localised(self, translate=lambda s: s) -> str:
        """The message in the active language: translate the template, then fill in the params."""
        text = translate(str(self.message))
        return text % self.params if self.params else text

    def as_dict(self, translate=lambda s: s) -> dict:
        body = {"code": self.code, "message": self.localised(translate)}
        if self.fields:
            body["fields"] = {k: [translate(str(m)) for m in (v if isinstance(v, list | tuple) else [v])]
                              for k, v in self.fields.items()}
        return {"error": body}


class ValidationFailed(DomainError):
    """The request is not valid."""

    status = 422
    code = "validation_error"


class InvalidIdentifier(ValidationFailed):
    """An identifier (USCC, resident ID, patent number…) is malformed or fails its check.

    ``code`` names which: invalid_uscc, invalid_resident_id, invalid_patent_number,
    patent_kind_mismatch, invalid_trademark_number, invalid_software_number, invalid_work_number.
    """

    code = "invalid_identifier"


class NotAuthenticated(DomainError):
    """Authentication is required."""

    status = 401
    code = "not_authenticated"


class PermissionDenied(DomainError):
    """You are not allowed to do this."""

    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    """Not found."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class Throttled(DomainError):
    """Too many attempts; try again later.  ``retry_after`` (seconds) becomes the Retry-After header."""

    status = 429
    code = "throttled"

    def __init__(self, message: str = "", *, retry_after: int = 60, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class PayloadTooLarge(DomainError):
    """The request body is too large."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """The request body is not in a format this endpoint reads."""

    status = 415
    code = "unsupported_media_type"


class MalformedBody(DomainError):
    """The request body cannot be read."""

    status = 400
    code = "malformed_body"
