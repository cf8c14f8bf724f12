"""CIF 2.0's compound values in terms gemmi's CIF 1.1 parser reads.

CIF 2.0 (Bernstein et al., J. Appl. Cryst. 49 (2016) 277) adds lists `[a b c]`, tables
`{"k":v}` (both may nest and span lines) and triple-quoted strings (`'''...'''`, `\"\"\"...\"\"\"`),
and ends a quoted string at its first closing quote. gemmi 0.7 reads CIF 1.1 and stops at
them with a bare 'parse error', so a file that is legal CIF 2.0 was refused: the COMCIFS
structure-prediction examples write `_csp_data_block.additional_files [ "a.cif" "b.cif" ]`,
Bilbao's magnetic CIFs `k1 [0 0 0]`. No item CrystalX reads (cell, symmetry, atom sites,
formula, R factors) is a list or table in files written by programs, so each becomes one quoted
CIF 1.1 word holding its text. A triple-quoted string is the text between its quotes (a
symbol, `'''P 21/c'''`, is that symbol): one quoted word on one line; over several lines it may
be a file the CIF embeds (_shelx_res_file, _shelx_hkl_file), whose line breaks matter, so gemmi
reads it as a ;-text field, as it does one holding both kinds of quote, which no quoted CIF 1.1
word can. Messages name the file's own lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Cif11Text:
    """A CIF 2.0 file's text in CIF 1.1 terms, twice: `for_gemmi` holds a triple-quoted string
    over several lines (or holding both kinds of quote) as a ;-text field, which needs a line of
    its own for the opening ';' (where text follows the opening quote) and for the closing one
    (where text comes before the closing quote); `by_line` holds it as one word, every line
    where the file has it, for the line numbers messages give."""

    for_gemmi: str
    by_line: str
    # (line of for_gemmi from which on, the lines for_gemmi has added before it)
    added: tuple[tuple[int, int], ...] = ()

    def file_line(self, line: int) -> int:
        """The file's line for a 1-based line of for_gemmi outside a text field it added."""
        shift = 0
        for start, lines in self.added:
            if line >= start:
                shift = lines
        return line - shift


def as_cif11(text: str) -> Cif11Text:
    """`text` with every CIF 2.0 list, table and one-line triple-quoted string (its text
    between the quotes) made one quoted CIF 1.1 word on the line where it starts, the lines it
    spanned left empty after it; a triple-quoted string over lines or holding both kinds of
    quote as Cif11Text says. Text outside them (text fields, comments, quoted strings) is
    copied as it is. An unclosed list, table or triple-quoted string raises UnclosedValue; an
    unclosed quoted string is left as written for gemmi's 'unterminated string'."""
    if not _COMPOUND.search(text):  # CIF 1.1 content under a CIF 2.0 header: as it is
        return Cif11Text(text, text)
    by_line: list[str] = []
    for_gemmi: list[str] = []
    added: list[tuple[int, int]] = []
    line, counted = 1, 0  # the 1-based line of text[counted]

    def copy(piece: str) -> None:
        by_line.append(piece)
        for_gemmi.append(piece)

    n, size = 0, len(text)
    line_start = True
    while n < size:
        char = text[n]
        if line_start and char == ";":  # a text field runs to the next line starting with ';'
            end = _TEXT_FIELD_END.search(text, n + 1)
            stop = size if end is None else end.end()
            copy(text[n:stop])
            n, line_start = stop, False
            continue
        if char in "\r\n":
            copy(char)
            n, line_start = n + 1, True
            continue
        if line_start:  # a line holding no bracket nor triple quote is copied whole (quoted
            stop = _line_end(text, n)  # strings and comments end on their line in CIF 2.0)
            if not _COMPOUND.search(text, n, stop):
                copy(text[n:stop])
                n = stop
                continue
        line_start = False
        if char in " \t":
            copy(char)
            n += 1
            continue
        if char == "#":
            stop = _line_end(text, n)
            copy(text[n:stop])
            n = stop
            continue
        stop = _value_end(text, n)
        if stop is None:  # unclosed
            if char in _OPEN or text.startswith(("'''", '"""'), n):
                raise UnclosedValue(_KIND[char], _line_of(text, n))
            copy(text[n:])  # a quoted string: gemmi names it
            break
        value = text[n:stop]
        if char in _OPEN or value.startswith(("'''", '"""')):
            breaks = len(_LINE_END.findall(value))
            triple = char not in _OPEN  # its value is the text between the quotes
            word = _as_word(value[3:-3] if triple else value) + "\n" * breaks
            whole = triple and (breaks or ("'" in value[3:-3] and '"' in value[3:-3]))
            field = _as_text_field(value) if whole else None
            by_line.append(word)
            for_gemmi.append(word if field is None else field[0])
            if field is not None and field[1]:
                line, counted = line + len(_LINE_END.findall(text, counted, n)), n
                total = field[1] + (added[-1][1] if added else 0)
                added.append((line + breaks + total, total))
        else:
            copy(value)
        n = stop
    return Cif11Text("".join(for_gemmi), "".join(by_line), tuple(added))


def _line_of(text: str, n: int) -> int:
    """1-based line of text[n]."""
    return len(_LINE_END.findall(text, 0, n)) + 1


def _as_text_field(value: str) -> tuple[str, int] | None:
    """(a triple-quoted string as a ;-text field, the lines that adds): its line
    breaks kept, those just inside the quotes made the field's own; None where a line of it
    starts with ';', which would end a CIF 1.1 text field."""
    body = value[3:-3]
    lead = re.match(r"\r\n|\r|\n", body)
    if lead:
        body = body[lead.end() :]
    trail = re.search(r"(?:\r\n|\r|\n)\Z", body)
    if trail:
        body = body[: trail.start()]
    if _TEXT_FIELD_END.search(body):
        return None
    opening = lead.group() if lead else "\n"
    closing = trail.group() if trail else "\n"
    return f"{opening};{body}{closing};", (lead is None) + (trail is None)


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
