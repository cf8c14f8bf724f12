"""Session 19's hostile campaign through the user's entry points: each case failed (a traceback,
minutes of work before a refusal, a misleading message) before its fix. Small files written here."""

import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.assign import MAX_SITES

from .test_shelx_io import HEADER


def assign(capsys, path, *extra):
    """`crystalx assign PATH --quiet` with the baseline: (exit code, stderr)."""
    code = main(
        ["assign", str(path), "--quiet", "--method", "baseline", "--hydrogens", "rules", *extra]
    )
    return code, capsys.readouterr().err


def test_a_res_of_too_many_peaks_is_refused_at_the_first_one_too_many(tmp_path, capsys):
    """10⁶ Q-peaks (52 MB) were all read (5 GB, minutes) before assign refused them without a
    line; the reader now stops at the peak past MAX_SITES and names its line."""
    peaks = "".join(
        f"Q{k} 1 {k % 97 / 97:.4f} {k % 89 / 89:.4f} {k % 83 / 83:.4f} 11 0.05 1.0\n"
        for k in range(1, MAX_SITES + 100)
    )
    source = tmp_path / "many.res"
    source.write_text(HEADER + "FVAR 1.0\n" + peaks + "HKLF 4\nEND\n")
    first_too_many = HEADER.count("\n") + 1 + MAX_SITES + 1
    code, error = assign(capsys, source)
    assert code == EXIT_INPUT
    assert error == (
        f"crystalx: error: {source}:{first_too_many}: atom Q{MAX_SITES + 1}: one line too many, "
        f"CrystalX reads at most {MAX_SITES} atom and peak lines per structure (a site shared by "
        "two elements is two lines)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.res"]


CIF = """data_many
_cell_length_a 30
_cell_length_b 30
_cell_length_c 30
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
 _atom_site_label
 _atom_site_type_symbol
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
"""


def test_a_cif_of_too_many_atoms_is_refused_at_its_loop_before_reading_the_rows(tmp_path, capsys):
    """The CIF reader looked up the loop's line once per atom (a scan of the block each time)
    and refused only in assign, without a line."""
    rows = "".join(
        f"C{k} C {k % 97 / 97:.4f} {k % 89 / 89:.4f} {k % 83 / 83:.4f}\n"
        for k in range(1, MAX_SITES + 2)
    )
    source = tmp_path / "many.cif"
    source.write_text(CIF + rows)
    code, error = assign(capsys, source)
    assert code == EXIT_INPUT
    assert error == (
        f"crystalx: error: {source}:12: {MAX_SITES + 1} atom rows: CrystalX reads at most "
        f"{MAX_SITES} atom rows per structure (a site shared by two elements is two rows)\n"
    )


def test_a_file_name_with_a_newline_or_an_escape_sequence_is_one_inert_error_line(tmp_path, capsys):
    """A name holding a newline split the 'one line' error in two; ESC sequences (clear the
    screen, set the window title) reached the user's terminal as they were."""
    source = tmp_path / "new\nline\x1b[2J.res"
    source.write_text("TITL no cell\n")
    code, error = assign(capsys, source)
    assert code == EXIT_INPUT
    shown = str(tmp_path / "new\\nline\\x1b[2J.res")
    assert error == f"crystalx: error: {shown}:1: no CELL instruction in the file\n"


def test_an_atom_label_with_terminal_controls_is_quoted_inert(tmp_path, capsys):
    """A label is the file's own text: in an error it is shown escaped, never obeyed."""
    source = tmp_path / "label.res"
    source.write_text(HEADER + "FVAR 1.0\nC1\x1b]0;owned\x07 1 0.1 0.2 zero 11 0.05\nHKLF 4\nEND\n")
    code, error = assign(capsys, source)
    assert code == EXIT_INPUT
    assert error.startswith(f"crystalx: error: {source}:9: atom C1\\x1b]0;owned\\x07: ")
    assert error.count("\n") == 1 and error.isascii() and "\x1b" not in error


def test_the_summary_of_a_job_on_such_a_name_prints_inert_lines(tmp_path, capsys, shared_data):
    """Run twice: the second run's 'kept the previous output as' and 'wrote' lines name it."""
    source = tmp_path / "ok\x1b[31m\rx.res"
    source.write_bytes((shared_data / "benchmark/FC_sucrose/published.res").read_bytes())
    args = ["assign", str(source), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    assert (tmp_path / "ok\x1b[31m\rx_crystalx.res").is_file()  # the files keep their name
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "kept the previous output as " in out and "ok\\x1b[31m\\rx_crystalx.res" in out


def test_a_batch_row_of_such_a_name_is_one_inert_line(tmp_path, capsys):
    (tmp_path / "bad\nname\x07.res").write_text("TITL no cell\n")
    code = main(
        [
            "batch",
            str(tmp_path),
            "--method",
            "baseline",
            "--hydrogens",
            "rules",
            "--workers",
            "1",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    row = next(line for line in out.splitlines() if "no CELL" in line)
    assert row.startswith("  bad\\nname\\x07: ") and "\x07" not in out


def test_a_cif_renamed_to_res_is_named_a_cif(tmp_path, capsys, shared_data):
    """A real CIF (the FC_sucrose model) saved as .res was read as SHELX instructions until a
    text field's line 'symmetry information ...' failed as a SYMM card."""
    source = tmp_path / "model.res"
    source.write_bytes((shared_data / "benchmark/FC_sucrose/model.cif").read_bytes())
    data_line = source.read_text().splitlines().index("data_DK_zucker2_0m") + 1
    code, error = assign(capsys, source)
    assert code == EXIT_INPUT
    assert error == (
        f"crystalx: error: {source}:{data_line}: a CIF (data_DK_zucker2_0m), not a SHELX file: "
        "give it the .cif suffix\n"
    )


def test_an_out_name_too_long_for_the_file_system_is_an_output_error(tmp_path, capsys, shared_data):
    """Path.is_dir raised ENAMETOOLONG, which reached the user as an input error (exit 2)."""
    from crystalx_core.cli import EXIT_OUTPUT

    source = tmp_path / "s.res"
    source.write_bytes((shared_data / "benchmark/FC_sucrose/published.res").read_bytes())
    out = tmp_path / ("a" * 300)
    code, error = assign(capsys, source, "--out", str(out))
    assert code == EXIT_OUTPUT
    assert error == f"crystalx: error: {out}: cannot write there: File name too long\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.res"]


@pytest.mark.parametrize(
    "command, option",
    [
        (["assign", "{model}"], "--out"),
        (["solve", "{model}"], "--out"),
        (["audit", "{model}"], "--out"),
        (["batch", "{folder}"], "--out"),
        (["pxrd", "--from-cif", "{model}"], "--out"),
        (["demo"], "--out"),
        (["demo"], "--dir"),
    ],
)
def test_an_empty_output_name_is_a_usage_error_not_the_current_folder(
    tmp_path, capsys, monkeypatch, shared_data, command, option
):
    """Path('') is '.': `--out ""` (an unset shell variable) wrote the outputs into whatever
    folder the command ran in, silently. Refused before any work, as cp and sort refuse ''."""
    inputs, here = tmp_path / "inputs", tmp_path / "here"
    inputs.mkdir()
    here.mkdir()
    model = inputs / "s.res"
    model.write_bytes((shared_data / "benchmark/FC_sucrose/published.res").read_bytes())
    monkeypatch.chdir(here)
    argv = [a.format(model=model, folder=inputs) for a in command]
    if command[0] != "pxrd":  # pxrd has no assignment options
        argv += ["--method", "baseline", "--hydrogens", "rules", "--quiet"]
    with pytest.raises(SystemExit) as stopped:
        main([*argv, option, ""])
    assert stopped.value.code == EXIT_INPUT
    last = capsys.readouterr().err.splitlines()[-1]
    assert f"argument {option}: empty" in last
    assert list(here.iterdir()) == [] and [p.name for p in inputs.iterdir()] == ["s.res"]
