"""Legal but extreme σ(Fo²) columns refine as SHELXL weighs them, or fail in one clear line.

SHELXL weighs by w = 1/[σ²(Fo²) + (aP)² + bP], P = [max(Fo², 0) + 2Fc²]/3 (manual, WGHT), so
sigmas of 1e-30 leave the weights to WGHT 0.1; but a weak reflection's P is near 0 too, and
without a σ its weight has no bound: XH_urea's .hkl with its sigmas × 1e-30 diverged (R1 2.23).
Each case is a benchmark .hkl whose σ column the test rewrites (FORMAT 3I4,2F8.2, manual HKLF).
"""

import json

import numpy as np
import pytest

from crystalx_core.cli import EXIT_OK, EXIT_REFINE, main
from crystalx_core.io.hkl import TINY_SIGMA, read_hkl, reflections_from_text
from tests.conftest import BENCHMARK


def _f8(value: float) -> str:
    text = f"{value:8.2f}"
    if len(text) > 8 or 0 < abs(value) < 0.1:
        text = f"{value:8.1e}"
    assert len(text) <= 8, text
    return text


def modified_hkl(tmp_path, entry: str, sigma) -> object:
    """The entry's data.hkl with σ replaced by sigma(row, Fo², σ), written to tmp_path."""
    rows = []
    for n, line in enumerate((BENCHMARK / entry / "data.hkl").read_text().splitlines()):
        if line[:12].split() == ["0", "0", "0"] or len(line) < 28:
            rows.append(line)
            continue
        intensity, given = float(line[12:20]), float(line[20:28])
        rows.append(line[:20] + _f8(sigma(n, intensity, given)) + line[28:])
    path = tmp_path / f"{entry}.hkl"
    path.write_text("\n".join(rows) + "\n")
    return path


def assign(tmp_path, capsys, entry: str, hkl) -> tuple[int, dict]:
    code = main(
        [
            "assign",
            str(BENCHMARK / entry / "published.res"),
            "--hkl",
            str(hkl),
            "--quiet",
            "--json",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == EXIT_OK else {"error": captured.err}


def test_no_benchmark_sigma_is_changed(shared_data):
    """The floor (1e-5 of the median Fo²) lies far under every σ of the real files: none is
    changed, and no note about it."""
    for path in sorted(BENCHMARK.glob("*/data.hkl")):
        reflections = read_hkl(path)
        intensities, sigmas = reflections.intensities, reflections.sigmas
        assert sigmas.min() >= TINY_SIGMA * np.median(intensities[intensities > 0]), path
        assert not [n for n in reflections.notes if "sigma under" in n or "every" in n], path


@pytest.mark.parametrize(
    "entry, factor, r1",
    [("XH_urea", 1e-30, 0.031), ("XH_urea", 1e-6, 0.031), ("XH_xylitol", 1e-6, 0.030)],
)
def test_sigmas_times_a_tiny_factor_refine_as_with_their_own(
    tmp_path, shared_data, capsys, entry, factor, r1
):
    """R1 with the .hkl as given: XH_urea 0.0296, XH_xylitol 0.0249. Before, XH_urea's σ ×
    1e-30 diverged (R1 2.23) and × 1e-6 found no positive scale; XH_xylitol's × 1e-6 (its
    largest σ stay over 1e-5 of the median Fo²) gave R1 0.63 at the first refinement. Scaled
    back so that their median is 1 % of the median Fo², the weights of WGHT 0.1 come mostly
    from P and those of the input's WGHT 0 (1/σ², blind to a common factor) are the file's."""
    hkl = modified_hkl(tmp_path, entry, lambda n, i, s: s * factor)
    code, report = assign(tmp_path, capsys, entry, hkl)
    assert code == EXIT_OK, report
    assert report["refinement"]["r1"] < r1
    assert any("sigmas multiplied by" in n for n in report["notes"])


def test_every_sigma_zero_refines_with_wght_alone(tmp_path, shared_data, capsys):
    """Every σ 0: the weights come from WGHT 0.1 with σ 1 % of the median Fo²; the input's WGHT
    0 (w = 1/σ²) has nothing to weigh by and is not used, with a note."""
    hkl = modified_hkl(tmp_path, "XH_urea", lambda n, i, s: 0.0)
    code, report = assign(tmp_path, capsys, "XH_urea", hkl)
    assert code == EXIT_OK, report
    assert report["refinement"]["r1"] < 0.035
    notes = report["notes"]
    assert any(n.startswith("every reflection has sigma 0: sigmas set to") for n in notes)
    assert any("WGHT 0.0000 0.0000 not used" in n for n in notes)


def test_a_handful_of_tiny_sigmas_weigh_as_those_of_like_fo_squared(tmp_path, shared_data, capsys):
    """The five strongest reflections with σ 1e-4 (Fo²/σ over 10⁶) ruled the input's WGHT 0
    (w = 1/σ²): final R1 0.151 and no solution before; now weighed as the reflections of like
    Fo², R1 as with the file as given (0.0280)."""
    strong = sorted(
        (i, n) for n, (i, s) in enumerate(_columns(BENCHMARK / "XH_alanine" / "data.hkl"))
    )[-5:]
    rows = {n for _, n in strong}
    hkl = modified_hkl(tmp_path, "XH_alanine", lambda n, i, s: 1e-4 if n in rows else s)
    code, report = assign(tmp_path, capsys, "XH_alanine", hkl)
    assert code == EXIT_OK, report
    assert "5 reflection(s) with sigma under" in " ".join(report["notes"])
    assert report["refinement"]["r1"] < 0.029
    assert report["refinement"]["wr2"] > 0.03


def _columns(path):
    for line in path.read_text().splitlines():
        if len(line) >= 28 and line[:12].split() != ["0", "0", "0"]:
            yield float(line[12:20]), float(line[20:28])


def test_sigmas_times_a_million_fail_in_one_line_naming_the_scale(tmp_path, shared_data, capsys):
    hkl = modified_hkl(tmp_path, "XH_alanine", lambda n, i, s: s * 1e6)
    code, report = assign(tmp_path, capsys, "XH_alanine", hkl)
    assert code == EXIT_REFINE
    assert "are the sigmas on another scale?" in report["error"]
    assert len(report["error"].strip().splitlines()) == 1


def test_every_sigma_zero_is_read_with_a_note():
    reflections = reflections_from_text(
        "   1   0   0  100.00    0.00\n   2   0   0   10.00    0.00\n", "x.hkl"
    )
    assert reflections.sigmas.tolist() == [0.55, 0.55]  # 1 % of the median Fo² (55)
    assert not reflections.sigmas_given


def test_fo_squared_far_below_zero_fails_in_one_line_naming_them(tmp_path, shared_data, capsys):
    """Every 100th reflection of XH_alanine at Fo² -10⁵ (σ as given; no benchmark .hkl goes
    under -8σ): the scale turns negative; the error names the .hkl and the reflections."""
    path = BENCHMARK / "XH_alanine" / "data.hkl"
    lines = path.read_text().splitlines()
    for n in range(0, len(lines) - 1, 100):
        lines[n] = lines[n][:12] + _f8(-1e5) + lines[n][20:]
    hkl = tmp_path / "XH_alanine.hkl"
    hkl.write_text("\n".join(lines) + "\n")
    code, report = assign(tmp_path, capsys, "XH_alanine", hkl)
    assert code == EXIT_REFINE
    error = report["error"].strip()
    assert len(error.splitlines()) == 1
    assert str(hkl) in error
    assert "reflection(s) have Fo² under -10σ(Fo²), which no measurement gives" in error


def test_sigmas_rounded_to_zero_leave_the_real_ones_as_written(tmp_path, shared_data):
    """XH_urea's Fo² and σ on a tenth of their scale, written 3I4,2F8.2: 59 % of the σ round to
    0.00. Those are weak σ lost to the format, not a column with no scale: the σ still written
    are kept as they are (before this, all were multiplied by 0.04) and the 0.00s given the
    smallest (0.01), as SHELXL-format files with 0.00 were read before."""
    rows = []
    for line in (BENCHMARK / "XH_urea" / "data.hkl").read_text().splitlines():
        if len(line) < 28 or line[:12].split() == ["0", "0", "0"]:
            break
        intensity, sigma = float(line[12:20]) / 10, float(line[20:28]) / 10
        rows.append(f"{line[:12]}{intensity:8.2f}{sigma:8.2f}")
    path = tmp_path / "urea_tenth.hkl"
    path.write_text("\n".join(rows) + "\n")
    written = np.array([float(row[20:28]) for row in rows])
    assert (written == 0).mean() > 0.5
    reflections = read_hkl(path)
    kept = written > 0
    assert np.array_equal(reflections.sigmas[kept], written[kept])
    assert (reflections.sigmas[~kept] == 0.01).all()
    assert not [n for n in reflections.notes if "multiplied" in n]


def test_a_tiny_sigma_on_the_strongest_takes_the_median_of_twenty():
    """At the top of the Fo² range the 20 nearest are the 20 strongest (before, only 10 were
    taken there): Fo² 1..100 with σ Fo²/10, and Fo² 200 with σ 1e-4 (under 1e-5 × 50.5)."""
    lines = [f"{n:4d}   0   0{n:8.2f}{n / 10:8.2f}" for n in range(1, 101)]
    lines.append(f" 101   0   0  200.00{_f8(1e-4)}")
    reflections = reflections_from_text("\n".join(lines) + "\n", "x.hkl")
    assert reflections.sigmas[-1] == pytest.approx(np.median(np.arange(81, 101) / 10))
    assert reflections.sigmas[:-1].tolist() == pytest.approx([n / 10 for n in range(1, 101)])
