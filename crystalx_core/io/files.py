"""Reading an input file's bytes with the checks every reader needs."""
from __future__ import annotations

from pathlib import Path

from crystalx_core.errors import InputError


def read_input_bytes(path: str, what: str) -> bytes:
    """The file's bytes; unreadable files and binary data (a NUL byte) are InputErrors."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror}", path) from None
    if b"\0" in data:
        raise InputError(f"binary data (NUL byte) in a {what}", path,
                         data.count(b"\n", 0, data.index(b"\0")) + 1)
    return data
