"""The one error format (SPEC "Public API", seed 004 Appendix D)."""

from datetime import datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

from apps.contracts.events import utcnow


class ErrorCode(StrEnum):
    INVALID_REQUEST = "INVALID_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNPROCESSABLE_ENTITY = "UNPROCESSABLE_ENTITY"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    URI_TOO_LONG = "URI_TOO_LONG"
    HEADERS_TOO_LARGE = "REQUEST_HEADER_FIELDS_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"


STATUS_FOR_CODE: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: HTTPStatus.BAD_REQUEST,
    ErrorCode.UNAUTHORIZED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.RESOURCE_NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.PAYLOAD_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.UNPROCESSABLE_ENTITY: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.RATE_LIMIT_EXCEEDED: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.INTERNAL_SERVER_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.NOT_IMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
    ErrorCode.URI_TOO_LONG: HTTPStatus.REQUEST_URI_TOO_LONG,
    ErrorCode.HEADERS_TOO_LARGE: HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    ErrorCode.REQUEST_TIMEOUT: HTTPStatus.REQUEST_TIMEOUT,
}

CODE_FOR_STATUS: dict[int, ErrorCode] = {int(v): k for k, v in STATUS_FOR_CODE.items()}


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=utcnow)
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class DomainError(Exception):
    """Raised by service code; the HTTP edge turns it into the standard error body.

    Domain and service modules raise these instead of HTTP exceptions so they stay
    framework-free.
    """

    code: ErrorCode = ErrorCode.UNPROCESSABLE_ENTITY

    def __init__(self, message: str, *, code: ErrorCode | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    @property
    def status(self) -> int:
        return int(STATUS_FOR_CODE[self.code])


class NotFound(DomainError):
    code = ErrorCode.RESOURCE_NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class InvalidRequest(DomainError):
    code = ErrorCode.INVALID_REQUEST


class UnprocessableError(DomainError):
    code = ErrorCode.UNPROCESSABLE_ENTITY


class Unavailable(DomainError):
    code = ErrorCode.SERVICE_UNAVAILABLE


class Unauthorized(DomainError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class TooManyRequests(DomainError):
    """A rate limit was reached; `Retry-After` tells when to try again."""

    code = ErrorCode.RATE_LIMIT_EXCEEDED

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after, **details)
        self.headers = {"Retry-After": str(retry_after)}
