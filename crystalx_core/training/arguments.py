"""Command-line value parsers shared by the training scripts, so a mistyped value ends in
argparse's one-line usage error instead of a traceback."""

from __future__ import annotations

import argparse
from typing import Callable


def span(number: Callable[[str], float] = int) -> Callable[[str], tuple]:
    """An argparse `type=` for START:STOP (two `number`s, 0 <= START <= STOP): the complexes of a
    file to take, the share of a hash range to keep."""

    def parse(text: str) -> tuple:
        try:
            start, stop = (number(part) for part in text.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not START:STOP (two {number.__name__} numbers)"
            ) from None
        if not 0 <= start <= stop:
            raise argparse.ArgumentTypeError(f"{text!r}: START:STOP needs 0 <= START <= STOP")
        return start, stop

    return parse
