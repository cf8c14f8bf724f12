"""A crystallographer from another lab follows the README from the top: every option the
commands take is named there, a CIF saved by a Windows editor (CR LF) gives a .res of one line
ending, a solve stopped by Ctrl-C leaves no file under a final name, and paths with blanks and
non-ASCII letters, given relative, work twice over (the first outputs kept as .bak)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystalx_core.cli import _parser, main

from .conftest import BENCHMARK

README = Path(__file__).resolve().parents[1] / "README.md"


def _subcommands() -> dict:
    parser = _parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_readme_names_every_command_and_option():
    """Each subcommand is shown in README's command list, and each of its options is named in
    the README (before, `batch --no-refine` and `pxrd --wavelength` were only in --help). The
    options come from the parser's actions, not from --help's text, so help formatting does
    not matter; an option counts only as a whole word (`--out` is not found in `--output`)."""
    text = README.read_text(encoding="utf-8")
    commands = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for name, sub in _subcommands().items():
        assert re.search(rf"^crystalx {name}\b", commands, re.M), name
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    named = re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text)
                    assert named, f"crystalx {name} {option} is not in README.md"


def test_a_cif_saved_with_cr_lf_gives_a_res_of_cr_lf_lines(tmp_path, shared_data):
    """FC_sucrose's CIF as a Windows editor saves it (every line CR LF): its embedded .res is
    written back with CR LF on every line; before, the last line (the one before the text
    field's closing ';') got a bare LF, a file of mixed line endings."""
    cif = tmp_path / "sucrose.cif"
    raw = (BENCHMARK / "FC_sucrose" / "model.cif").read_bytes()
    cif.write_bytes(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert main(["assign", str(cif), "--quiet"]) == 0
    written = (tmp_path / "sucrose_crystalx.res").read_bytes()
    lines = written.split(b"\n")
    assert lines[-1] == b""  # the file ends with its last line's ending
    assert all(line.endswith(b"\r") for line in lines[:-1]), [
        n for n, line in enumerate(lines[:-1], 1) if not line.endswith(b"\r")
    ]


def test_relative_paths_with_blanks_and_accents_run_twice(tmp_path, shared_data, monkeypatch):
    """`crystalx assign "alanine ü.res" --hkl "alanine ü.hkl"` from inside 'my data/Zürich ñ',
    then once more: the inputs stay byte for byte, the second run keeps the first outputs as
    .bak, and `--out "../out dir/"` makes that folder."""
    folder = tmp_path / "my data" / "Zürich ñ"
    folder.mkdir(parents=True)
    shutil.copy(BENCHMARK / "XH_alanine" / "published.res", folder / "alanine ü.res")
    shutil.copy(BENCHMARK / "XH_alanine" / "data.hkl", folder / "alanine ü.hkl")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.chdir(folder)
    command = ["assign", "alanine ü.res", "--hkl", "alanine ü.hkl", "--quiet"]
    assert main(command) == 0
    first = (folder / "alanine ü_crystalx.res").read_bytes()
    assert main(command) == 0
    assert (folder / "alanine ü_crystalx.res.bak").read_bytes() == first
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name in before} == before
    assert main(["assign", "./alanine ü.res", "--out", "../out dir/", "--quiet"]) == 0
    assert sorted(p.name for p in (folder.parent / "out dir").iterdir()) == [
        "alanine ü_crystalx.cif",
        "alanine ü_crystalx.json",
        "alanine ü_crystalx.res",
    ]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_in_a_solve_leaves_no_output_and_one_line(tmp_path, shared_data):
    """Ctrl-C while `crystalx solve` flips FC_SH2185's 17,407 reflections (about 30 s on two
    cores): exit 130 (README's exit codes), one line on stderr, no traceback, and nothing
    written beside the inputs, neither under the final names nor as a temporary."""
    shutil.copy(BENCHMARK / "FC_SH2185" / "published.res", tmp_path / "s.ins")
    shutil.copy(BENCHMARK / "FC_SH2185" / "data.hkl", tmp_path / "s.hkl")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = subprocess.Popen(
        [sys.executable, "-m", "crystalx_core.cli", "solve", "s.ins", "s.hkl"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)  # past the imports and the reading: charge flipping
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_res_cut_inside_a_continuation_is_one_line_naming_it(tmp_path, shared_data, capsys):
    """XH_alanine's .res cut at byte 1500, as an interrupted copy leaves it: after C2's
    'U11 U22 =' only the blanks that start its next line. Before, C2 was read with U11 as its
    Uiso and U22 dropped, and the job wrote a model; now one line names the file and line."""
    text = (BENCHMARK / "XH_alanine" / "published.res").read_bytes()[:1500]
    assert text.rstrip(b" ").endswith(b"=\n")  # the cut this test is about
    res = tmp_path / "cut.res"
    res.write_bytes(text)
    assert main(["assign", str(res), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cut.res:36:" in err and "truncated" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.res"]
