"""One exception hierarchy, mapped once to exit codes (CLI) and HTTP statuses (web).

Every error says what went wrong and where (file, line, column, field) so that
a user can fix the input without reading our code.
"""

from __future__ import annotations


class GraphsvcError(Exception):
    """Base of all errors the service reports to users."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class BadInput(GraphsvcError):
    """The input (a file, a query, a parameter) is malformed or not allowed."""

    exit_code = 2
    http_status = 400


class NotFound(BadInput):
    """The input names something that is not there (a question, a graph, a resource)."""

    http_status = 404


class TooLarge(BadInput):
    """The input exceeds a configured size limit."""

    http_status = 413


class StoreError(GraphsvcError):
    """The store could not be opened, read or written."""

    exit_code = 3
    http_status = 503
