"""One error shape for the whole API: {"error": {"code": ..., "message": ..., "detail": ...}}.

Every error answered under `/api/` has it, whoever produced it:

- DRF views raise exceptions that `exception_handler` reshapes (DRF's configured handler);
- anything else under `/api/` (an unknown URL, a plain Django view's 405, an unhandled
  exception, the database being down) goes through `ApiErrorMiddleware`, and Django's
  `handler404`/`handler500` (config/urls.py) answer with `api_error_for` for `/api/` paths.

The database being unavailable (the pool timed out, the server refused) is a 503
`database_unavailable` with `Retry-After`, not a 500: the request was fine and may be retried.
An unhandled exception is logged with its traceback and answered without any of its text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import OperationalError as DjangoOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from psycopg import OperationalError as PsycopgOperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# What a client is told to wait after a database outage: long enough for a restart or a
# failover to be noticed, short enough that a hook or CI upload retries within its own timeout.
DATABASE_RETRY_AFTER_SECONDS = 5

# The code of an error response that carries no code of its own (a plain Django response).
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}
# Headers of a replaced response that still mean something for the JSON answer.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_api_path(path: str) -> bool:
    """True for the paths whose errors are JSON (`/api/…`); pages keep HTML errors."""
    return path.startswith(API_PREFIX)


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The one error shape; `detail` is left out when there is none."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return {"error": error}


@dataclass(frozen=True)
class ApiError:
    """An error answer before it is rendered: by Django (`as_response`) or by DRF."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def as_response(self) -> JsonResponse:
        response = JsonResponse(self.body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def error_response(status: int, code: str, message: str, detail: Any = None) -> JsonResponse:
    """A JSON error answer in the one shape."""
    return JsonResponse(error_body(code, message, detail), status=status)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or used (pool timeout included).

    psycopg_pool.PoolTimeout is a psycopg OperationalError; Django wraps driver errors raised
    inside its own calls into django.db.OperationalError, with the driver's as the cause.
    """
    return isinstance(exc, (DjangoOperationalError, PsycopgOperationalError))


def api_error_for(exc: BaseException | None, request: HttpRequest | None = None) -> ApiError:
    """The answer to an exception that no view turned into a response.

    Only the exception's class decides the answer; its text never reaches the client (it may
    hold SQL, host names or file paths). Anything unexpected is logged with its traceback.
    """
    if exc is not None and is_database_unavailable(exc):
        logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return ApiError(
            503,
            error_body("database_unavailable", "The database is unavailable. Retry later."),
            {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        return ApiError(404, error_body("not_found", "Not found."))
    if isinstance(exc, PermissionDenied):
        return ApiError(403, error_body("permission_denied", "Permission denied."))
    path = request.path if request is not None else "?"
    logger.error("unhandled exception on %s", path, exc_info=exc)
    return ApiError(500, error_body("server_error", "Internal server error."))


def reshape_error_response(response: HttpResponse) -> HttpResponse:
    """An error response made by plain Django (HTML or empty), turned into the JSON shape.

    A DRF `Response` is already in the shape (only rendered as HTML for the browsable API) and
    a JSON response is the endpoint's own: both are returned as they are.
    """
    if response.status_code < 400 or isinstance(response, Response):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    code = _STATUS_CODES.get(status, "error")
    try:
        message = HTTPStatus(status).phrase + "."
    except ValueError:
        message = "Error."
    replacement = error_response(status, code, message)
    for header in _KEPT_HEADERS:
        if header in response:
            replacement[header] = response[header]
    return replacement


class ApiErrorMiddleware:
    """Under `/api/`, every error is JSON in the one shape; other paths are left alone.

    It sits near the top of MIDDLEWARE so it also sees the answers of the middleware below it
    and of Django's error handlers (an unknown URL, CommonMiddleware's redirects stay as they
    are since they are not errors).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api_path(request.path):
            return reshape_error_response(response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        """A view's exception under `/api/` (even with DEBUG on) answered as JSON."""
        if not is_api_path(request.path):
            return None
        return api_error_for(exc, request).as_response()


def exception_handler(exc, context):
    """DRF's handler, reshaped so every error carries a code and a readable message.

    What DRF does not handle (it returns None) is answered here too rather than re-raised:
    a database outage is a 503, anything else a logged 500 without its text.
    """
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        error = api_error_for(exc, getattr(request, "_request", None))
        return Response(error.body, status=error.status, headers=error.headers)
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict) and "detail" in detail and len(detail) == 1:
        message = str(detail["detail"])
        code = getattr(detail["detail"], "code", code)
        detail = None
    else:
        message = "Invalid input." if response.status_code == 400 else str(exc)
    response.data = error_body(code, message, detail)
    return response
