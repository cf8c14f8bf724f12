"""Our own exception types: every user-facing failure names the file and, where known, the line."""
from __future__ import annotations


class CrystalXError(Exception):
    """A problem with the user's input or job, reported as one line without a traceback."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return where + self.message


class InputError(CrystalXError):
    """Malformed, truncated or inconsistent input file."""


class SolveError(CrystalXError):
    """Structure solution did not converge or gave no usable peaks."""


class RefinementError(CrystalXError):
    """Least-squares refinement failed or diverged."""


class RequestError(CrystalXError):
    """A service request the core cannot act on; `code` tells the client which kind."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
