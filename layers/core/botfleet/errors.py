"""Domain errors. The HTTP layer maps each to the contract's status and error shape in one place."""

from __future__ import annotations


class WriteConflict(Exception):
    """Not a user's error: a conditional write lost to another writer (or found the item already there). Adapters
    raise it (as their own subclass); services retry, treat it as "already done", or answer 409."""


class AlreadyExists(WriteConflict):
    """A create whose item exists already (e.g. an injection retried with the same Idempotency-Key)."""


class AdminGone(WriteConflict):
    """A write that had to leave another admin in charge (UserAccounts.update_fields `while_admin`) found that admin
    blocked or gone; nothing was written."""


class SecretUnreadable(Exception):
    """A sealed secret could not be opened (tampered, or bound to another user or provider). Never carries
    secret material in its message."""


class BotfleetError(Exception):
    """Base of every error a user can cause; never a 5xx."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.headers = headers or {}


class BadRequest(BotfleetError):
    status, code = 400, "bad_request"


class Unauthorized(BotfleetError):
    status, code = 401, "unauthorized"


class Forbidden(BotfleetError):
    status, code = 403, "forbidden"


class NotFound(BotfleetError):
    status, code = 404, "not_found"


class Conflict(BotfleetError):
    status, code = 409, "conflict"


class Gone(BotfleetError):
    """Something that existed and has lapsed (an expired confirmation)."""

    status, code = 410, "gone"


class PayloadTooLarge(BotfleetError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(BotfleetError):
    status, code = 415, "unsupported_media_type"


class Unprocessable(BotfleetError):
    """Validation failed; the message names the field."""

    status, code = 422, "validation_error"

    def __init__(self, field: str, message: str, *, code: str | None = None):
        super().__init__(f"{field}: {message}", code=code)
        self.field = field


class RateLimited(BotfleetError):
    status, code = 429, "rate_limited"
