"""Powder-pattern files as diffractometers and Rietveld programs write them, told apart by
their content, not their suffix: PANalytical XRDML, Rigaku RAS and .rasx, GSAS banks (STD, ESD,
ALT, FXY, FXYE), Siemens/Bruker UXD, Fit2D .chi, powder CIF, and plain columns (.xy, .xye, .csv,
Rigaku .DAT, pyFAI .dat with its header). Each reader returns a Scan: the points as written,
the line each came from, and the wavelength where the file states one. The layouts follow
GSAS-II's readers (GSASII/imports/G2pwd_*.py), xylib's (xylib/*.cpp) and their sample files;
docs/pxrd_formats.md lists what is taken from each.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.pxrd import bruker_raw
from crystalx_core.pxrd.scan import Scan

_SEPARATOR = re.compile(r"[,;\s]+")
# a number grouped in thousands ('1,234', '12,345,678.5'), standing alone between separators
_THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?:\.\d*)?(?![\d,])")
# a ',' between digits that is neither (a row with decimal points and blanks: '10.02 1,23')
_INNER_COMMA = re.compile(r"\d,\d")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# pyFAI's radial units as its .dat/.xy headers name them (pyFAI units REPR)
_PYFAI_UNIT = re.compile(r"(2th_deg|2th_rad|q_nm\^-1|q_A\^-1|r_mm|d\*2_A\^-2|chi_deg)")
# 'Wavelength: 1.5406', 'wavelength (nm) = 0.15406', 'Wavelength Cu Ka1: 1.5406 A', and a
# Rigaku .DAT's ';KAlpha1 = 1.54056'; the words between are short and hold no ';' or ',' (else
# 'Wavelength unknown; range: 5-90' gave 5 Å); after 'KAlpha1' only a unit may stand (else
# 'Kalpha1/Kalpha2 ratio = 0.5' gave 0.5 Å)
_WAVELENGTH = re.compile(
    r"(?P<key>wave\s*length|(?:k\s*alpha\s*1|kα1)(?=\s*[(\[:=]))(?P<words>[^:=;,]{0,30})[:=]"
    r"\s*(?P<value>" + _NUMBER.pattern + r")\s*(?P<unit>[A-Za-zÅ]*)",
    re.I,
)
# a comment line's first character ('#', '!', quotes, Topas' '/*', UXD's and Rigaku .DAT's ';')
_COMMENT_START = "#!'\"/*;"
_BRACKETED_UNIT = re.compile(r"[(\[]\s*(nm|m|Å|A|angstroms?)\s*[)\]]", re.I)
_LAMBDA = re.compile(r"\blambda\s*[:=]?\s*(" + _NUMBER.pattern + ")", re.I)
# a title's '1.9114 A' (ILL's D1A5 .dat begins its title with the wavelength)
_ANGSTROMS = re.compile(r"(?<![\w.])(\d+\.\d+)\s*(?:Å|A)(?!\w)")
# constant-wavelength neutron powder diffractometers, by the facility that runs them (ILL, PSI,
# NIST, ANSTO, FRM II, ORNL, LLB): no X-ray wavelength may be assumed for their patterns. Their
# names are also sample and solvent names (DMC, dimethyl carbonate; D20): one counts only as
# the instrument, that is, the first word of line 1 as PSI's and ILL's own .dat files write it
# ('HRPT, <title>', 'DMC, <title>', 'D1A5 Title: ...') and of a start-step-stop title ('D2B Ni
# 4K', as FullProf titles begin), beside its own facility ('D1A(ILL)', 'PSI DMC'; not 'DMC,
# NIST SRM 660c' nor '500 PSI, D20 die') or after 'instrument'
_INSTRUMENTS_AT = {
    r"ILL": r"D1A|D1B|D2B|D20",
    r"PSI|SINQ": r"HRPT|DMC",
    r"NIST|NCNR": r"BT-?1",
    r"ANSTO|OPAL": r"ECHIDNA|Echidna|WOMBAT|Wombat",
    r"FRM[- ]?II|MLZ": r"SPODI",
    r"ORNL|HFIR": r"HB-?2A",
    r"LLB": r"3T2|G4\.1",
}
_INSTRUMENT = "(?:" + "|".join(_INSTRUMENTS_AT.values()) + ")"
_INSTRUMENT_FIRST = re.compile(rf"^\s*{_INSTRUMENT}\d*(?=[\s,]|$)")
_NEUTRON = re.compile(
    r"\b(?i:neutrons?)\b"
    + "".join(
        rf"|\b(?:{names})\s*[(@/,-]?\s*(?:at\s+)?(?:{facility})\b\)?"
        rf"|\b(?:{facility})\s*[/,:-]?\s*(?:{names})\b"
        for facility, names in _INSTRUMENTS_AT.items()
    )
    + rf"|(?i:\b(?:instrument|diffractometer|beamline)\b)\s*[:=]?\s*{_INSTRUMENT}\b"
)


def neutron_named(line: str, first: bool) -> str | None:
    """What a header line says of neutrons: the word, or a neutron diffractometer named as the
    instrument (`first`: the line begins a title, where PSI and ILL write it); None for neither."""
    found = (_INSTRUMENT_FIRST.match(line) if first else None) or _NEUTRON.search(line)
    return found[0].strip() if found else None


def read_scan(data: bytes, path: str) -> Scan:
    """The file's pattern, its format recognised by content."""
    if data.startswith(b"PK\x03\x04"):  # patterns.py passes on only a zip that is a .rasx
        return read_rasx(data, path)
    if data.startswith(bruker_raw.MAGIC):  # patterns.py passes on this one binary format
        return bruker_raw.read_raw4(data, path)
    data = data.removeprefix(b"\xef\xbb\xbf")
    text = data.decode("latin-1")
    # only CR/LF end a line: str.splitlines would also split at \x85, UTF-8's 'Å' read as latin-1
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    first = next((line.strip() for line in lines if line.strip()), "")
    if re.fullmatch("R{40,}", first):
        _refuse_ill_numor(lines, path)
    if re.match(r"<[?!A-Za-z_]", first):  # an XML tag; '<299.25K>' heads a plain .xy
        return read_xrdml(data, text, path)
    if first.startswith("*RAS_"):
        return read_ras(lines, path)
    if _is_uxd(lines):
        return read_uxd(lines, path)
    if re.search(r"(?m)^\s*data_\S", text):
        return read_pdcif(text, path)
    if any(line.startswith("BANK") for line in lines[1:]):
        return read_gsas(lines, path)
    if _is_chi(lines):
        return read_chi(lines, path)
    # line by line, as read_ttx finds its scans: a ' Scan Number :' whose number stands past a
    # lone CR (a line end here) is none
    if any(map(_TTX_SCAN.match, lines)) and any(line.startswith("****") for line in lines):
        return read_ttx(lines, path)
    stepped = _fullprof_steps(lines)
    if stepped is not None:
        return read_fullprof_steps(lines, stepped, path)
    return read_columns(lines, path)


def _refuse_ill_numor(lines: list[str], path: str) -> None:
    """ILL's standard raw format (a 'numor': R. Ghosh, ILL Standard Formatted Data): blocks keyed
    by lines of 80 R, A, I, F or S, the instrument the first word after the first A block's two
    lines. It holds counts per detector cell and angle step, reduced to a pattern by the
    instrument's own software: nothing here to read as 2θ and intensity."""
    keys = [k for k, line in enumerate(lines) if re.fullmatch("A{40,}", line.strip())]
    named = lines[keys[0] + 3].split() if keys and keys[0] + 3 < len(lines) else []
    instrument = f" of {named[0]}" if named else ""
    raise InputError(
        f"an ILL numor (raw data{instrument} in ILL's standard format, blocks keyed by lines "
        "of R, A, I, F and S): CrystalX reads reduced patterns only; export 2θ and counts "
        "(.dat or .xye, from LAMP or Mantid) and give that file",
        path,
        1,
    )


# --- plain columns and pyFAI ------------------------------------------------------------------


def stated_wavelength(line: str) -> float | None:
    """The wavelength (Å) a comment line states, in the unit after the number or in brackets
    before the ':' (nm, m, Å), else None."""
    found = _WAVELENGTH.search(line)
    if not found:
        return None
    bracketed = _BRACKETED_UNIT.search(found["words"])
    unit = found["unit"] or (bracketed.group(1) if bracketed else "")
    return _wavelength_in_angstrom(float(found["value"]), unit)


def _wavelength_in_angstrom(value: float, unit: str) -> float:
    """pyFAI writes metres ('1.5406e-10 m'); others Å or nm."""
    unit = unit.lower()
    if unit == "m" or (not unit and value < 1e-6):
        return value * 1e10
    return value * 10 if unit == "nm" else value


def _two_numbers(fields: list[str]) -> tuple[float, float] | None:
    """The first two fields as numbers, None where there are fewer or they are not numbers."""
    try:
        return float(fields[0]), float(fields[1])
    except (IndexError, ValueError):
        return None


def _decimal_points(line: str) -> str:
    """A row written with decimal commas ('10,02;1234,5' or tab-separated, as a German or French
    spreadsheet saves it) in decimal points; else ',' would split 10,02 into 10 and 2. A row
    with decimal points and a ';', tab or blank between its fields loses its thousands
    separators ('10.02 1,234' or '1,234.5', as a spreadsheet formats counts); a line with no
    ';', tab or blank between its fields is a CSV row: left alone."""
    if not re.search(r"[;\s]", line):
        return line
    if "." in line:
        return _THOUSANDS.sub(lambda found: found[0].replace(",", ""), line)
    return re.sub(r"(?<=\d),(?=\d)", ".", line)


# the names a column header gives 2θ, d (Å), Q (Å⁻¹) and the intensity ('twotheta', 'dspacing',
# 'qvalue', 'intensity' of an SSRL-style .dat; '2Theta', 'Counts'; 'Pos. [°2Th.]')
_COLUMN_NAMES = {
    "2theta": re.compile(r"(2|two)[-_ ]?(theta|th\b|θ)|^angle|^pos\b", re.I),
    "d": re.compile(r"^d([-_ ]?spacing)?(\(|\[|_?a$|$)", re.I),
    "q": re.compile(r"^q([-_ ]?value)?(\(\s*(a|å)|\[\s*(a|å)|_a\b|$)", re.I),
    "intensity": re.compile(r"^(intensity|intensities|counts|cps|i|int|iobs|yobs|y_obs)\b", re.I),
}
# the column an integrated image series numbers its images by (SSRL-style 'imagenum')
_IMAGE_COLUMN = re.compile(r"^(image|img)[-_ ]?(num(ber)?|no|index)?$", re.I)


def named_columns(header: str, fields: list[str]) -> tuple[int, int, str, int | None] | None:
    """(x column, intensity column, 'd', 'q' or '2theta', image column or None) where the
    header line before the first row names as many columns as it holds and among them an
    intensity and d, Q or 2θ (in that order of preference: d and Q need no wavelength); None
    where it does not, or names the first two columns 2θ and intensity (read as they stand)."""
    names = _column_names(header)
    if len(names) != len(fields):
        return None
    found = {
        kind: next((k for k, name in enumerate(names) if pattern.search(name)), None)
        for kind, pattern in _COLUMN_NAMES.items()
    }
    if found["intensity"] is None:
        return None
    kind = next((k for k in ("d", "q", "2theta") if found[k] is not None), None)
    if kind is None or (kind == "2theta" and (found[kind], found["intensity"]) == (0, 1)):
        return None
    image = next((k for k, name in enumerate(names) if _IMAGE_COLUMN.match(name)), None)
    return found[kind], found["intensity"], kind, image


def _column_names(header: str) -> list[str]:
    """The names a column header line gives, its comment mark left out."""
    return [n for n in _SEPARATOR.split(header.lstrip(_COMMENT_START).strip()) if n]


def _numbers_at(fields: list[str], at: tuple[int, int]) -> tuple[float, float] | None:
    """Fields `at` as numbers, None where either is not one."""
    return _two_numbers([fields[k] for k in at if k < len(fields)])


def _damaged_row(fields: list[str]) -> bool:
    """A row that begins with a number and goes on with something that is not one."""
    if len(fields) < 2:  # a line of separators alone (',', ';') has no field at all
        return False
    try:
        float(fields[0])
    except ValueError:
        return False
    return True


def read_columns(lines: list[str], path: str, first_line: int = 1, fmt: str = "columns") -> Scan:
    """2θ (or Q) and intensity in the first two columns, a third (esd) ignored. Text lines
    (comments, and whatever precedes the first two numbers: a title, a column header) may state
    the wavelength ('# Wavelength: 1.0e-10 m' as pyFAI writes it) and pyFAI's radial unit
    (2th_deg, q_A^-1, q_nm^-1 ...)."""
    rows, numbers = [], []
    wavelength, unit, key, number_led, neutron = None, None, "", False, ""
    last_text, columns, images = "", None, set()
    for number, raw in enumerate(lines, start=first_line):
        line = raw.strip()
        if not line:
            continue
        fields = [f for f in _SEPARATOR.split(_decimal_points(line)) if f]
        values = _two_numbers(fields)
        # before the data a line is header text ('<299.25K>', '2theta,intensity', a point
        # count), and so is one line that begins with a number and goes on with text ('298 K',
        # as main allowed); a second such ('10.02 1b3') is a damaged row, named below. After
        # the data begin, only a comment is text
        damaged = values is None and not rows and _damaged_row(fields)
        header = values is None and not rows and not (damaged and number_led)
        number_led = number_led or damaged
        if line[0] in _COMMENT_START or line[0].isalpha() or header:
            if wavelength is None and (wavelength := stated_wavelength(line)) is not None:
                key = _WAVELENGTH.search(line)["key"]
            named = _PYFAI_UNIT.search(line)
            if named and unit is None:
                unit = named.group(1)
            if not neutron and (named := neutron_named(line, number == 1)):
                neutron = f"line {number} names {named!r}"
            last_text = last_text if rows else line
            continue
        if not rows:
            columns = named_columns(last_text, fields)
        if columns is not None:
            values = _numbers_at(fields, columns[:2])
            if columns[3] is not None and columns[3] < len(fields):
                images.add(fields[columns[3]])
        if len(fields) < 2:
            raise InputError(f"expected 2θ and intensity, found {line[:40]!r}", path, number)
        if "." in line and re.search(r"[;\s]", line) and _INNER_COMMA.search(_decimal_points(line)):
            raise InputError(
                f"a ',' inside a number in {line[:40]!r}: neither a decimal comma (the row has "
                "decimal points) nor a thousands separator (not in groups of three)",
                path,
                number,
            )
        if values is None:
            raise InputError(f"not numbers: {line[:40]!r}", path, number)
        rows.append(values)
        numbers.append(number)
    if not rows and any(line.strip() for line in lines):  # header text is all it holds
        raise InputError(
            "no line holds two numbers (2θ and intensity): not a powder pattern, or not in a "
            "format CrystalX reads",
            path,
        )
    x, y = (np.array(column, dtype=float) for column in zip(*rows)) if rows else (np.zeros(0),) * 2
    scan = Scan(x, y, np.array(numbers), fmt, neutron=neutron)
    if wavelength is not None:
        scan.wavelength, scan.wavelength_from = wavelength, f"its '{key}' header line"
    if columns is not None:
        names = _column_names(last_text)
        scan.notes.append(f"columns {names[columns[0]]!r} and {names[columns[1]]!r} read")
        if len(images) > 1:  # an integrated image series: one pattern per image, one after another
            scan.notes.append(
                f"{len(images)} images (column {names[columns[3]]!r}) merged: each 2θ the mean "
                "of their intensities; to read one image, save its rows alone"
            )
        if columns[2] == "d":  # Å: no wavelength needed
            scan.x, scan.axis = 2 * np.pi / np.where(scan.x > 0, scan.x, np.nan), "q"
        elif columns[2] == "q":
            scan.axis = "q"
    if unit in ("r_mm", "d*2_A^-2", "chi_deg"):
        raise InputError(
            f"the pattern's axis is {unit} (pyFAI): integrate it in 2th_deg or q_A^-1", path
        )
    if unit is not None:
        scan.format = "pyFAI columns"
        if unit.startswith("q_"):
            scan.axis = "q"
            if unit == "q_nm^-1":
                scan.x = scan.x / 10
        elif unit == "2th_rad":
            scan.x = np.degrees(scan.x)
    return scan


# --- FullProf's free format (INSTRM=0): start, step, stop, then counts -----------------------


def _leading_numbers(line: str) -> list[float]:
    """The numbers a line begins with, up to its first word that is not one."""
    numbers = []
    for word in line.replace(",", " ").split():
        try:
            numbers.append(float(word))
        except ValueError:
            break
    return numbers


def _fullprof_steps(lines: list[str]) -> tuple[int, float, float, int] | None:
    """(line index, start, step, point count) where the file holds a start, step, stop line:
    one of its first 6 lines begins with three numbers that make a whole number of steps, and
    the next line holds another number of numbers and is no 2θ, intensity row from the start
    (else it is a header over columns). xylib's riet7.cpp check, for RIET7/LHPM, ILL D1A5,
    PSI DMC and FullProf's free format."""
    for at, line in enumerate(lines[:6]):
        head = _leading_numbers(line)
        if len(head) < 3:
            continue
        start, step, stop = head[:3]
        if not (-180 < start < stop <= 180 and 0 < step):  # ILL's D1A5 starts at -10°
            continue
        steps = (stop - start) / step + 1
        if not np.isfinite(steps):  # a step of 1e-320
            continue
        following = _leading_numbers(lines[at + 1]) if at + 1 < len(lines) else []
        first_row = len(following) in (2, 3) and abs(following[0] - start) < step / 2
        if round(steps) >= 4 and abs(round(steps) - steps) <= 1e-2 and not first_row:
            if len(following) != len(head):
                return at, start, step, round(steps)
    return None


def read_fullprof_steps(lines: list[str], stepped: tuple, path: str) -> Scan:
    """Counts at start + k·step after a 'start step stop' line: FullProf's free format
    (INSTRM=0; GSAS-II G2pwd_FP.py), RIET7, ILL D1A5 and PSI DMC .dat (xylib riet7.cpp), any
    number of counts a line, as many as the steps (PSI DMC writes text after them). Title lines
    before it may state the wavelength ('lambda 2.45', GSAS-II's reading) and may name neutrons
    or a neutron diffractometer (Fox's PbSO4 'D1A(ILL)'), which marks the pattern as neutron."""
    at, start, step, count = stepped
    ys, numbers = [], []
    for number, raw in enumerate(lines[at + 1 :], start=at + 2):
        if len(ys) >= count:
            break
        for value in raw.replace(",", " ").split():
            try:
                ys.append(float(value))
            except ValueError:
                raise InputError(f"not a count: {value[:20]!r}", path, number) from None
            numbers.append(number)
    if len(ys) < count:
        raise InputError(
            f"line {at + 1} gives {float(count):.6g} steps ({start:g} to "
            f"{start + step * (count - 1):g}° by {step:g}), the file holds {len(ys)} counts "
            "(cut short?)",
            path,
            len(lines),
        )
    ys, numbers = ys[:count], numbers[:count]
    scan = Scan(
        start + step * np.arange(count), np.array(ys), np.array(numbers), "start-step-stop .dat"
    )
    # the title after start, step and stop on their line (FullProf's free format, Fox's PbSO4)
    titles = [*lines[:at], " ".join(lines[at].split()[3:])]
    named = next(filter(None, (neutron_named(t, k in (0, at)) for k, t in enumerate(titles))), None)
    if named:
        scan.neutron = f"its title names {named!r}"
    stated = next(
        filter(None, (stated_wavelength(t) or _lambda(t) or _angstroms(t) for t in titles)), None
    )
    if stated is not None:
        scan.wavelength, scan.wavelength_from = stated, "its title lines"
    return scan


def _lambda(line: str) -> float | None:
    found = _LAMBDA.search(line)
    return float(found[1]) if found else None


def _angstroms(line: str) -> float | None:
    found = _ANGSTROMS.search(line)
    return float(found[1]) if found and 0.1 < float(found[1]) < 10 else None


# --- several scans, each headed by its motor positions (.TTX) ---------------------------------

_TTX_SCAN = re.compile(r"[ \t]*Scan Number[ \t]*:[ \t]*\d+")
_TTX_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$")


def read_ttx(lines: list[str], path: str) -> Scan:
    """A .TTX series (pdiffutils' Read.ttx; its data/Ce_short.TTX): 'File :' and 'Number of
    points :' lines, a line naming the motors, then per scan a '****' line, 'Scan Number : k',
    the motors' positions (a temperature among them), 'Acq time : t' and 2θ, counts rows. The
    scans are states of a series (25, 50 ... °C), not parts of one pattern: the first is read."""
    header = {}
    for number, raw in enumerate(lines, start=1):
        found = _TTX_KEY.match(raw)
        if found:
            header.setdefault(found[1].lower(), (found[2].strip(), number))
    starts = [n for n, raw in enumerate(lines) if _TTX_SCAN.match(raw)]
    ends = [
        next((k for k in range(s + 1, len(lines)) if lines[k].lstrip().startswith("*")), len(lines))
        for s in starts
    ]
    # the scan's rows follow 'Acq time', two lines after 'Scan Number' (the motors between)
    first = next(
        (k + 1 for k in range(starts[0], ends[0]) if lines[k].lower().lstrip().startswith("acq")),
        starts[0] + 2,
    )
    scan = read_columns(lines[first : ends[0]], path, first_line=first + 1, fmt=".TTX series")
    stated, line = header.get("number of points", ("", None))
    if stated.isdigit() and int(stated) != len(scan.x):
        raise InputError(
            f"'Number of points' (line {line}) says {stated}, scan 1 has {len(scan.x)} (cut "
            "short?)",
            path,
            ends[0] + 1,
        )
    if len(starts) > 1:
        motors = next((r.split() for r in lines[: starts[0]] if "Temperature" in r.split()), [])
        at = motors.index("Temperature") if motors else None
        states = [_field_or(lines, s + 1, at) for s in starts] if at is not None else []
        scan.notes.append(
            f"scan 1 of {len(starts)} read"
            + (f" (Temperature {states[0]}; the series: {', '.join(states)})" if states else "")
            + ": the file is a series of scans, not one pattern; to read another, save its "
            "2θ, counts rows alone as .xy"
        )
    return scan


def _field_or(lines: list[str], k: int, at: int) -> str:
    """Field `at` of line k, '?' where there is none."""
    fields = lines[k].split() if k < len(lines) else []
    return fields[at] if at < len(fields) else "?"


# --- Fit2D .chi ---------------------------------------------------------------------------


def _is_chi(lines: list[str]) -> bool:
    """Fit2D's four header lines: title, x label, y label, number of points."""
    return (
        len(lines) > 4
        and lines[3].strip().isdigit()
        and not _NUMBER.fullmatch(lines[1].strip().split()[0] if lines[1].split() else "")
    )


def read_chi(lines: list[str], path: str) -> Scan:
    """Fit2D .chi (as GSAS-II's G2export_FIT2D writes it): title, x label ('2-Theta Angle
    (Degrees)', 'Q (Angstroms-1)', GSAS-II's 'Q  <wavelength>'), y label, point count."""
    label = lines[1].strip()
    lower = label.lower()
    expected = int(lines[3])
    scan = read_columns(lines[4:], path, first_line=5, fmt="Fit2D .chi")
    if len(scan.x) != expected:
        raise InputError(
            f"the header says {expected} points, the file has {len(scan.x)} (cut short?)",
            path,
            len(lines),
        )
    if re.search(r"2-?theta|two-?theta|angle", lower):
        if "rad" in lower:
            scan.x = np.degrees(scan.x)
    elif lower.startswith("q"):
        scan.axis = "q"
        if "nm" in lower:
            scan.x = scan.x / 10
        stated = [float(v) for v in _NUMBER.findall(label[1:]) if 0.1 < float(v) < 5]
        if stated and "nm" not in lower and "-1" not in lower:
            scan.wavelength, scan.wavelength_from = stated[0], "its Q axis label (line 2)"
    else:
        raise InputError(
            f"x axis {label[:40]!r}: a .chi in 2θ or Q is needed (a radial distance needs the "
            "detector geometry)",
            path,
            2,
        )
    return scan


# --- PANalytical XRDML ----------------------------------------------------------------------


def _token_line(text: str, token: str, from_line: int | None) -> int | None:
    """The line of `token` standing alone (between blanks or tags) at or after `from_line`:
    a bad value's own line, not an earlier line that happens to hold the same characters."""
    start = 0
    for _ in range((from_line or 1) - 1):
        start = text.find("\n", start) + 1
    found = re.compile(r"(?<![^\s>])" + re.escape(token) + r"(?![^\s<])").search(text, start)
    return text.count("\n", 0, found.start()) + 1 if found else from_line


def _line_of(text: str, needle: str, nth: int = 0) -> int | None:
    """The line of the nth occurrence of `needle` (XML elements carry no line numbers)."""
    at = -1
    for _ in range(nth + 1):
        at = text.find(needle, at + 1)
        if at < 0:
            return None
    return text.count("\n", 0, at) + 1


def _not_a_number(tokens: list[str]) -> str | None:
    """The first token float() refuses, else None."""
    for token in tokens:
        try:
            float(token)
        except ValueError:
            return token
    return None


def _xml_numbers(element, text: str, path: str, line: int | None) -> np.ndarray:
    """An XML element's numbers; a token that is not one is named, with its line."""
    tokens = (element.text or "").split()
    bad = _not_a_number(tokens)
    if bad is not None:
        name = element.tag.split("}")[-1]
        raise InputError(
            f"<{name}> holds {bad[:20]!r}, not a number", path, _token_line(text, bad, line)
        )
    return np.array(tokens, dtype=float)


def _xml_number(element, text: str, path: str, line: int | None) -> float:
    """An XML element that holds one number."""
    values = _xml_numbers(element, text, path, line)
    if len(values) != 1:
        name = element.tag.split("}")[-1]
        raise InputError(f"<{name}> holds {len(values)} numbers, not one", path, line)
    return float(values[0])


def _unattenuated(counts: np.ndarray, points, tag, text: str, path: str, line: int | None):
    """Raw <counts> (schema 2.x: 'not yet corrected for beam attenuator') times their
    attenuation factors: beamAttenuationFactors, one a point (a programmable attenuator drops
    in where the count rate passes its activateLevel: FAIRmat readers-xrd's m54313_om2th_10
    counts its peak, 1877, at factor 188), or one commonBeamAttenuationFactor for the scan.
    <intensities> are corrected already."""
    listed = points.find(tag("beamAttenuationFactors"))
    common = points.find(tag("commonBeamAttenuationFactor"))
    if listed is not None:
        scale = _xml_numbers(listed, text, path, line)
        if len(scale) != len(counts):
            raise InputError(
                f"{len(scale)} beamAttenuationFactors for {len(counts)} counts", path, line
            )
    elif common is not None:
        scale = np.array([_xml_number(common, text, path, line)])
    else:
        return counts
    if not (scale > 0).all():
        raise InputError(f"a beam attenuation factor of {scale.min():g}: not positive", path, line)
    return counts * scale


def read_xrdml(data: bytes, text: str, path: str) -> Scan:
    """PANalytical XRDML (schema 1.x–2.x): every scan's 2θ positions (startPosition/endPosition
    or listPositions) with its intensities or counts, per second where commonCountingTime is
    given, and usedWavelength's kAlpha1 (kBeta when it is intended). Scans are merged, but
    of a non-ambient series (a scan with nonAmbientPoints, as GSAS-II reads its temperature)
    only the first is read. Layout: GSAS-II G2pwd_Panalytical.py, xylib's
    samples/empyrean.xrdml."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        line = error.position[0] if error.position else None
        reason = str(error).split(":")[0]
        raise InputError(
            f"broken XML ({reason}): the file is cut short or damaged", path, line
        ) from None
    space = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""

    def tag(name: str) -> str:
        return f"{{{space}}}{name}" if space else name

    if not root.tag.endswith("xrdMeasurements"):
        raise InputError(f"an XML file whose root is {root.tag!r}, not PANalytical XRDML", path, 1)
    xs, ys, scan_lines = [], [], []
    wavelength, notes, count, beta, series = None, [], 0, False, False
    for measurement in root.iter(tag("xrdMeasurement")):
        if measurement.get("measurementType") == "Area measurement":  # a map, e.g. ω-2θ
            raise InputError(
                "an XRDML area measurement (2θ scans stepped in "
                f"{measurement.get('measurementStepAxis', 'another axis')}): a map, not a "
                "powder pattern",
                path,
                _line_of(text, "<xrdMeasurement "),
            )
        used = measurement.find(tag("usedWavelength"))
        if used is not None and wavelength is None:
            intended = used.get("intended", "")
            beta = intended == "K-Beta"  # a Kβ measurement (Kα filtered out) is read at Kβ
            stated = used.find(tag("kBeta" if beta else "kAlpha1"))
            if stated is not None and stated.text:
                wavelength = _xml_number(stated, text, path, _line_of(text, "<usedWavelength"))
                notes.append(
                    "Kα1 only (usedWavelength intended 'K-Alpha 1'): nothing to strip"
                    if intended == "K-Alpha 1"
                    else "Kβ (usedWavelength intended 'K-Beta'): read at kBeta"
                    if beta
                    else f"{intended or 'Kα1 + Kα2'} radiation: read at Kα1, Kα2 left in"
                )
        for scan in measurement.iter(tag("scan")):
            points = scan.find(tag("dataPoints"))
            line = _line_of(text, "<dataPoints", count) or None
            count += 1
            if points is None:
                raise InputError(
                    "a scan without dataPoints", path, _line_of(text, "<scan", count - 1)
                )
            counts = points.find(tag("intensities"))
            counts = counts if counts is not None else points.find(tag("counts"))
            if counts is None or not (counts.text or "").strip():
                raise InputError("a scan without intensities or counts", path, line)
            y = _xml_numbers(counts, text, path, line)
            if counts.tag == tag("counts"):
                y = _unattenuated(y, points, tag, text, path, line)
            positions = next(
                (p for p in points.iter(tag("positions")) if p.get("axis") == "2Theta"), None
            )
            if positions is None:
                axes = ", ".join(p.get("axis", "?") for p in points.iter(tag("positions")))
                raise InputError(f"a scan without 2Theta positions (axes: {axes})", path, line)
            listed = positions.find(tag("listPositions"))
            if listed is not None and listed.text:
                x = _xml_numbers(listed, text, path, line)
            else:
                start, end = (
                    positions.find(tag("startPosition")),
                    positions.find(tag("endPosition")),
                )
                if start is None or end is None:
                    raise InputError("2Theta positions without start and end", path, line)
                x = np.linspace(
                    _xml_number(start, text, path, line), _xml_number(end, text, path, line), len(y)
                )
            if len(x) != len(y):
                raise InputError(f"{len(x)} 2Theta positions for {len(y)} intensities", path, line)
            time = points.find(tag("commonCountingTime"))
            seconds = _xml_number(time, text, path, line) if time is not None else 0.0
            if seconds > 0:
                y = y / seconds
            xs.append(x)
            ys.append(y)
            scan_lines.append(np.full(len(x), line or 0))
            series = series or scan.find(tag("nonAmbientPoints")) is not None
    if not xs:
        raise InputError("an XRDML file without a scan", path)
    if count > 1 and series:  # a temperature (non-ambient) series: one state, not their mean
        xs, ys, scan_lines = xs[:1], ys[:1], scan_lines[:1]
        notes.append(f"scan 1 of {count} read: a non-ambient series (nonAmbientPoints)")
    elif count > 1:
        notes.append(f"{count} scans merged")
    scan = Scan(np.concatenate(xs), np.concatenate(ys), np.concatenate(scan_lines), "XRDML")
    if wavelength is not None:
        scan.wavelength = wavelength
        scan.wavelength_from = "usedWavelength/" + ("kBeta" if beta else "kAlpha1")
    scan.notes = notes
    return scan


# --- Rigaku RAS ---------------------------------------------------------------------------


def _refuse_rigaku_axis(axis: str, where: str, path: str) -> None:
    """Rigaku names the scanned axis (.ras *MEAS_SCAN_AXIS_X, .rasx AxisName): an Omega rocking
    curve or a Phi scan parses as well as a 2θ scan (TwoTheta, TwoThetaOmega, TwoThetaTheta,
    in-plane TwoThetaChi) and is no powder pattern (rietx 1.10 io/formats/ras.py refuses it)."""
    axis = axis.strip()
    if axis and not axis.replace(" ", "").lower().startswith("twotheta"):
        raise InputError(f"{where}: a scan of {axis}, not 2θ: not a powder pattern", path)


def _ras_point(line: str) -> tuple[float, float]:
    """A RAS (or .rasx profile) row: 2θ, and the counts times the attenuator factor (column 3;
    1 without one); a ValueError says what is wrong."""
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        raise ValueError(f"not numbers: {line[:40]!r}") from None
    if len(values) < 2:
        raise ValueError(f"expected 2θ and counts, found {line[:40]!r}")
    return values[0], values[1] * (values[2] if len(values) > 2 and values[2] > 0 else 1.0)


def read_ras(lines: list[str], path: str) -> Scan:
    """Rigaku RAS: '*KEY "value"' header lines, then 2θ, counts and a scale factor (attenuator;
    1 without one) between *RAS_INT_START and *RAS_INT_END, once per scan. Layout: GSAS-II
    G2pwd_rigaku.py; the factor multiplies the counts as reductus' rigaku.py and NIMS's RDE XRD
    reader do (an automatic attenuator lowers the counts it is in the beam for; those that drop
    the column found no file where it varies: docs/pxrd_formats.md)."""
    xs, ys, numbers, header = [], [], [], {}
    inside = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line == "*RAS_INT_START":
            inside = True
        elif line == "*RAS_INT_END":
            inside = False
        elif inside:
            try:
                x, y = _ras_point(line)
            except ValueError as error:
                raise InputError(str(error), path, number) from None
            xs.append(x)
            ys.append(y)
            numbers.append(number)
        elif line.startswith("*") and " " in line:
            key, value = line[1:].split(" ", 1)
            header.setdefault(key, value.strip().strip('"'))
    if "*RAS_INT_START" not in (line.strip() for line in lines):
        raise InputError(
            "a Rigaku RAS file without *RAS_INT_START: it holds no data", path, len(lines)
        )
    if inside:
        raise InputError(
            "the data end without *RAS_INT_END: the file is cut short", path, len(lines)
        )
    _refuse_rigaku_axis(header.get("MEAS_SCAN_AXIS_X", ""), "*MEAS_SCAN_AXIS_X", path)
    scan = Scan(np.array(xs), np.array(ys), np.array(numbers), "Rigaku RAS")
    # a Kβ measurement says so in MEAS_COND_XG_WAVE_TYPE (reductus rigaku.py reads it the same)
    key = "HW_XG_WAVE_LENGTH_" + (
        "BETA" if header.get("MEAS_COND_XG_WAVE_TYPE", "").lower() == "kb" else "ALPHA1"
    )
    try:
        scan.wavelength, scan.wavelength_from = float(header[key]), "*" + key
    except (KeyError, ValueError):
        pass
    return scan


_RASX_PROFILE = re.compile(r"Data\d+/Profile\d+\.txt")
# what zipfile raises on a damaged or crafted archive (bad CRC, cut short, bad offsets, packing;
# RuntimeError: an encrypted member, 'password required')
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    NotImplementedError,
    EOFError,
    ValueError,
    OSError,
    zlib.error,
    RuntimeError,
)


def is_rasx(data: bytes) -> bool:
    """A zip holding Rigaku's Data<n>/Profile<n>.txt members."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(_RASX_PROFILE.fullmatch(name) for name in archive.namelist())
    except _ZIP_ERRORS:
        return False


def _member(archive: zipfile.ZipFile, name: str, path: str) -> bytes:
    """A member's bytes; a damaged archive (bad CRC, cut short, unknown packing) is named."""
    try:
        return archive.read(name)
    except _ZIP_ERRORS as error:
        raise InputError(f"{name} does not unpack ({error}): a damaged .rasx", path) from None


def _refuse_rasx_non_powder(measurement, conditions: str, path: str) -> None:
    """A .rasx also holds what is not a 2θ pattern: a scan of another axis or a
    reciprocal-space map (RSMInformation: profiles stepped in Omega), which merged would read
    as one pattern."""
    _refuse_rigaku_axis(measurement.findtext("ScanInformation/AxisName", ""), conditions, path)
    if measurement.find("RSMInformation") is not None:
        stepped = measurement.findtext("RSMInformation/StepAxisName", "another axis")
        raise InputError(
            f"{conditions}: a reciprocal-space map (2θ scans stepped in {stepped}), not a "
            "powder pattern",
            path,
        )


def read_rasx(data: bytes, path: str) -> Scan:
    """Rigaku .rasx (SmartLab Studio II): a zip whose Data<n>/Profile<n>.txt hold 2θ, counts
    and the attenuator factor as a .ras does (read the same way, every profile, scans merged),
    beside Data<n>/MesurementConditions<n>.xml (Rigaku's spelling) with the X-ray generator's
    WaveType and WavelengthKalpha1 (WavelengthKbeta for 'Kb'). Layout: fairmat-readers-xrd's
    ikz.RASXfile and its tests/data/TwoTheta_scan_powder.rasx."""
    import xml.etree.ElementTree as ElementTree

    from crystalx_core.io.files import MAX_INPUT_BYTES

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        profiles = sorted(n for n in names if _RASX_PROFILE.fullmatch(n))
        if not profiles:
            raise InputError("a zip archive without Data<n>/Profile<n>.txt: not a .rasx", path, 1)
        conditions = profiles[0].replace("Profile", "MesurementConditions")[:-4] + ".xml"
        # zipfile unpacks no more than a member's stated size: their sum bounds the memory (a
        # zip bomb packs gigabytes into kilobytes, in one member or spread over many)
        read = profiles + [conditions] * (conditions in names)
        unpacked = sum(archive.getinfo(name).file_size for name in read)
        if unpacked > MAX_INPUT_BYTES:
            raise InputError(
                f"its members unpack to {unpacked // 2**20} MB, over the "
                f"{MAX_INPUT_BYTES // 2**20} MB limit for a powder pattern (a zip bomb?)",
                path,
            )
        measurement = None
        if conditions in names:
            try:
                measurement = ElementTree.fromstring(_member(archive, conditions, path))
            except ElementTree.ParseError:
                raise InputError(f"{conditions} is not readable XML", path) from None
            _refuse_rasx_non_powder(measurement, conditions, path)
        xs, ys = [], []
        for name in profiles:
            text = _member(archive, name, path).decode("utf-8-sig", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    x, y = _ras_point(line.strip())
                except ValueError as error:
                    raise InputError(f"{name} line {number}: {error}", path) from None
                xs.append(x)
                ys.append(y)
    generator = measurement.find(".//XrayGenerator") if measurement is not None else None
    scan = Scan(np.array(xs), np.array(ys), np.zeros(len(xs), dtype=int), "Rigaku .rasx")
    if len(profiles) > 1:
        scan.notes.append(f"{len(profiles)} profiles merged")
    if generator is not None:
        beta = generator.findtext("WaveType", "").lower() == "kb"  # as .ras's WAVE_TYPE
        key = "WavelengthKbeta" if beta else "WavelengthKalpha1"
        try:
            scan.wavelength = float(generator.findtext(key, ""))
            scan.wavelength_from = f"{conditions} {key}"
        except ValueError:
            pass
    return scan


# --- Siemens/Bruker UXD ---------------------------------------------------------------------

_UXD_STEPPED = ("_COUNTS", "_CPS")
_UXD_PAIRED = ("_2THETACOUNTS", "_2THETACPS", "_2THETACOUNTSTIME")


def _is_uxd(lines: list[str]) -> bool:
    """UXD: ';' comments, then '_KEY=value' lines (xylib's check: _FILEVERSION first)."""
    first = next((s.strip() for s in lines if s.strip() and not s.strip().startswith(";")), "")
    return bool(re.match(r"_[A-Z0-9_]+(=|$)", first))


def read_uxd(lines: list[str], path: str) -> Scan:
    """Siemens/Bruker UXD: per range, _START and _STEPSIZE then _COUNTS (or _CPS) values, or
    _2THETACOUNTS (_2THETACPS) pairs; _WL1 the wavelength (_RANGE_WL per range); counts per
    second where _STEPTIME is given. Layout: xylib uxd.cpp and its samples/BT86.UXD."""
    xs, ys, numbers = [], [], []
    keys: dict[str, str] = {}
    key_lines: dict[str, int] = {}
    mode, k = None, 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("_"):
            key, _, value = line.partition("=")
            key = key.strip().upper()
            if key in _UXD_STEPPED + _UXD_PAIRED:
                mode, k = key, 0
            elif key in ("_D-I", "_2THETA-I"):  # a peak list, not the pattern
                mode = "peaks"
            else:
                keys[key], key_lines[key] = value.strip().strip("'"), number
                if key == "_DRIVE":
                    mode = None
            continue
        if mode == "peaks":
            continue
        if mode is None:
            raise InputError(f"data before _COUNTS or _2THETACOUNTS: {line[:40]!r}", path, number)
        try:
            values = [float(v) for v in _SEPARATOR.split(line) if v]
        except ValueError:
            raise InputError(f"not numbers: {line[:40]!r}", path, number) from None
        try:
            time = float(keys.get("_STEPTIME", 0) or 0)
        except ValueError:
            raise InputError(
                f"_STEPTIME={keys['_STEPTIME'][:20]} is not a number", path, key_lines["_STEPTIME"]
            ) from None
        if mode in _UXD_PAIRED:
            if len(values) < 2:
                raise InputError(f"expected 2θ and counts, found {line[:40]!r}", path, number)
            y = values[1]
            if mode == "_2THETACOUNTSTIME" and len(values) > 2 and values[2] > 0:
                y /= values[2]
            elif mode == "_2THETACOUNTS" and time > 0:
                y /= time
            xs.append(values[0])
            ys.append(y)
            numbers.append(number)
        else:
            try:
                start, step = float(keys["_START"]), float(keys["_STEPSIZE"])
            except (KeyError, ValueError):
                raise InputError("_COUNTS without _START and _STEPSIZE", path, number) from None
            for value in values:
                xs.append(start + step * k)
                ys.append(value / time if mode == "_COUNTS" and time > 0 else value)
                numbers.append(number)
                k += 1
    if not xs:
        raise InputError("a UXD file without _COUNTS or _2THETACOUNTS data", path, len(lines))
    scan = Scan(np.array(xs), np.array(ys), np.array(numbers), "UXD")
    for key in ("_WL1", "_RANGE_WL"):
        try:
            scan.wavelength, scan.wavelength_from = float(keys[key]), key
            break
        except (KeyError, ValueError):
            continue
    return scan


# --- GSAS ---------------------------------------------------------------------------------

_GSAS_TYPES = ("STD", "ESD", "ALT", "FXYE", "FXY")


def _field(text: str) -> float:
    """A fixed-width number; blank is 0 (Fortran's reading)."""
    return float(text) if text.strip() else 0.0


def read_gsas(lines: list[str], path: str) -> Scan:
    """GSAS raw data (GSAS manual; GSAS-II G2pwd_fxye.py): a title line, then
    'BANK n NCHAN NREC CONST|CONS start step 0 0 TYPE' with 2θ in centidegrees and TYPE
    STD (10 values a line, each I2 counters + F6), ESD (5 pairs of F8), ALT (4 groups of
    F8 position in 1/32 centidegree, F7, F5) or FXY/FXYE (free columns). The first bank is read."""
    banks = [n for n, line in enumerate(lines) if n > 0 and line.startswith("BANK")]
    head = banks[0]
    fields = lines[head].split()
    bank_line = head + 1
    try:
        nchan = int(fields[2])
        bintyp = fields[4].upper()
    except (IndexError, ValueError):
        raise InputError(
            f"a BANK line without NCHAN and BINTYP: {lines[head][:60]!r}", path, bank_line
        ) from None
    kind = next((t for t in _GSAS_TYPES if t in (f.upper() for f in fields[5:])), "STD")
    if bintyp not in ("CONST", "CONS"):
        raise InputError(
            f"a {bintyp} bank (time of flight or log binning): not an angle-dispersive pattern",
            path,
            bank_line,
        )
    end = banks[1] if len(banks) > 1 else len(lines)
    body = [
        (n + 1, lines[n].rstrip("\r\n"))
        for n in range(head + 1, end)
        if lines[n].strip() and not lines[n].startswith("#")
    ]
    xs, ys, numbers = [], [], []
    try:
        start, step = float(fields[5]) / 100, float(fields[6]) / 100
    except (IndexError, ValueError):
        if kind in ("STD", "ESD"):
            raise InputError("a CONST bank without start and step", path, bank_line) from None
        start = step = 0.0
    for number, line in body:
        if len(xs) >= nchan:
            break
        try:
            if kind == "STD":
                values = [
                    _field(line[i + 2 : i + 8])
                    for i in range(0, len(line), 8)
                    if line[i : i + 8].strip()
                ]
            elif kind == "ESD":
                values = [
                    _field(line[i : i + 8])
                    for i in range(0, len(line), 16)
                    if line[i : i + 8].strip()
                ]
            elif kind == "ALT":
                groups = [
                    line[i : i + 20] for i in range(0, len(line), 20) if line[i : i + 8].strip()
                ]
                values = [(_field(g[:8]) / 3200, _field(g[8:15])) for g in groups]
            else:
                columns = line.split()
                values = [(float(columns[0]) / 100, float(columns[1]))]
        except (ValueError, IndexError):
            raise InputError(f"not {kind} data: {line[:40]!r}", path, number) from None
        for value in values:
            if len(xs) >= nchan:
                break
            if isinstance(value, tuple):
                xs.append(value[0])
                ys.append(value[1])
            else:
                xs.append(start + step * len(xs))
                ys.append(value)
            numbers.append(number)
    if len(xs) < nchan:
        last = body[-1][0] if body else bank_line
        raise InputError(
            f"the BANK line says {nchan} points, the bank has {len(xs)} (cut short?)", path, last
        )
    scan = Scan(np.array(xs), np.array(ys), np.array(numbers), f"GSAS {kind}")
    if len(banks) > 1:
        scan.notes.append(f"bank 1 of {len(banks)} read")
    stated = next(filter(None, map(stated_wavelength, lines[:head])), None)
    if stated is not None:
        scan.wavelength = stated
        scan.wavelength_from = "a 'wavelength' comment before the BANK line"
    _read_named_prm(scan, lines[:head], path)
    return scan


_PRM_NAMED = re.compile(r"^\s*Instrument parameter file:\s*(\S.*?)\s*$", re.I)
_ICONS = re.compile(r"^INS\s+1\s*ICONS\s*(" + _NUMBER.pattern + ")")
# the histogram type: P(owder), X(-ray)/N(eutron)/E(nergy dispersive), C(onstant wavelength)/
# T(ime of flight); GSAS-II reads its first 3 characters (GSASIIfiles.py SetPowderInstParms)
_HTYPE = re.compile(r"^INS\s+HTYPE\s+(P[XNE][CT])")


def _read_named_prm(scan: Scan, header: list[str], path: str) -> None:
    """What the instrument parameter file a GSAS header names ('Instrument parameter
    file:x.prm', as GSAS-II's FXYE export writes it beside the data: GSAS-II
    exports/G2export_pwdr.py) says, where it is beside the data: its 'INS   HTYPE' (PNC: a
    neutron pattern; PXC: X-rays), and its 'INS  1 ICONS' λ1 where the header states none; a
    note where the file is not there."""
    named = next((m.group(1) for m in map(_PRM_NAMED.match, header) if m), None)
    if named is None:
        return
    prm = Path(path).parent / Path(named.replace("\\", "/")).name
    try:
        text = prm.read_text(encoding="latin-1").splitlines()
    except OSError:
        scan.notes.append(f"the instrument parameter file it names, {named}, not found beside it")
        return
    htype = next((m.group(1) for m in map(_HTYPE.match, text) if m), "")
    if htype == "PNC":
        scan.neutron = f"HTYPE {htype} of {prm.name}, the instrument parameter file it names"
    icons = next((m for m in map(_ICONS.match, text) if m), None)
    if icons is None or scan.wavelength is not None:
        return
    value = float(icons.group(1))
    if 0.1 < value < 10 and not htype.endswith("T"):
        scan.wavelength = value
        scan.wavelength_from = f"ICONS of {prm.name}, the instrument parameter file it names"
    else:  # a time-of-flight bank's ICONS holds DIFC (~700), no wavelength
        scan.notes.append(
            f"ICONS of {prm.name} holds {value:g}, no wavelength (a time-of-flight "
            "instrument?): not used"
        )


# --- powder CIF -----------------------------------------------------------------------------

_PD_INTENSITIES = (
    "_pd_meas_counts_total",
    "_pd_meas_intensity_total",
    "_pd_proc_intensity_total",
    "_pd_proc_intensity_net",
)
_PD_RANGES = {"meas": "_pd_meas_2theta_range_", "proc": "_pd_proc_2theta_range_"}
_PD_SCANS = {"meas": "_pd_meas_2theta_scan", "proc": "_pd_proc_2theta_corrected"}


def _cif_number(value: str) -> float:
    """'5540(160)' → 5540; '.', '?' → NaN."""
    if value in (".", "?"):
        return np.nan
    return float(value.split("(")[0])


def _cif_numbers(values, tag: str, text: str, path: str) -> np.ndarray:
    """A CIF item's values as numbers (NaN for '.', '?'); a value that is not one is named,
    with its line."""
    values = list(values)
    bad = _not_a_number([v.split("(")[0] for v in values if v not in (".", "?")])
    if bad is not None:
        raise InputError(
            f"{tag} holds {bad[:20]!r}, not a number",
            path,
            _token_line(text, bad, _tag_line(text, tag)),
        )
    return np.array([_cif_number(v) for v in values], dtype=float)


def _tag_line(text: str, tag: str) -> int | None:
    found = re.search(r"(?im)^\s*" + re.escape(tag) + r"\b", text)
    return text.count("\n", 0, found.start()) + 1 if found else None


def read_pdcif(text: str, path: str) -> Scan:
    """pdCIF: the first block with an intensity column (_pd_meas_counts_total,
    _pd_meas_intensity_total, _pd_proc_intensity_total or _net) and its 2θ (_pd_meas_2theta_scan,
    _pd_proc_2theta_corrected, or a _range_min/_max/_inc triple) or Q (_pd_proc_recip_len_Q);
    _diffrn_radiation_wavelength from that block or another. Layout: GSAS-II G2pwd_CIF.py,
    COD 1517474 (xylib's samples/1517474.cif, written by GSAS2CIF)."""
    import gemmi

    try:
        document = gemmi.cif.read_string(text)
    except (ValueError, RuntimeError) as error:  # RuntimeError: a tag twice in a block
        found = re.match(r"\S*?:(\d+)\b", str(error))
        raise InputError(
            f"not a readable CIF: {str(error).split(': ', 1)[-1]}",
            path,
            int(found.group(1)) if found else None,
        ) from None
    chosen = None
    for block in document:
        tag = next((t for t in _PD_INTENSITIES if block.find_values(t)), None)
        if tag is not None:
            chosen = (block, tag)
            break
    if chosen is None:
        where = next(
            (
                t
                for t in ("_pd_meas_2theta_range_min", "_pd_meas_2theta_scan", "_pd_block_id")
                if _tag_line(text, t)
            ),
            None,
        )
        raise InputError(
            "a CIF without a powder pattern's intensities (no _pd_meas_counts_total, "
            "_pd_meas_intensity_total or _pd_proc_intensity_total)",
            path,
            _tag_line(text, where) if where else _tag_line(text, "data_"),
        )
    block, tag = chosen
    line = _tag_line(text, tag) or 0
    y = _cif_numbers(block.find_values(tag), tag, text, path)
    prefer = ("meas", "proc") if tag.startswith("_pd_meas") else ("proc", "meas")
    x, axis = None, "2theta"
    for kind in prefer:
        column = block.find_values(_PD_SCANS[kind])
        if column:
            x = _cif_numbers(column, _PD_SCANS[kind], text, path)
            break
        triple = [block.find_value(_PD_RANGES[kind] + part) for part in ("min", "max", "inc")]
        if all(triple):
            low, high, step = _cif_numbers(triple, _PD_RANGES[kind] + "min/max/inc", text, path)
            if not (np.isfinite([low, high, step]).all() and step > 0):
                raise InputError(
                    f"{_PD_RANGES[kind]}min/max/inc {', '.join(triple)}: not a range",
                    path,
                    _tag_line(text, _PD_RANGES[kind] + "inc"),
                )
            stated = block.find_value(f"_pd_{kind}_number_of_points")
            tally = _cif_numbers([stated or "?"], f"_pd_{kind}_number_of_points", text, path)[0]
            if np.isfinite(tally):  # GSAS2CIF's max is rounded: (max - min) / inc may miss by one
                n, said = int(tally), f"_pd_{kind}_number_of_points says"
            else:
                n, said = int(round((high - low) / step)) + 1, f"{_PD_RANGES[kind]}min/max/inc give"
            if abs(n - len(y)) > 1:
                raise InputError(
                    f"{said} {n} points, {tag} has {len(y)} (cut short?)",
                    path,
                    _tag_line(
                        text,
                        f"_pd_{kind}_number_of_points"
                        if np.isfinite(tally)
                        else _PD_RANGES[kind] + "min",
                    ),
                )
            x = low + step * np.arange(len(y))
            break
    if x is None and block.find_values("_pd_proc_recip_len_Q"):
        q = block.find_values("_pd_proc_recip_len_Q")
        x, axis = _cif_numbers(q, "_pd_proc_recip_len_Q", text, path), "q"
    if x is None:
        raise InputError(
            f"{tag} without 2θ (_pd_meas_2theta_scan or _range_min/max/inc)", path, line
        )
    if len(x) != len(y):
        raise InputError(f"{len(x)} 2θ values for {len(y)} intensities", path, line)
    keep = ~(np.isnan(x) | np.isnan(y))
    scan = Scan(x[keep], y[keep], np.full(int(keep.sum()), line), "powder CIF", axis)
    scan.notes.append(f"block data_{block.name}, {tag}")
    if str(block.find_value("_diffrn_radiation_probe") or "").strip("'\"").lower() == "neutron":
        scan.neutron = "_diffrn_radiation_probe neutron"
    for source in [block] + [b for b in document if b is not block]:
        values = _cif_numbers(
            source.find_values("_diffrn_radiation_wavelength"),
            "_diffrn_radiation_wavelength",
            text,
            path,
        )
        values = [float(v) for v in values if np.isfinite(v)]
        if values:
            scan.wavelength = values[0]
            scan.wavelength_from = "_diffrn_radiation_wavelength" + (
                "" if source is block else f" (block data_{source.name})"
            )
            break
    if scan.wavelength is None:
        _anode_wavelength(scan, [block] + [b for b in document if b is not block])
    return scan


# Kα1 (Å) of the anodes of laboratory diffractometers (International Tables C 4.2.2.1, as cctbx's
# eltbx.wavelengths gives them, which lacks Co)
_KALPHA1 = {"Cr": 2.2897, "Fe": 1.93604, "Co": 1.78897, "Cu": 1.54056, "Mo": 0.7093, "Ag": 0.55941}
_ANODE = re.compile(r"^\s*(Cr|Fe|Co|Cu|Mo|Ag)[\s-]*K[\s-]*(?:\\a|a(?![a-z])|α|alpha)", re.I)


def _anode_wavelength(scan: Scan, blocks) -> None:
    """The Kα1 of the anode a _diffrn_radiation_type names ('Cu K\\a', NIST's SRM 660c pdCIF,
    which gives no wavelength number) in the first block that has one."""
    for source in blocks:
        stated = str(source.find_value("_diffrn_radiation_type") or "").strip("'\"")
        found = _ANODE.match(stated)
        if found:
            anode = found[1].capitalize()
            scan.wavelength = _KALPHA1[anode]
            scan.wavelength_from = f"_diffrn_radiation_type '{stated}': {anode} Kα1"
            return
