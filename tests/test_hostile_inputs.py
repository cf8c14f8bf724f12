"""Hostile inputs against the newest readers: each is one line naming the file and the line,
exit 2 and nothing written, or is read as SHELXL reads it. Small files written here."""

import re
from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.io import load

from .conftest import BENCHMARK
from .test_shelx_io import HEADER

ATOMS = "C1 1 0.1 0.2 0.3 11.0 0.05\nO1 3 0.25 0.2 0.3 11.0 0.05\n"
HKL = "   1   0   0   10.00    1.00\n   0   1   0   20.00    2.00\n   0   0   0    0.00    0.00\n"


def run(tmp_path, capsys, res_text, hkl_text=None, hklf="HKLF 4"):
    """`crystalx assign x.res [--hkl x.hkl]`: (exit code, stderr, files written)."""
    res = tmp_path / "x.res"
    res.write_text(HEADER + res_text + f"{hklf}\nEND\n")
    args = ["assign", str(res), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    if hkl_text is not None:
        (tmp_path / "x.hkl").write_text(hkl_text)
        args += ["--hkl", str(tmp_path / "x.hkl")]
    code = main(args)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("x.res", "x.hkl"))
    return code, capsys.readouterr().err, written


@pytest.mark.parametrize(
    "line, hklf, message",
    [
        ("   1   1   0     nan    1.00", "HKLF 4", "NaN or infinite intensity or sigma for 1 1 0"),
        (  # F 1e200 squared by HKLF 3 is past any float: it was refined as inf before
            "   1   1   01.0e+200    1.00",
            "HKLF 3",
            "intensity 1e+200 of 1 1 0 is too large to refine (Fo² or σ beyond 1.8e+308 after "
            "HKLF 3, scale 1)",
        ),
        (
            "   1   1   0  1.e300    1.00",  # with its point: "1e300" would be 1e298 (F8.2)
            "HKLF 4 1e10",
            "intensity 1e+300 of 1 1 0 is too large to refine (Fo² or σ beyond 1.8e+308 after "
            "HKLF 4, scale 1e+10)",
        ),
    ],
)
def test_reflections_that_are_no_numbers_name_their_line(tmp_path, capsys, line, hklf, message):
    code, error, written = run(tmp_path, capsys, "FVAR 1.0\n" + ATOMS, line + "\n" + HKL, hklf)
    assert (code, written) == (EXIT_INPUT, [])
    assert error == f"crystalx: error: {tmp_path / 'x.hkl'}:1: {message}\n"


def test_a_free_variable_the_fvar_does_not_give_stops_the_command(tmp_path, capsys):
    """The reader's message (cases in test_shelx_io.BAD_SHELX) reaches the user as one line,
    exit 2, nothing written."""
    code, error, written = run(tmp_path, capsys, "FVAR 1.0\nC1 1 0.1 0.2 0.3 21.0 0.05\n")
    assert (code, written) == (EXIT_INPUT, [])
    assert error == (
        f"crystalx: error: {tmp_path / 'x.res'}:9: sof 21 refers to free variable 2, but FVAR "
        "defines 1..1 only\n"
    )


def test_part_numbers_without_fvar_or_sof_are_read_as_shelxl_reads_them(tmp_path, capsys):
    """PART 1 / PART 2 with the atoms' own sof 11.0 need no free variable: both parts are
    read, fully occupied, and written back in their parts."""
    atoms = "PART 1\nC1 1 0.1 0.2 0.3 11.0 0.05\nPART 2\nC2 1 0.15 0.2 0.3 11.0 0.05\nPART 0\n"
    code, error, written = run(tmp_path, capsys, "FVAR 1.0\n" + atoms + ATOMS.split("\n")[1] + "\n")
    assert code == 0, error
    structure = load(tmp_path / "x.res").structure
    assert [(s.label, s.part, s.occupancy) for s in structure.sites] == [
        ("C1", 1, 1.0),
        ("C2", 2, 1.0),
        ("O1", 0, 1.0),
    ]
    text = (tmp_path / "x_crystalx.res").read_text()
    assert re.search(r"\nPART 1\nC1 .*\nPART 2\nC2 .*\nPART 0\nO1 ", text, re.S), text


def test_a_cif_with_an_empty_refln_loop_is_read_as_without_it(tmp_path, shared_data):
    """CrystalX reads a CIF's reflections from _shelx_hkl_file only (as SHELXL's own files
    carry them); an empty _refln loop beside the atoms changes nothing."""
    text = (BENCHMARK / "XH_alanine" / "model.cif").read_text()
    start = text.index("_shelx_hkl_file")
    end = text.index("\n;", text.index("\n;", start) + 2) + 2
    plain = tmp_path / "plain.cif"
    plain.write_text(text[:start] + text[end:])
    looped = tmp_path / "looped.cif"
    looped.write_text(
        plain.read_text() + "\nloop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n"
        "_refln_F_squared_meas\n_refln_F_squared_sigma\n"
    )
    a, b = load(plain), load(looped)
    assert replace(a.structure, source="") == replace(b.structure, source="")
    assert a.embedded_reflections() is b.embedded_reflections() is None


@pytest.mark.parametrize("value", ["abc", "0:x", "5:3", "-1:4"])
def test_a_mistyped_tmqm_range_is_a_usage_error_not_a_traceback(tmp_path, capsys, value):
    """`--tmqm-range abc` ended in int()'s ValueError traceback after the parse; now argparse
    refuses it with exit 2 and one error line, before anything is built."""
    pytest.importorskip("torch")
    from crystalx_core.training.pxrd import dataset

    with pytest.raises(SystemExit) as stopped:
        dataset.main([str(tmp_path / "set.npz"), f"--tmqm-range={value}"])
    error = capsys.readouterr().err.splitlines()
    assert stopped.value.code == 2 and "Traceback" not in "\n".join(error)
    assert f"error: argument --tmqm-range: {value!r}" in error[-1] and "START:STOP" in error[-1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", ["set.npz", "set.summary.json"])
def test_the_pxrd_set_builder_keeps_an_existing_output_unless_forced(tmp_path, capsys, existing):
    """`python -m crystalx_core.training.pxrd.dataset OUT` replaced OUT (hours of patterns) and
    its summary without a word; now it stops in one line before building, and --force
    replaces them (numpy writes `set` as set.npz, which counts as the same output)."""
    pytest.importorskip("torch")
    from crystalx_core.training.pxrd import dataset

    kept = tmp_path / existing
    kept.write_text("an earlier set\n")
    for output in (tmp_path / "set.npz", tmp_path / "set"):
        with pytest.raises(SystemExit) as stopped:
            dataset.main([str(output), "--per-group", "0"])
        error = capsys.readouterr().err.splitlines()
        assert stopped.value.code == 2 and len(error) == 1
        assert error[0] == f"error: {kept}: exists already (--force replaces it)"
        assert kept.read_text() == "an earlier set\n"
    assert dataset.main([str(tmp_path / "set.npz"), "--per-group", "0", "--force"]) == 0
    assert kept.read_bytes() != b"an earlier set\n"
    assert "test_patterns" in dataset.load(tmp_path / "set.npz")


# A molecule SHELXL would refine: C-C-O and a carbonyl, on a P2(1)/c cell (test_shelx_io's HEADER)
MOLECULE = (
    "FVAR 1.0\nC1 1 0.10 0.20 0.30 11.0 0.03\nC2 1 0.22 0.25 0.33 11.0 0.03\n"
    "O1 3 0.33 0.22 0.38 11.0 0.04\nO2 3 0.22 0.34 0.30 11.0 0.04\nHKLF 4\nEND\n"
)
ODD_BUT_LEGAL = {  # what SHELXL's manual allows (ch. 7 and "the .ins file - general organization")
    "an = continuation between two coordinates": lambda t: t.replace(
        "C2 1 0.22 0.25", "C2 1 0.22 =\n   0.25"
    ),
    "an = continuation after the label": lambda t: t.replace("O1 3 0.33", "O1 =\n 3 0.33"),
    "lower case throughout (converted to upper case for internal use)": str.lower,
    "tabs between the fields": lambda t: re.sub(r"(?<=\S) (?=\S)", "\t", t),
    "CR LF line ends": lambda t: t.replace("\n", "\r\n"),
    "a UTF-8 byte order mark": lambda t: "\ufeff" + t,
    "a REM of 300 characters": lambda t: t.replace("FVAR", "REM " + "x" * 300 + "\nFVAR"),
    "a comment past column 80 on an atom line": lambda t: t.replace(
        "C1 1 0.10 0.20 0.30 11.0 0.03", "C1 1 0.10 0.20 0.30 11.0 0.03" + " " * 60 + "! a note"
    ),
    "no newline at the end": lambda t: t.rstrip("\n"),
}


def written_atoms(folder, name):
    import json

    report = json.loads((folder / f"{name}_crystalx.json").read_text())
    return [
        (a["new_label"].upper(), a["element"], a["hfix"], a["h_count"]) for a in report["atoms"]
    ]


@pytest.mark.parametrize("case", sorted(ODD_BUT_LEGAL))
def test_odd_but_legal_shelx_text_is_assigned_as_the_plain_file(tmp_path, capsys, case):
    """Each variant of one file, as SHELXL's manual allows it to be written, gives the atoms,
    elements and riding H of the plain file (checked by hand in session 13 on XH_alanine's
    published .res as well: the same atoms and R1 0.02662 with and without --hkl)."""
    quick = ["--quiet", "--method", "baseline", "--hydrogens", "rules"]
    for folder, text in (
        ("plain", HEADER + MOLECULE),
        ("odd", ODD_BUT_LEGAL[case](HEADER + MOLECULE)),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.res").write_text(text, newline="")
        assert main(["assign", str(tmp_path / folder / "x.res"), *quick]) == 0, capsys.readouterr()
    assert written_atoms(tmp_path / "odd", "x") == written_atoms(tmp_path / "plain", "x")
    read = [
        [
            (s.label.upper(), s.element, s.frac, s.occupancy, s.u_iso)
            for s in load(path).structure.sites
        ]
        for path in (tmp_path / "odd" / "x.res", tmp_path / "plain" / "x.res")
    ]
    assert read[0] == read[1]


def test_latin1_text_and_a_file_name_with_blanks_and_umlauts_are_kept(tmp_path, capsys):
    """A TITL and REM typed on a Windows machine (ü, é, ° in Latin-1) are written back byte for
    byte, and `my ala ü.res` gives `my ala ü_crystalx.*` beside it."""
    source = tmp_path / "my ala ü.res"
    text = HEADER.replace("TITL test", "TITL M\xfcller") + "REM caf\xe9 at 20 \xb0C\n" + MOLECULE
    source.write_bytes(text.encode("latin-1"))
    args = ["assign", str(source), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0, capsys.readouterr()
    written = (tmp_path / "my ala ü_crystalx.res").read_bytes()
    assert b"TITL M\xfcller\n" in written and b"REM caf\xe9 at 20 \xb0C\n" in written
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "my ala ü.res",
        "my ala ü_crystalx.cif",
        "my ala ü_crystalx.json",
        "my ala ü_crystalx.res",
    ]


def test_an_hklf_scale_and_matrix_reindex_the_reflections_as_shelxl_does(tmp_path):
    """HKLF 4 s r11..r33 (SHELXL manual, HKLF): Fo² and σ are multiplied by s and the indices
    by the matrix, here also continued with '='. A file written on axes (k, h, -l) with half
    the intensities reads as the plain one (XH_alanine so written refined to R1 0.02662, as the
    plain file, in session 13)."""
    plain = [(1, 0, 0, 10.0, 1.0), (0, 2, 1, 20.0, 2.0), (1, 2, 3, 30.5, 1.5), (2, -1, 1, 4.0, 0.5)]
    rows = "".join(f"{h:4d}{k:4d}{l:4d}{i:8.2f}{s:8.2f}\n" for h, k, l, i, s in plain)
    moved = "".join(f"{k:4d}{h:4d}{-l:4d}{i / 2:8.2f}{s / 2:8.2f}\n" for h, k, l, i, s in plain)
    (tmp_path / "plain.hkl").write_text(rows + "   0   0   0    0.00    0.00\n")
    (tmp_path / "moved.hkl").write_text(moved + "   0   0   0    0.00    0.00\n")
    (tmp_path / "plain.res").write_text(HEADER + MOLECULE)
    (tmp_path / "moved.res").write_text(
        HEADER + MOLECULE.replace("HKLF 4\n", "HKLF 4 2 0 1 0 =\n   1 0 0 0 0 -1\n")
    )
    a = load(tmp_path / "plain.res").read(tmp_path / "plain.hkl")
    b = load(tmp_path / "moved.res").read(tmp_path / "moved.hkl")
    assert b.indices.tolist() == a.indices.tolist()
    assert b.intensities.tolist() == a.intensities.tolist()
    assert b.sigmas.tolist() == a.sigmas.tolist()


@pytest.mark.parametrize(
    "line, value",
    [
        ("WGHT nan", "nan"),  # read as no WGHT (a note), then written back into the .res
        ("WGHT 0.1 inf", "inf"),
        ("EXTI -inf", "-inf"),
        ("SWAT nan 2", "nan"),  # not read, written back
        ("SHEL 1e999 0.8", "1e999"),  # float('1e999') is inf
        ("DISP C 0.002 0.001 nan", "nan"),  # μ is not read: written back
        ("OMIT nan 0 0", "nan"),  # an internal error: NaN taken for an integer index
        ("BASF nan", "nan"),
        ("DFIX nan C1 O1", "nan"),  # an internal error: NaN taken for an integer
        ("SADI 0.02 inf C1 O1 C1 O1", "inf"),  # written back
        ("HFIX nan C1", "nan"),
    ],
)
def test_nan_or_infinity_in_an_instruction_names_its_line(tmp_path, capsys, line, value):
    """float() takes 'nan', 'inf' and '1e999': in an instruction they are an error on their
    line (SHELXL reads no such number), never a NaN refined with or written back into the .res.
    An atom named NAN or INF would be refused as well: no file we have names one."""
    code, error, written = run(tmp_path, capsys, f"{line}\nFVAR 1.0\n" + ATOMS, HKL)
    assert (code, written) == (EXIT_INPUT, [])
    keyword = line.split()[0]
    assert error == (
        f"crystalx: error: {tmp_path / 'x.res'}:8: {keyword}: NaN or infinite value {value!r}\n"
    )


def test_an_omit_of_an_index_past_any_reflection_names_its_line(tmp_path, capsys):
    """OMIT 1e300 1e300 1e300 reads as h k l (whole numbers): it stopped with an internal
    OverflowError where the indices were made integers."""
    code, error, written = run(tmp_path, capsys, "OMIT 1e300 1e300 1e300\nFVAR 1.0\n" + ATOMS, HKL)
    assert (code, written) == (EXIT_INPUT, [])
    assert error == (
        f"crystalx: error: {tmp_path / 'x.res'}:8: OMIT h k l: index out of range "
        "(-999 <= h, k, l <= 9999) in '1e300 1e300 1e300'\n"
    )


def test_a_refln_loop_index_past_any_reflection_names_its_row(tmp_path):
    """An index of 99999999999 in a CIF's _refln loop overflowed cctbx's integer indices (an
    internal error); it is refused on its row as the .hkl reader refuses it."""
    from crystalx_core.errors import InputError
    from crystalx_core.io import read_reflections

    from .test_foreign_files import CELL, SYMOPS

    text = (
        "data_x\n" + CELL + SYMOPS + "loop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n"
        "_refln_F_squared_meas\n_refln_F_squared_sigma\n1 1 0 40.0 2.0\n99999999999 0 2 20.0 1.0\n"
    )
    path = tmp_path / "x.cif"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        read_reflections(path)
    line = text.splitlines().index("99999999999 0 2 20.0 1.0") + 1
    assert str(error.value) == (
        f"{path}:{line}: Miller index 1e+11 0 2 out of range (-999 <= h, k, l <= 9999)"
    )


def test_a_wght_that_makes_the_refinement_diverge_is_named_in_a_few_digits(tmp_path, shared_data):
    """WGHT 1e300 diverges the final refinement, which is then left out with a note: the note
    gave a with its 300 digits (.4f) and 'R1 = nan', a NaN in the written .json."""
    source = BENCHMARK / "XH_urea"
    res = tmp_path / "x.res"
    res.write_text(re.sub(r"(?m)^WGHT.*$", "WGHT 1e300", (source / "published.res").read_text()))
    args = ["assign", str(res), "--hkl", str(source / "data.hkl"), "--quiet"]
    assert main([*args, "--method", "baseline", "--hydrogens", "rules"]) == 0
    written = (tmp_path / "x_crystalx.json").read_text()
    assert "the input's WGHT 1e+300 0.0000 not used: with it, refinement diverged (R1 not a " in (
        written
    )
    assert not re.search(r"(?i)\bnan\b|\d{20}", written)


def test_a_file_listing_every_atom_twice_is_assigned_as_the_plain_file(tmp_path, capsys):
    """Every atom written twice at its own coordinates under another label (a model saved
    twice into one file): each copy was grouped with its atom as a 'mixed site' and took its
    element's whole UNIT, so that the assignment stopped with 'SFAC/UNIT list no non-H atoms'.
    The copies are repeats, left out with a note, and the atoms are those of the plain file."""
    atoms = MOLECULE[MOLECULE.index("C1 ") : MOLECULE.index("HKLF")]
    twice = MOLECULE.replace("HKLF", re.sub(r"(?m)^(\w+) ", r"\1A ", atoms) + "HKLF")
    quick = ["--quiet", "--method", "baseline", "--hydrogens", "rules"]
    for folder, text in (("plain", HEADER + MOLECULE), ("twice", HEADER + twice)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.res").write_text(text)
        assert main(["assign", str(tmp_path / folder / "x.res"), *quick]) == 0, capsys.readouterr()
    assert written_atoms(tmp_path / "twice", "x") == written_atoms(tmp_path / "plain", "x")
    import json

    notes = json.loads((tmp_path / "twice" / "x_crystalx.json").read_text())["notes"]
    assert any("C1A on C1, C2A on C2, O1A on O1, O2A on O2" in note for note in notes), notes


@pytest.mark.parametrize("sfac", ["1.5", "1e300", "1.0"])
def test_an_atom_whose_sfac_number_is_not_whole_names_its_line(tmp_path, capsys, sfac):
    """An atom line with SFAC number 1.5 (or 1e300) read as no atom at all: the atom went
    missing from the assignment unsaid, and its line was written back into the .res as it
    was. It is refused on its line, as an SFAC number out of range is."""
    code, error, written = run(tmp_path, capsys, f"FVAR 1.0\nC1 {sfac} 0.1 0.2 0.3 11.0 0.05\n")
    assert (code, written) == (EXIT_INPUT, [])
    assert error == (
        f"crystalx: error: {tmp_path / 'x.res'}:9: atom C1: SFAC number {sfac!r} is not a "
        "whole number\n"
    )


def test_an_index_past_the_ewald_limit_is_left_out_with_a_note(shared_data, tmp_path):
    """3I4 holds h = 9999 (SHELX's HKLF format), which in XH_urea's 5.6 Å cell is d = 0.0006 Å,
    past d = λ/2: no crystal diffracts it, and kept it sized every Fourier map of the job to its
    d (1 GB and more, then killed). A few such lines (under pairing's 1 %) are left out, named."""
    source = BENCHMARK / "XH_urea"
    lines = (source / "data.hkl").read_text().splitlines()
    hkl = tmp_path / "x.hkl"
    extra = ["9999   0   1   10.00    1.00", "-999   0   2    1.00    1.00"]
    hkl.write_text("\n".join([*lines, *extra]) + "\n")
    loaded = load(source / "published.res")
    reflections = loaded.read(hkl)
    assert len(reflections) == len(lines)
    assert np.abs(reflections.indices).max() < 100
    assert any(
        note.startswith("2 reflection(s) beyond d = λ/2 = 0.2998 Å")
        and note.endswith("(the first 9999 0 1)")
        for note in reflections.notes
    ), reflections.notes


def test_q_peaks_at_one_point_are_one_atom_with_a_note(tmp_path, capsys, shared_data):
    """The .res of a solution with Q1 written four times within 0.07 Å: main wrote four O on
    top of each other (14 O for UNIT's 11) with no note; the lower peaks are left out, named."""
    text = (shared_data / "benchmark" / "FC_sucrose" / "published.res").read_text()
    head, atoms = text.split("FVAR")
    atoms = [line.split() for line in atoms.splitlines()[1:] if re.match(r"[CO]\d", line)]
    peaks = [(a[2], a[3], a[4], 8 if a[0][0] == "O" else 6) for a in atoms]
    first = peaks[0]
    peaks[1:1] = [
        (f"{float(first[0]) + 0.003 * k:.5f}", *first[1:3], 7.9 - k / 10) for k in (1, 2, 3)
    ]
    lines = [f"Q{k} 1 {x} {y} {z} 11.0 0.05 {h}" for k, (x, y, z, h) in enumerate(peaks, 1)]
    res = tmp_path / "x.res"
    res.write_text(head + "FVAR 1.0\n" + "\n".join(lines) + "\nHKLF 4\nEND\n")
    assert (
        main(["assign", str(res), "--quiet", "--method", "baseline", "--hydrogens", "rules"]) == 0
    )
    assert (
        "one density each (Q2 on Q1, Q3 on Q1, Q4 on Q1): the lower left out"
        in capsys.readouterr().out
    )
    import json

    atoms = json.loads((tmp_path / "x_crystalx.json").read_text())["atoms"]
    assert sorted(a["label"] for a in atoms) == sorted(
        f"Q{k}" for k in range(1, 27) if k not in (2, 3, 4)
    )


def test_a_q_peak_beside_its_own_image_on_a_special_position_stays_one_atom(
    tmp_path, capsys, shared_data
):
    """XH_HMaMg's Mg sits on an inversion centre; as a Q-peak 0.03 Å off it, the peak lies 0.06 Å
    from its own image: one atom on the special position, kept. A lower peak at that image is the
    same density again and is left out, named."""
    text = (shared_data / "benchmark" / "XH_HMaMg" / "published.res").read_text()
    head, body = text.split("FVAR")
    rows = re.findall(r"^([CO]\d|MG1) +\d+ +(\S+) +(\S+) +(\S+)", body.split("HKLF")[0], re.M)
    shift = 0.03 / 10.195  # Å along a
    height = {"M": 12.0, "O": 8.0, "C": 6.0}  # by electrons, as a solution's peaks come
    peaks = [
        (float(x) + (shift if label == "MG1" else 0), float(y), float(z), height[label[0]])
        for label, x, y, z in rows
    ]
    mg = next(k for k, (label, *_) in enumerate(rows) if label == "MG1")
    x, y, z, _ = peaks[mg]
    peaks.append((1 - x, 1 - y, 2 - z, 2.0))  # a lower peak at its inversion image
    lines = [
        f"Q{k} 1 {x:.6f} {y:.6f} {z:.6f} 11.0 0.05 {h}" for k, (x, y, z, h) in enumerate(peaks, 1)
    ]
    res = tmp_path / "x.res"
    res.write_text(head + "FVAR 1.0\n" + "\n".join(lines) + "\nHKLF 4\nEND\n")
    assert (
        main(["assign", str(res), "--quiet", "--method", "baseline", "--hydrogens", "rules"]) == 0
    )
    last = f"Q{len(peaks)}"
    assert f"one density each ({last} on Q{mg + 1})" in capsys.readouterr().out
    import json

    atoms = json.loads((tmp_path / "x_crystalx.json").read_text())["atoms"]
    assert sorted(a["label"] for a in atoms) == sorted(f"Q{k}" for k in range(1, len(peaks)))
    assert {a["element"] for a in atoms if a["label"] == f"Q{mg + 1}"} == {"Mg"}


@pytest.mark.parametrize("name, most", [("PART", 2), ("AFIX", 4), ("SAME", 2), ("END", 0)])
def test_an_atom_named_as_an_instruction_names_its_line(tmp_path, capsys, shared_data, name, most):
    """XH_urea's N renamed PART (AFIX, SAME, END): read as that instruction, the atom was lost
    and PART's 'sof' 0.144653 (its x) set the next atoms' occupancy, or END dropped every atom
    after it, without a word. SHELXL keeps instruction names from atom names."""
    text = (BENCHMARK / "XH_urea" / "published.res").read_text()
    (tmp_path / "x.res").write_text(text.replace("\nN     3 ", f"\n{name:<5} 3 "))
    args = ["assign", str(tmp_path / "x.res"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {tmp_path / 'x.res'}:31: {name!r} reads as the instruction {name}, "
        f"which takes at most {most} numbers, not 11: an atom named {name}? SHELX takes a "
        "line's first word for an instruction (rename the atom)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["x.res"]


LEGAL_LINES = """DFIX_1 1.5 C N|DFIX 21 0.02 C N|SADI_CCF3 0.02 C N C O|SAME_1 0.02 0.04 C > N
AFIX 137 0.96 11 -1.5|AFIX 0|HFIX 43 1.2|HFIX 137 -1.5 0.96 C|PART -1 21|PART 0
SUMP 1 0.001 1 2 1 3|EXYZ C N|EADP C N|FLAT 0.1 C N O|FLAT_1 C N O|DELU 0.01 0.01|DELU 1 1 C N
SIMU 0.04 0.08 1.7|SIMU 1 2 3 C N|RIGU|RIGU 0.004 0.004 C N|ISOR 0.1 0.2 C|CHIV 0 0.1 C
DANG 2.5 0.04 C O|CONN 12 1.2|CONN 4 C|BIND 1 2|BIND C N|FREE C N|HTAB 2.0|HTAB N O
MPLA 6 C N O|CONF|OMIT -3 55|OMIT 1 0 0|ANIS 5|WGHT 0.1 0.2 0 0 0 0.33333|L.S. 10 0 0
CGLS 10 -1|ACTA 52|BOND $H|SHEL 999 0.8|TEMP -173|SIZE 0.1 0.2 0.3|MORE -1|FMAP 2|PLAN 20
LIST 4""".replace("\n", "|").split("|")


@pytest.mark.parametrize("line", LEGAL_LINES)
def test_an_instruction_with_its_own_numbers_is_no_atom_named_so(shared_data, line):
    """Guard for the check above (review, s26hostile8-r): each instruction in the forms the
    SHELXL manual gives, residue suffixes, free variables and integer first numbers included,
    still reads (a refused legal file is worse than the misread atom)."""
    from crystalx_core.io.shelx_read import parse_shelx

    text = (BENCHMARK / "XH_urea" / "published.res").read_text()
    atoms = [a.text for a in parse_shelx(text, "x.res").atoms]
    text = text.replace("FVAR       1.02290", f"{line}\nFVAR 1.02290 0.5")
    assert [a.text for a in parse_shelx(text, "x.res").atoms] == atoms
