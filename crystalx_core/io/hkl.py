"""SHELX reflection files: h k l Fo² σ(Fo²) [batch], format 3I4,2F8.2[,I4] (HKLF 4), or
F σ(F) in the same columns (HKLF 3).

Read as SHELX reads them: fixed columns (so `   0   0   010890.21` is l = 0, I = 10890.21),
anything after column 32 ignored (direction cosines, the wavelength of HKLF 2, even when
fused as `1-0.66223-0.60253`), and the first `0 0 0` line (or a blank line after the data)
ends it; anything after it (SADABS notes, CIF text) is ignored. Lines end in LF, CR LF or (a
file of classic Mac OS) CR alone; a UTF-8 byte order mark before the first, and a DOS Ctrl-Z
with what follows it, are not data. A value written without a decimal point has two implied
decimals, as FORTRAN's F8.2 reads it (`    1234` is 12.34). A line whose Fo² field holds no
decimal point and that runs on past column 32 was written in wider fields: it is read split
on blanks instead. A σ of 0.00 is a weak reflection rounded by F8.2
and is kept; a negative σ flags a reflection to leave out; the notes say how many of each.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.files import DOS_END, line_end, read_input_bytes
from crystalx_core.symmetry import space_group_from_operators


# the HKLF codes CrystalX refines: Fo² or F (untwinned, or with TWIN), and HKLF 5's twin
# components (Fo² with a batch number naming the component: SHELXL manual, HKLF)
REFINED_HKLF = (3, 4, 5)
XRAY_WAVELENGTHS = (0.1, 5.0)  # Å: what CrystalX refines (X-ray form factors and dispersion)


def xray_problem(wavelength: float) -> str | None:
    """Why data at this wavelength are not refined here (electrons, soft X-rays), or None:
    the one check for every command and the service."""
    low, high = XRAY_WAVELENGTHS
    if low <= wavelength <= high:
        return None
    return f"wavelength {wavelength:g} Å is not X-ray; CrystalX refines X-ray data"


INVERSION = ((-1, 0, 0), (0, -1, 0), (0, 0, -1))  # TWIN without a matrix (SHELXL's default)

# TWIN beside HKLF 5 data: Olex2 refines it (olex2's cctbx_olex_adapter.py: the BASF give the
# HKLF 5 components' fractions first, then the TWIN law's, and cctbx's observations.h takes both,
# "hklf 5 + optional merohedral twinning"); CrystalX's twin handling (Twin, twin.py, refine.py)
# takes one or the other, so it refuses, saying what to do instead
TWIN_WITH_HKLF5 = (
    "TWIN with HKLF 5 data: not refined here (Olex2 adds the TWIN law's components to the HKLF 5 "
    "file's, its BASF giving the HKLF 5 fractions first; CrystalX takes one or the other); "
    "refine it in Olex2, or write the law's components into the HKLF 5 file"
)


@dataclass(frozen=True)
class Twin:
    """A TWIN instruction as SHELXL reads it (manual, TWIN and BASF): the matrix R acts on
    the column h k l as HKLF's does and is applied repeatedly, component k (k = 1..|N|-1)
    seeing R^k·h; a negative N doubles the components with inverted ones (racemic twinning
    beside a twin law), the first |N|/2 being R^0..R^(|N|/2-1) and the rest their negatives,
    in the order olex2.refine builds them (olex2's cctbx_olex_adapter.py). `fractions` are
    those of components 2..|N| (BASF k1 k2 ...); the first component takes 1 - their sum.

    With `hklf5` the components are HKLF 5's (a non-merohedral twin): the reflection file
    gives each component's indices on its own lines (batch m, negative for all but the last
    line of a group of overlapping reflections), `n` is the number of components (the
    largest |m|), BASF their fractions as above, and there is no law: `matrix` is unused."""

    matrix: tuple[tuple[int, ...], ...] = INVERSION
    n: int = 2
    fractions: tuple[float, ...] = ()
    where: str = ""  # "file:line" of the TWIN (HKLF 5: BASF) instruction, for messages
    hklf5: bool = False

    def laws(self) -> list[tuple[tuple[int, ...], ...]]:
        """The matrix of each component after the first, in BASF order (none for HKLF 5,
        whose file gives every component's indices)."""
        if self.hklf5:
            return []
        r = np.array(self.matrix, dtype=int)
        count = abs(self.n)
        powers = [np.linalg.matrix_power(r, k) for k in range(count if self.n > 0 else count // 2)]
        if self.n < 0:
            powers += [-p for p in powers]
        return [tuple(tuple(int(v) for v in row) for row in p) for p in powers[1:]]

    def start(self) -> tuple[float, ...]:
        """The fractions to refine from: the BASF given, 1/|N| for each one missing, kept in
        [0, 1]. Without any BASF they are SHELXL's perfect twin, equal and not refined
        (refine._refined_twin; olex2's cctbx_olex_adapter.py keeps them so too)."""
        count = abs(self.n) - 1
        given = list(self.fractions[:count])
        values = given + [1.0 / abs(self.n)] * (count - len(given))
        return tuple(min(max(v, 0.0), 1.0) for v in values)


@dataclass(frozen=True)
class HklfFormat:
    """What the HKLF instruction says about the reflection file: 3 (F) or 4 (Fo²), the
    scale s applied to Fo and σ, and the matrix that reindexes h k l (h' = M h)."""

    code: int = 4
    scale: float = 1.0
    matrix: tuple[tuple[float, ...], ...] | None = None
    where: str = ""  # "file:line" of the HKLF instruction, for messages
    notes: tuple[str, ...] = ()  # what the reader cannot honour, passed on to the reflections
    twin: Twin | None = None  # the file's TWIN (and BASF): the reflections are twinned


@dataclass
class Reflections:
    """Unmerged observations in file order."""

    indices: np.ndarray  # (n, 3) int
    intensities: np.ndarray  # Fo²
    sigmas: np.ndarray  # σ(Fo²)
    batches: np.ndarray | None  # batch/scale-group numbers where the file has them
    path: str = ""
    notes: list[str] = field(
        default_factory=list
    )  # what the reader changed or left out, for the user
    # where a 0 0 0 or blank line ended the data before reflection lines that follow it: said
    # with a refusal for too few data, which that line is the likeliest cause of
    cut_short: str = ""
    # False where every σ was 0 and all were set alike (_weighable_sigmas): a WGHT 0 0, which
    # weighs by σ alone, has nothing to weigh by
    sigmas_given: bool = True
    # the twin the data were measured on (HklfFormat.twin), its fractions the last refined:
    # every refinement of these data starts from them, as SHELXL's next job from its BASF
    twin: Twin | None = None
    # the same observations merged with Friedel mates together (merged: a non-centric group's
    # own merge keeps them apart), for the steps that read Fo² so (solve.merged_intensities):
    # merging the merged mates again would take their σ from two values, not from all
    laue: Reflections | None = None
    # the model's MERG n (io.data_limits.merg_code; SHELXL manual, MERG): 0 no merging, 2 (the
    # default) equivalents merged with Friedel opposites apart in a non-centric group, 3 and 4
    # with them merged in every group, 4 also setting f'' to zero
    merge: int = 2

    def short_of(self) -> str:
        """'; ' + cut_short, for the end of a message about too few reflections, or ''."""
        return f"; {self.cut_short}" if self.cut_short else ""

    def __len__(self) -> int:
        return len(self.intensities)

    def to_miller_array(self, cell, symops):
        """The observations as a cctbx intensity array with sigmas (not merged)."""
        from cctbx import crystal, miller
        from cctbx.array_family import flex

        symmetry = crystal.symmetry(
            unit_cell=tuple(cell), space_group=space_group_from_operators(symops)
        )
        indices = miller_indices(self.indices)
        miller_set = miller.set(symmetry, indices, anomalous_flag=False)
        array = miller_set.array(  # from numpy directly: a list of 2.4·10⁶ floats was 58 MB
            data=flex.double(np.ascontiguousarray(self.intensities, dtype=float)),
            sigmas=flex.double(np.ascontiguousarray(self.sigmas, dtype=float)),
        )
        return array.set_observation_type_xray_intensity()

    def merged(self, cell, symops) -> Reflections:
        """The observations with their equivalents merged once, as every refinement of them
        merges them (crystallography.refine._observations: cctbx's merge_equivalents in the
        point group) and as SHELXL does under the model's MERG ('the program merges equivalents
        and eliminates systematic absences', SHELXL manual 2.1,
        msg.ucsf.edu/local/programs/shelxl/ch_02.html): MERG 2, the default, keeps Friedel
        opposites apart in a non-centric group, so the absolute structure keeps its signal, MERG
        3 and 4 merge them there too, MERG 0 merges nothing. Each later step then works in the
        time and memory of the unique reflections, not of how often each was written (every
        line 20 times: minutes and GBs in each of a job's refinements); with Friedel opposites
        apart, their merge together is kept beside it (`laue`). Twinned data (TWIN, HKLF 5) are
        kept as read: an observation there sums domains. A note says what MERG changed."""
        if self.twin is not None or not len(self):
            return self
        if self.merge not in (0, 2, 3, 4):
            return (
                replace(self, merge=2)
                ._noted(
                    f"MERG {self.merge} is none of SHELXL's MERG 0, 2, 3 or 4: merged as MERG 2"
                )
                .merged(cell, symops)
            )
        array = self.to_miller_array(cell, symops)
        centric = array.space_group().is_centric()
        if self.merge == 0:
            # what MERG 2 would refine: its merge (Friedel opposites apart in a non-centric
            # group) less the systematic absences, which every refinement drops
            present = array.eliminate_sys_absent()
            if not centric:
                present = present.customized_copy(anomalous_flag=True)
            unique = present.merge_equivalents().array().size()
            if unique < len(self):
                return self._noted(
                    f"MERG 0: the {len(self)} observations refined as read, each on its own "
                    f"(MERG 2 would merge them to {unique}), as SHELXL leaves them"
                )
            return self
        together = array.merge_equivalents().array()
        if centric or self.merge in (3, 4):
            merged = self._with_array(together, laue=None)
            if centric:
                return merged
            return merged._noted(
                f"MERG {self.merge}: Friedel opposites merged in a non-centrosymmetric group, as "
                "SHELXL merges them: these data say nothing of the absolute structure"
                + (" (f'' set to zero)" if self.merge == 4 else "")
            )
        laue = self._with_array(together, laue=None)
        apart = array.customized_copy(anomalous_flag=True).merge_equivalents().array()
        return self._with_array(apart, laue=laue)

    def _noted(self, note: str) -> Reflections:
        """These reflections with `note` added once."""
        return self if note in self.notes else replace(self, notes=[*self.notes, note])

    def _with_array(self, array, laue: Reflections | None) -> Reflections:
        """These reflections with the merged cctbx `array`'s indices, Fo² and σ."""
        indices = array.indices().as_vec3_double().as_numpy_array()
        return replace(
            self,
            indices=np.rint(indices).astype(int),
            intensities=array.data().as_numpy_array().copy(),
            sigmas=array.sigmas().as_numpy_array().copy(),
            batches=None,  # HKLF 4's batch numbers say nothing once merged (free_r_flags)
            laue=laue,
        )


def miller_indices(indices: np.ndarray):
    """(n, 3) integers as cctbx's flex.miller_index, column by column: 0.02 s for 10^6
    reflections where a list of tuples took 3 s, each time a job refines (13 times in one
    `assign --hkl`: 57 of its 94 s with 10^6 observations)."""
    from cctbx.array_family import flex

    columns = np.asarray(indices).reshape(-1, 3)
    return flex.miller_index(
        *(flex.int(np.ascontiguousarray(columns[:, j], dtype=np.int32)) for j in range(3))
    )


def read_hkl(path, hklf: HklfFormat | None = None) -> Reflections:
    """Read a reflection file as the .ins's HKLF instruction describes it (default HKLF 4)."""
    path = str(path)
    return reflections_from_bytes(read_input_bytes(path, "reflection file"), path, hklf)


def reflections_from_bytes(data: bytes, path: str, hklf: HklfFormat | None = None) -> Reflections:
    """A .hkl file's bytes: a UTF-8 byte order mark dropped, the rest Latin-1 (every byte is a
    character, so no file fails to decode). A file plainly in SHELX's columns is read from the
    bytes themselves (_plain_columns), never held as text and lines: 20 copies of FC_sucrose's
    reflections (79 MB) peaked at 952 MB so."""
    hklf = hklf or HklfFormat()
    low = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    high = data.find(DOS_END.encode("latin-1"), low)
    high = len(data) if high < 0 else high
    body = memoryview(data)[low:high]  # no copy
    # a NUL is no blank (UTF-16 read as Latin-1): only the padding of a short line is
    plain = _plain_columns(body) if hklf.code != 5 and data.find(b"\x00", low, high) < 0 else None
    if plain is None:
        text = str(body, "latin-1")
        return _read_line_by_line(text, text.split(line_end(text)), path, hklf)
    table, signed, ended, tail = plain
    return _finished(usable_reflections(table, signed, path, hklf), tail, ended, 0, 0, None)


# HKLF 4 gives h, k, l four columns each (FORMAT 3I4): -999 to 9999 fit, so `-99910001000` is
# three indices; the range of a free-format line and a CIF's _refln loop too
MIN_INDEX, MAX_INDEX = -999, 9999
INDEX_RANGE = f"{MIN_INDEX} <= h, k, l <= {MAX_INDEX}"


def outside_index_range(indices: np.ndarray) -> np.ndarray:
    """Which rows of (n, 3) indices a 3I4 field could not hold."""
    indices = np.asarray(indices)
    return ((indices < MIN_INDEX) | (indices > MAX_INDEX)).any(axis=-1)


MAX_BATCH = 9999


_NO_POINT = re.compile(r"([+-]?\d+)(?:[EeDd]([+-]?\d+)|([+-]\d+))?")  # 1234, 12E3, 12+3


def _f8_2(field: str) -> tuple[float, bool]:
    """A field as FORTRAN-77 reads it by F8.2: (value, whether its two decimals were implied,
    '    1234' being 12.34 as no decimal point is written)."""
    text = field.strip()
    plain = _NO_POINT.fullmatch(text)
    if plain is None:
        return float(text.replace("D", "E").replace("d", "e")), False
    mantissa, exponent, signed = plain.groups()
    return float(f"{mantissa}e{exponent or signed or 0}") / 100, True  # inf, not OverflowError


def _fixed(line: str) -> tuple[int, int, int, float, float, int | None, int]:
    """3I4,2F8.2[,I4] by columns, and how many of the two values had implied decimals;
    ValueError where a field does not read or the line was written in wider fields (an Fo²
    field without its decimal point, text past column 32)."""
    if line[32:].strip() and "." not in line[12:20]:
        raise ValueError(line)
    batch = line[28:32].strip()
    (intensity, implied_i), (sigma, implied_s) = _f8_2(line[12:20]), _f8_2(line[20:28])
    return (
        int(line[0:4]),
        int(line[4:8]),
        int(line[8:12]),
        intensity,
        sigma,
        int(batch) if batch else None,
        implied_i + implied_s,
    )


def _split(line: str) -> tuple[int, int, int, float, float, int | None, int]:
    """A line in free format (not SHELX's, but written by some programs): no implied decimals."""
    fields = line.split()
    if len(fields) not in (5, 6):
        raise ValueError(line)
    h, k, l = (int(v) for v in fields[:3])
    batch = int(fields[5]) if len(fields) == 6 else None
    return h, k, l, float(fields[3]), float(fields[4]), batch, 0


def _is_end(line: str) -> bool:
    """`0 0 0` on its own, with or without the Fo and σ fields SHELX writes after it."""
    fields = line.split()
    return len(fields) == 3 and all(f.lstrip("+-").isdigit() and int(f) == 0 for f in fields)


def _reflection_line(line: str) -> tuple[int, int, int, float, float, int | None, int]:
    """A line by SHELX's fixed columns, else split on blanks; ValueError where neither reads."""
    try:
        return _fixed(line)
    except ValueError:
        return _split(line)


def _as_written(text: str) -> str:
    """A line of a file read as Latin-1 (reflections_from_bytes) as its writer meant it, for a
    message: UTF-8 where its bytes are ('é', not 'Ã©'), else as read."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _not_a_reflection(line: str, hklf: HklfFormat) -> str:
    """Why a line is no reflection, naming what the file is where it can tell."""
    text = _as_written(line.strip())
    said = f"{text[:60]!r}"
    if text[:4].upper() in ("TITL", "CELL", "REM ", "LATT", "SFAC"):
        return f"a SHELX instruction line, not a reflection ({said}): pass the .hkl"
    if "**" in text:
        return f"a field of '*' (FORTRAN's mark for a value too wide for it): {said}"
    return (
        f"not an HKLF {hklf.code} reflection line (h k l {'F' if hklf.code == 3 else 'Fo²'} σ "
        f"[batch]): {said}"
    )


def free_r_flags(rows: list, batches: list[int | None], path: str) -> int:
    """How many reflections carry batch -1 as a free-R flag (SHELX's convention, as cctbx's
    r_free_utils.export_r_free_flags_for_shelx writes it: 1 work set, -1 test set); 0 without
    negative batches. Other negative batches mark twin components of HKLF 5 data, where the
    negative lines give the same Fo² and σ as the line closing their group (all of them: a few
    weak free-R reflections may share rounded values by chance): refused. Batch -1 beside
    batches other than 1 without shared Fo² is neither, and refused saying so."""
    negative = [n for n, batch in enumerate(batches) if batch is not None and batch < 0]
    if not negative:
        return 0
    shared = sum(n + 1 < len(rows) and rows[n + 1][3:5] == rows[n][3:5] for n in negative)
    if 2 * shared <= len(negative) and set(batches) <= {1, -1}:
        return len(negative)
    if 2 * shared <= len(negative) and {batches[n] for n in negative} == {-1}:
        other = next(n for n, batch in enumerate(batches) if batch not in (1, -1))
        others = {"no batch" if b is None else str(b) for b in batches} - {"1", "-1"}
        raise InputError(
            f"batch -1 (SHELX's free-R flag) beside batch numbers other than 1 "
            f"({', '.join(sorted(others))}; the first on this line): free-R flags mark the work "
            "set 1 and the test set -1 on every line; write them so, or leave the batch column out",
            path,
            rows[other][5],
        )
    h, k, l, _, _, line = rows[negative[0]]
    raise InputError(
        f"negative batch number {batches[negative[0]]} for {h} {k} {l}: twin components of "
        "HKLF 5 data, read here as HKLF 4; give HKLF 5 (and BASF) in the model's SHELX "
        "instructions (its .ins or .res; a CIF carries them in _shelx_res_file) to refine them "
        "as a twin",
        path,
        line,
    )


MAX_COMPONENTS = 12  # HKLF 5 components (SHELXL's TWIN N reaches 12 too; BASF gives n - 1)


def hklf5_batches(batches: list[int | None]) -> tuple[list[int], str | None]:
    """HKLF 5 batches with 0 or none read as 1, as SHELXL reads them (manual, HKLF: "If BN
    is zero or absent, it is reset to one"): such a line is component 1 and, positive, closes
    its group. Returns the batches and a note saying how many lines were so read."""
    reset = sum(1 for b in batches if not b)
    note = (
        f"{reset} HKLF 5 line(s) without a batch number or with batch 0 read as batch 1 "
        "(component 1, closing its group), as SHELXL resets them (manual, HKLF)"
        if reset
        else None
    )
    return [b or 1 for b in batches], note


def hklf5_format(rows: list, batches: list[int | None], path: str, hklf: HklfFormat) -> HklfFormat:
    """`hklf` with its twin set to the HKLF 5 data's components, the groups checked as the
    SHELXL manual defines them (HKLF 5: each line's batch m names the twin component its
    indices belong to; the lines of one observation, overlapping reflections of several
    components, carry -m but the last, which carries +m and ends the group; cctbx's
    xray.observations (observations.h) and olex2.refine read them so). A batch 0 or none
    has been read as 1 (hklf5_batches). A group the data end before closing, more components
    than MAX_COMPONENTS, data of component 1 alone, or more BASF than components stop the
    job naming the line."""
    if batches[-1] < 0:
        start = len(batches) - 1
        while start > 0 and batches[start - 1] < 0:
            start -= 1
        h, k, l, _, _, line = rows[start]
        raise InputError(
            f"HKLF 5: the group of overlapping reflections from {h} {k} {l} (batch "
            f"{batches[start]}) is never closed: SHELX ends each group with a line of positive "
            "batch number, and the data end first",
            path,
            line,
        )
    n = max(abs(b) for b in batches)
    if n > MAX_COMPONENTS:
        k = next(k for k, b in enumerate(batches) if abs(b) == n)
        raise InputError(
            f"HKLF 5: batch {batches[k]} names component {n}: at most {MAX_COMPONENTS} twin "
            "components are refined",
            path,
            rows[k][5],
        )
    if n < 2:
        raise InputError(
            "HKLF 5 data whose every line names component 1 (a batch 0 or none reads as 1): "
            "nothing twinned; read them as HKLF 4",
            path,
            rows[0][5],
        )
    given = hklf.twin if hklf.twin is not None else Twin(n=n, hklf5=True)
    if len(given.fractions) > n - 1:
        file, _, number = given.where.rpartition(":")
        raise InputError(
            f"BASF gives {len(given.fractions)} fractions for the {n} components of the HKLF 5 "
            f"data in {path} (one per component after the first: {n - 1})",
            file or path,
            int(number) if number.isdigit() else None,
        )
    return replace(hklf, twin=replace(given, n=n, hklf5=True))


def free_r_note(flagged: int) -> str:
    """The note for `flagged` reflections of batch -1 (free_r_flags), refined with the rest."""
    return (
        f"{flagged} reflection(s) with batch -1, the free-R test set of SHELX's convention "
        "(1 work, -1 test), refined with the rest: CrystalX reports no R(free)"
    )


def _reflections_after(lines: list[str]) -> int:
    """How many lines after the end of the data read as reflections (a 0 0 0 or blank line
    put among them by mistake); notes and text after the end are not counted."""
    count = 0
    for line in lines:
        if not line.strip() or _is_end(line):
            continue
        try:
            h, k, l, *_ = _reflection_line(line.rstrip("\r"))
        except ValueError:
            continue
        count += (h, k, l) != (0, 0, 0)
    return count


def reflections_from_text(
    text: str, path: str = "<string>", hklf: HklfFormat | None = None
) -> Reflections:
    """Parse HKLF 3/4 text (a file, or a CIF's embedded _shelx_hkl_file)."""
    text = text.removeprefix("\ufeff").split(DOS_END, 1)[0]
    try:
        return reflections_from_bytes(text.encode("latin-1"), path, hklf)
    except UnicodeEncodeError:  # no byte for some character: the line reader says which line
        return _read_line_by_line(text, text.split(line_end(text)), path, hklf or HklfFormat())


_CHUNK = 1 << 16  # lines turned into numbers at once by _plain_columns (memory: 400 B each)
_BLANKS = (0, 9, 10, 11, 12, 13, 32)  # code points read as blank (0: the padding of a short line)
_WIDTH = 32  # 3I4,2F8.2,I4: what follows is not read


def _plain_columns(data) -> tuple[np.ndarray, np.ndarray | None, int | None, list[str]] | None:
    """(table of h k l Fo² σ line, batches or None, the line that ended the data, that line and
    those after it) of a file's bytes (Latin-1) whose every reflection line is plainly
    3I4,2F8.2[,I4] (decimal points written, indices and batches in range, no negative batch,
    finite values), read by numpy column by column from the bytes, a chunk of lines at a time:
    a file of 2.4·10⁶ lines (each reflection 20 times) took 84 s and 1.3 GB line by line. None
    for any other file: _read_line_by_line reads it, naming the line it cannot read."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    newline, breaks = "\n", np.flatnonzero(buffer == 10)
    if not breaks.size and (buffer == 13).any():  # classic Mac OS (files.line_end)
        newline, breaks = "\r", np.flatnonzero(buffer == 13)
    # line k runs from edges[k] + 1 up to edges[k + 1]: one array, not starts and stops
    edges = np.concatenate([[-1], breaks, [len(buffer)]])
    del breaks
    count = len(edges) - 1  # as many as text.split(newline) gives

    def line(k: int) -> str:
        return str(data[edges[k] + 1 : edges[k + 1]], "latin-1")

    start = next((k for k in range(count) if line(k).strip()), count)
    # filled a chunk at a time, the rows taken at the end: h k l Fo² σ line, batch, written
    full = np.empty((count - start, 6))
    batches = np.zeros(count - start, dtype=np.int64)
    given = np.zeros(count - start, dtype=bool)
    end = count
    for k in range(start, count, _CHUNK):
        first = edges[k : min(k + _CHUNK, count)] + 1
        length = edges[k + 1 : k + 1 + len(first)] - first
        place = np.arange(_WIDTH)
        codes = buffer[np.minimum(first[:, None] + place, max(len(buffer) - 1, 0))]
        codes[place >= length[:, None]] = 0  # a short line padded, as numpy's U32 pads it
        # a blank or 0 0 0 line has nothing but blanks, zeros and signs in its index columns
        # (Fo and σ may follow: SHELX's own end line `0 0 0 0.00 0.00`, then XPREP's or
        # SADABS's text): only those few lines are looked at one by one
        quiet = np.isin(codes[:, :12], (*_BLANKS, 43, 45, 48)).all(axis=1)
        stop = next((c for c in np.flatnonzero(quiet) if _ends_data(line(k + int(c)))), None)
        if stop is not None:
            codes, end = codes[:stop], k + int(stop)
        part = _plain_rows(codes)
        if part is None:
            return None
        into = slice(k - start, k - start + len(codes))
        full[into, :3], full[into, 3:5], batches[into], given[into] = part
        if stop is not None:
            break
    if end == start:
        return None
    indices = full[: end - start, :3]
    zero = np.flatnonzero(~indices.any(axis=1))  # 0 0 0 by the columns ends the data
    ended = start + int(zero[0]) + 1 if zero.size else (end + 1 if end < count else None)
    rows = int(zero[0]) if zero.size else end - start
    if rows == 0 or outside_index_range(indices[:rows]).any():
        return None
    if not (0 <= batches[:rows]).all() or batches[:rows].max() > MAX_BATCH:
        return None  # free-R flags and HKLF 5's components: read line by line
    full = full[:rows]
    full[:, 5] = np.arange(start + 1, start + rows + 1)
    tail = str(data[edges[ended - 1] + 1 :], "latin-1").split(newline) if ended else []
    return full, (batches[:rows] if given[:rows].any() else None), ended, tail


def _ends_data(line: str) -> bool:
    """A blank line or a 0 0 0 line, with or without Fo and σ: the end of the data, as
    _read_line_by_line reads it."""
    if not line.strip() or _is_end(line):
        return True
    try:
        h, k, l, *_ = _reflection_line(line)
    except ValueError:
        return False
    return h == k == l == 0


def _plain_rows(codes: np.ndarray):
    """(indices, Fo² and σ, batches, where a batch is written) of lines (code points, 32 per
    line) by SHELX's columns, or None where a field is not plainly a number."""
    fields = [_field(codes[:, k : k + 4], False) for k in (0, 4, 8)]
    fields += [_field(codes[:, 12:20], True), _field(codes[:, 20:28], True)]
    batch = _field(codes[:, 28:32], False, blank=True)
    if any(field is None for field in fields) or batch is None:
        return None
    indices = np.column_stack(fields[:3]).astype(int)
    written = ~np.isin(codes[:, 28:32], _BLANKS).all(axis=1)
    return indices, np.column_stack(fields[3:]), batch.astype(int), written


def _field(codes: np.ndarray, point: bool, blank: bool = False) -> np.ndarray | None:
    """A fixed-width column of characters (code points, one row each) as numbers, as Python's
    int() (point False) or float() (point True, a decimal point written) read the stripped
    field; blank fields are 0 where `blank`, else None, as is any field that is not blanks
    around an optional sign, digits and (point) one decimal point with a digit beside it.
    Exact: the digits as an integer over a power of ten, both exact, one rounding."""
    space = np.isin(codes, _BLANKS)
    digit = (codes >= 48) & (codes <= 57)
    sign = (codes == 43) | (codes == 45)
    dot = codes == 46
    if not (space | digit | sign | dot).all():
        return None
    width = codes.shape[1]
    filled = ~space
    used = filled.any(axis=1)
    first = np.argmax(filled, axis=1)
    last = width - 1 - np.argmax(filled[:, ::-1], axis=1)
    place = np.arange(width)
    inside = (place >= first[:, None]) & (place <= last[:, None])
    if (used & ((inside & space).any(axis=1))).any():
        return None  # a blank between digits
    if (sign & (place != first[:, None])).any():
        return None  # a sign after the first character
    counted = digit.sum(axis=1)
    dots = dot.sum(axis=1)
    wanted = (dots == 1) if point else (dots == 0)
    if (used & ~(wanted & (counted > 0))).any() or (not blank and not used.all()):
        return None
    right = np.cumsum(digit[:, ::-1], axis=1)[:, ::-1] - digit  # digits to the right of each
    mantissa = ((codes - 48) * digit * 10 ** np.where(digit, right, 0)).sum(axis=1)
    after = (digit & (place > np.argmax(dot, axis=1)[:, None]) & dot.any(axis=1)[:, None]).sum(1)
    value = mantissa.astype(float) / 10.0**after
    return np.where((codes == 45).any(axis=1), -value, value)


def _read_line_by_line(text: str, lines: list[str], path: str, hklf: HklfFormat) -> Reflections:
    """reflections_from_text for a file _plain_columns does not read: each line by SHELX's
    columns or split on blanks, HKLF 5's batches, free-R flags and implied decimals."""
    rows, batches, number, implied = [], [], 0, 0
    ended = None  # the line that ended the data, where lines follow it
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if rows:  # SHELX reads a blank line as 0 0 0; leading ones come from CIF text fields
                ended = number
                break
            continue
        if _is_end(line):
            ended = number
            break
        try:
            h, k, l, intensity, sigma, batch, points = _reflection_line(line)
        except ValueError:
            raise InputError(_not_a_reflection(line, hklf), path, number) from None
        if h == k == l == 0:
            ended = number
            break
        if not all(MIN_INDEX <= i <= MAX_INDEX for i in (h, k, l)) or (
            batch is not None and abs(batch) > MAX_BATCH
        ):  # plain comparisons: a numpy array per line costs seconds on millions of lines
            raise InputError(
                f"index or batch out of range in {line.strip()[:60]!r} ({INDEX_RANGE}, "
                f"|batch| <= {MAX_BATCH})",
                path,
                number,
            )
        if not (np.isfinite(intensity) and np.isfinite(sigma)):
            raise InputError(f"NaN or infinite intensity or sigma for {h} {k} {l}", path, number)
        rows.append((h, k, l, intensity, sigma, number))
        batches.append(batch)
        implied += points
    if not rows:
        raise InputError(
            "no reflections before the 0 0 0 end line"
            if text.strip()
            else "the reflection file is empty",
            path,
            max(number, 1),
        )
    reset = None
    if hklf.code == 5:
        batches, reset = hklf5_batches(batches)
        hklf, flagged = hklf5_format(rows, batches, path, hklf), 0
        signed = np.array(batches, dtype=int)
    else:
        flagged = free_r_flags(rows, batches, path)
        signed = (
            np.array([abs(b or 0) for b in batches], dtype=int)
            if any(b is not None for b in batches)
            else None
        )
    table = np.array(rows, dtype=float)
    reflections = usable_reflections(table, signed, path, hklf)
    tail = lines[ended - 1 :] if ended else []
    return _finished(reflections, tail, ended, flagged, implied, reset)


def _finished(
    reflections: Reflections,
    tail: list[str],
    ended: int | None,
    flagged: int,
    implied: int,
    reset: str | None,
) -> Reflections:
    """The reader's notes on the reflections: free-R flags, HKLF 5 batches reset, reflection
    lines after the end of the data (`tail`: its line `ended` and those after), implied
    decimals."""
    if flagged:
        reflections.notes.append(free_r_note(flagged))
    if reset:
        reflections.notes.append(reset)
    unread = _reflections_after(tail[1:])
    if unread:
        reflections.notes.append(
            f"{unread} reflection line(s) after the end of the data on line {ended} not read, "
            "as SHELXL stops there: remove that line if they belong to the data"
        )
        reflections.cut_short = (
            f"line {ended} ends the data ({'blank' if not tail[0].strip() else '0 0 0'}), "
            f"{unread} reflection line(s) after it not read, as SHELXL stops there"
        )
    if implied:
        reflections.notes.append(
            f"{implied} value(s) written without a decimal point read as SHELXL reads them "
            "(FORMAT 3I4,2F8.2: '    1234' is 12.34)"
        )
    return reflections


def usable_reflections(
    table: np.ndarray,
    batches: np.ndarray | None,
    path: str,
    hklf: HklfFormat,
    line_of: Callable[[float], int | None] = int,
) -> Reflections:
    """Reindexed, scaled Fo² with usable σ: negative σ left out, σ = 0.00 given the smallest
    σ of the file (a rounded weak reflection, not an infinitely precise one); HKLF 3's F and
    σ(F) squared to Fo² = F|F|, σ(Fo²) = 2|F|σ(F) (at least σ(F)², so that F near 0 keeps a
    σ). Column 5 of `table` says where a row was written, line_of makes it a line number."""
    notes = list(hklf.notes)
    first = table[0, 5]  # its line only for a message: line_of may have to read the file again
    negative = table[:, 4] < 0
    if hklf.twin is not None and hklf.twin.hklf5 and batches is not None:
        negative = whole_groups(negative, batches)  # an HKLF 5 observation goes as one
    if negative.all():
        raise InputError(
            "every reflection has a negative sigma (the flag for 'leave out'): no data",
            path,
            line_of(first),
        )
    if negative.any():
        line = line_of(table[np.argmax(negative), 5])  # None where the reader keeps no lines
        notes.append(
            f"{int(negative.sum())} reflection(s) with a negative sigma left out, as SHELXL does"
            + (f" (the first on line {line})" if line else "")
        )
        table = table[~negative]
        batches = batches[~negative] if batches is not None else None
    with np.errstate(over="ignore"):  # a value too large for a float is refused just below
        intensities, sigmas = table[:, 3] * hklf.scale, table[:, 4] * hklf.scale
        if hklf.code == 3:  # F, σ(F) → Fo², σ(Fo²) (at least σ(F)²: F < σ(F)/2)
            intensities, sigmas = (
                intensities * np.abs(intensities),
                np.maximum(2 * np.abs(intensities) * sigmas, sigmas**2),
            )
    overflow = ~(np.isfinite(intensities) & np.isfinite(sigmas))
    if overflow.any():
        h, k, l, value, _, line = table[int(np.argmax(overflow))]
        raise InputError(
            f"intensity {value:g} of {h:g} {k:g} {l:g} is too large to refine "
            f"(Fo² or σ beyond {np.finfo(float).max:.1e} after HKLF {hklf.code}, scale "
            f"{hklf.scale:g})",
            path,
            line_of(line),
        )
    if not (intensities > 0).any():
        raise InputError(
            "every intensity is zero or negative: no diffraction data", path, line_of(first)
        )
    sigmas_given = bool(sigmas.any())
    sigmas, sigma_notes = _weighable_sigmas(intensities, sigmas)
    notes += sigma_notes
    indices = table[:, :3]
    if hklf.matrix is not None:
        indices = indices @ np.array(hklf.matrix, dtype=float).T
        if not np.allclose(indices, np.round(indices), atol=1e-3):
            raise InputError("the HKLF matrix gives non-integer indices", *_where(hklf, path))
    return Reflections(
        indices=np.round(indices).astype(int),
        intensities=intensities.copy(),
        sigmas=sigmas.copy(),
        batches=batches,
        path=path,
        notes=notes,
        sigmas_given=sigmas_given,
        twin=hklf.twin,
    )


def hklf5_groups(batches: np.ndarray) -> np.ndarray:
    """The observation each line of HKLF 5 data belongs to (0, 1, ...: the group that the
    next line of positive batch closes, hklf5_format)."""
    batches = np.asarray(batches)
    return np.searchsorted(np.flatnonzero(batches > 0), np.arange(len(batches)))


def whole_groups(selected: np.ndarray, batches: np.ndarray) -> np.ndarray:
    """`selected` widened to every line of each HKLF 5 group that holds a selected line."""
    group = hklf5_groups(batches)
    chosen = np.zeros(int(group.max()) + 1 if len(group) else 0, dtype=bool)
    np.logical_or.at(chosen, group, selected)
    return chosen[group]


TINY_SIGMA = 1e-5  # × the median Fo² > 0: far under every σ of the 17 benchmark files (4.9e-4)
SIGMA_FLOOR = 1e-2  # × the median Fo² > 0: the σ given where the file's carry no scale


def _weighable_sigmas(intensities: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """σ(Fo²) that give finite weights, and a note for each kind changed. SHELXL weighs by
    w = 1/[σ²(Fo²) + (aP)² + bP], P = [max(Fo², 0) + 2Fc²]/3 (manual, WGHT): with σ ≈ 0 a
    weak reflection's P is ≈ 0 too, its weight unbounded, and the least-squares scale
    Σ w Fo² Fc² / Σ w Fc⁴ is ruled by the weak, negative Fo² (XH_urea's sigmas × 1e-30: R1
    2.23, diverged). A σ of 0.00 (a weak reflection rounded by F8.2) or one under 1e-5 of the
    median Fo² is given the file's smallest σ above that (a σ = 0.00) or that of reflections of
    like Fo² (a tiny σ written out); where most are under it the sigmas carry no scale: the
    column is multiplied so that its median is 1 % of the median Fo² (each set to that where all
    are 0), and the weights come mostly from WGHT, an input WGHT 0 0 weighing as the file does."""
    median = float(np.median(intensities[intensities > 0]))
    floor = SIGMA_FLOOR * median
    written = sigmas > 0  # a 0.00 is F8.2's rounding of a weak σ, not a σ on another scale
    if not written.any():
        return np.full_like(sigmas, floor), [
            f"every reflection has sigma 0: sigmas set to {floor:.3g} (1 % of the median "
            "Fo²), weights from WGHT alone"
        ]
    tiny = written & (sigmas < TINY_SIGMA * median)
    # most of those written: a σ column × 1e-6 leaves its largest above the line; 0.00s do not
    # count (XH_urea on a tenth of its scale rounds 59 % of its σ to 0.00, the rest are real)
    if tiny.sum() > 0.5 * written.sum():
        factor = floor / float(np.median(sigmas[written]))
        scaled = sigmas * factor
        scaled = np.where(written, scaled, scaled[written].min())
        return scaled, [
            f"{int(tiny.sum())} of {tiny.size} reflections have sigma under "
            f"{TINY_SIGMA * median:.3g} ({TINY_SIGMA:g} × the median Fo²): sigmas multiplied "
            f"by {factor:.3g} (their median 1 % of the median Fo²), weights mostly from WGHT"
        ]
    notes = []
    real = written & ~tiny
    smallest = float(sigmas[real].min())
    zero = ~written
    if zero.any():
        notes.append(
            f"{int(zero.sum())} reflection(s) with sigma 0.00 kept, weighted as the file's "
            f"smallest sigma ({smallest:g})"
        )
    given = np.where(zero, smallest, sigmas)
    if tiny.any():
        notes.append(
            f"{int(tiny.sum())} reflection(s) with sigma under {TINY_SIGMA * median:.3g}"
            f" ({TINY_SIGMA:g} × the median Fo²) weighted as the reflections of like Fo² "
            "(the median sigma of the 20 nearest)"
        )
        given[tiny] = _like_sigmas(intensities[real], sigmas[real], intensities[tiny])
    return given, notes


def _like_sigmas(intensities: np.ndarray, sigmas: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The median σ of the 20 reflections nearest in Fo² to each of `wanted`: a σ too small to
    be measured (Fo²/σ of 10⁵ and more) is not the smallest of the file, which on one of the
    strongest ruled the input's WGHT 0 (1/σ²: XH_alanine's five strongest at σ 1e-4, R1 0.15)."""
    order = np.argsort(intensities)
    ranked, by_rank = intensities[order], sigmas[order]
    # the 20 around each place in Fo² order, moved inside the ends (the strongest had only 10)
    starts = np.clip(np.searchsorted(ranked, wanted) - 10, 0, max(len(ranked) - 20, 0))
    return np.array([np.median(by_rank[k : k + 20]) for k in starts], dtype=float)


def _where(hklf: HklfFormat, path: str) -> tuple[str, int | None]:
    """The HKLF instruction's file and line when known, else the reflection file."""
    file, _, line = hklf.where.rpartition(":")
    return (file, int(line)) if file and line.isdigit() else (path, None)


def hkl_text(indices, intensities, sigmas) -> str:
    """HKLF 4 text in SHELX's 3I4,2F8.2 format, ended by the 0 0 0 line."""
    lines = []
    for (h, k, l), intensity, sigma in zip(np.asarray(indices, dtype=int), intensities, sigmas):
        line = f"{h:4d}{k:4d}{l:4d}{intensity:8.2f}{sigma:8.2f}"
        if len(line) != 28:
            raise ValueError(f"reflection {h} {k} {l} does not fit 3I4,2F8.2; scale the data")
        lines.append(line)
    lines.append(f"{0:4d}{0:4d}{0:4d}{0:8.2f}{0:8.2f}")
    return "\n".join(lines) + "\n"
