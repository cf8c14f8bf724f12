"""CIF 2.0's compound values in terms gemmi's CIF 1.1 parser reads.

CIF 2.0 (Bernstein et al., J. Appl. Cryst. 49 (2016) 277) adds lists `[a b c]`, tables
`{"k":v}` (both may nest and span lines) and triple-quoted strings (`'''...'''`, `\"\"\"...\"\"\"`),
and ends a quoted string at its first closing quote. gemmi 0.7 reads CIF 1.1 and stops at
them with a bare 'parse error', so a file that is legal CIF 2.0 was refused: the COMCIFS
structure-prediction examples write `_csp_data_block.additional_files [ "a.cif" "b.cif" ]`,
Bilbao's magnetic CIFs `k1 [0 0 0]`. No item CrystalX reads (cell, symmetry, atom sites,
formula, R factors) is a compound value in files written by programs, so each compound value
becomes one quoted CIF 1.1 word holding its text, every line kept where it was (messages
name the file's own lines).
"""

from __future__ import annotations

import re

MAGIC = "#\\#CIF_2.0"
_OPEN = {"[": "]", "{": "}"}
_COMPOUND = re.compile("[\\[{]|'''|\"\"\"")  # what may open a compound value
_LINE_END = re.compile(r"\r\n|\r|\n")
_TEXT_FIELD_END = re.compile(r"(?:\r\n|\r|\n);")
_TRIPLE = "triple-quoted string"
_KIND = {"[": "list '['", "{": "table '{'", "'": _TRIPLE, '"': _TRIPLE}


class UnclosedValue(ValueError):
    """A list, table or triple-quoted string never closed, with the line it opens on: gemmi,
    handed the text as written, would call it a CIF 1.1 error (a value of several words to
    quote), which misleads for a CIF 2.0 file."""

    def __init__(self, kind: str, line: int):
        super().__init__(f"a CIF 2.0 {kind} opened on this line is never closed")
        self.line = line


def is_cif2(text: str) -> bool:
    """Whether the text declares CIF 2.0 by its magic code (first line, BOM already gone)."""
    return text.startswith(MAGIC)


def compound_values_as_words(text: str) -> str:
    """`text` with every CIF 2.0 list, table and triple-quoted string made one quoted CIF 1.1
    word on the line where it starts; the lines it spanned stay, empty, after it. Text outside
    them (text fields, comments, quoted strings) is copied as it is. An unclosed list, table or
    triple-quoted string raises UnclosedValue; an unclosed quoted string is left as written for
    gemmi's 'unterminated string'."""
    if not _COMPOUND.search(text):  # CIF 1.1 content under a CIF 2.0 header: as it is
        return text
    out: list[str] = []
    n, size = 0, len(text)
    line_start = True
    while n < size:
        char = text[n]
        if line_start and char == ";":  # a text field runs to the next line starting with ';'
            end = _TEXT_FIELD_END.search(text, n + 1)
            stop = size if end is None else end.end()
            out.append(text[n:stop])
            n, line_start = stop, False
            continue
        if char in "\r\n":
            out.append(char)
            n, line_start = n + 1, True
            continue
        if line_start:  # a line holding no bracket nor triple quote is copied whole (quoted
            stop = _line_end(text, n)  # strings and comments end on their line in CIF 2.0)
            if not _COMPOUND.search(text, n, stop):
                out.append(text[n:stop])
                n = stop
                continue
        line_start = False
        if char in " \t":
            out.append(char)
            n += 1
            continue
        if char == "#":
            stop = _line_end(text, n)
            out.append(text[n:stop])
            n = stop
            continue
        stop = _value_end(text, n)
        if stop is None:  # unclosed
            if char in _OPEN or text.startswith(("'''", '"""'), n):
                raise UnclosedValue(_KIND[char], len(_LINE_END.findall(text, 0, n)) + 1)
            out.append(text[n:])  # a quoted string: gemmi names it
            break
        value = text[n:stop]
        if char in _OPEN or value.startswith(("'''", '"""')):
            out.append(_as_word(value))
            out.append("\n" * len(re.findall(r"\r\n|\r|\n", value)))
        else:
            out.append(value)
        n = stop
    return "".join(out)


def _line_end(text: str, n: int) -> int:
    found = _LINE_END.search(text, n)
    return len(text) if found is None else found.start()


def _value_end(text: str, n: int) -> int | None:
    """Index just past the token starting at text[n] under CIF 2.0's rules; None if a quote or
    bracket it opens is never closed."""
    if text.startswith(("'''", '"""'), n):
        stop = text.find(text[n : n + 3], n + 3)
        return None if stop < 0 else stop + 3
    char = text[n]
    if char in "'\"":  # CIF 2.0: a quoted string ends at its first closing quote, on its line
        stop = text.find(char, n + 1, _line_end(text, n))
        return None if stop < 0 else stop + 1
    if char in _OPEN:
        closers = [_OPEN[char]]
        k = n + 1
        while closers:
            if k >= len(text):
                return None
            c = text[k]
            if c == closers[-1]:
                closers.pop()
                k += 1
            elif c in _OPEN:
                closers.append(_OPEN[c])
                k += 1
            elif c in "'\"":
                stop = _value_end(text, k)
                if stop is None:
                    return None
                k = stop
            elif c == "#":
                k = _line_end(text, k)
            elif c == ";" and text[k - 1] in "\r\n":  # a text field as an element (CIF 2.0)
                end = _TEXT_FIELD_END.search(text, k + 1)
                if end is None:
                    return None
                k = end.end()
            else:
                k += 1
        return k
    found = re.compile(r"[\s\[\]{}]").search(text, n + 1)  # a bare word ends at a bracket too
    return len(text) if found is None else found.start()


def _as_word(value: str) -> str:
    """One CIF 1.1 quoted word for a compound value: its text on one line, in a quote it does
    not hold (a value holding both has its single quotes made double)."""
    flat = " ".join(value.split())
    if "'" not in flat:
        return f"'{flat}'"
    if '"' not in flat:
        return f'"{flat}"'
    return "'" + flat.replace("'", '"') + "'"
