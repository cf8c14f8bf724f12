"""Powder files from other labs that main refused or misread (session 24): Bruker RAW v4, a
multi-scan .TTX, neutron .dat layouts, a .ras attenuator column, thousands separators, and
MOF scans that start late. Each file is a real one, or an excerpt of one, cited where used."""

import struct
from pathlib import Path

import numpy as np
import pytest

from crystalx_core.errors import InputError
from crystalx_core.pxrd.formats import read_scan
from crystalx_core.pxrd.patterns import read_pattern

DATA = Path(__file__).parent / "data"

# fairmat-readers-xrd 0.0.10 (PyPI sdist, Apache-2.0), tests/data/TwoTheta_scan_scrambled.raw
# (Bruker RAW4.00 from DIFFRAC.EVA, 7134 points, 58 kB): its header bytes verbatim and its first
# 300 points, the three point counts in the range block set to 300.
RAW4 = DATA / "bruker_raw4_first300.raw"
# the same package's bruker_raw_parser.py (BrukerRAW4Parser) on the whole file: 2θ from 10.0 in
# steps of 0.010520299896597862°, and the first counts
RAW4_FIRST_COUNTS = [283.7691955566406, -164.5344696044922, -164.5344696044922, 3158.152099609375]


def test_a_bruker_raw4_file_is_read_as_its_own_package_reads_it():
    """main refused every RAW4.00 file ('export the pattern as .xy')."""
    scan = read_scan(RAW4.read_bytes(), str(RAW4))
    assert scan.format == "Bruker RAW4" and len(scan.x) == 300
    assert np.allclose(scan.x, 10.0 + 0.010520299896597862 * np.arange(300), atol=1e-12)
    assert np.allclose(scan.y[:4], RAW4_FIRST_COUNTS, rtol=0, atol=1e-9)
    assert scan.wavelength == pytest.approx(1.5406) and "range" in scan.wavelength_from
    pattern = read_pattern(RAW4)
    assert pattern.two_theta[-1] == pytest.approx(10.0 + 299 * 0.010520299896597862)


def test_a_cut_short_raw4_file_is_refused_in_one_line(tmp_path):
    cut = tmp_path / "cut.raw"
    cut.write_bytes(RAW4.read_bytes()[:-100])
    with pytest.raises(InputError, match=r"300 points × 8 bytes .* cut short"):
        read_pattern(cut)


def test_a_raw4_range_that_does_not_scan_two_theta_is_refused(tmp_path):
    """GSAS-II's reader takes Locked/Unlocked Coupled and Detector Scan ranges as 2θ patterns."""
    data = bytearray(RAW4.read_bytes())
    at = data.index(b"Locked Coupled")
    data[at : at + 24] = b"Rocking Curve".ljust(24, b"\0")
    rocking = tmp_path / "rocking.raw"
    rocking.write_bytes(bytes(data))
    with pytest.raises(InputError, match="scan type 'Rocking Curve', not a 2θ scan"):
        read_pattern(rocking)


def test_two_raw4_ranges_are_both_read(tmp_path):
    """A second range block after the first range's data (as GSAS-II reads banks in turn)."""
    data = RAW4.read_bytes()
    first = data.index(b"Locked Coupled") - 32  # the range block's type word
    block = bytearray(data[first:])
    struct.pack_into("<d", block, 72, 20.0)  # the second range starts at 20°
    two = tmp_path / "two.raw"
    two.write_bytes(data + bytes(block))
    scan = read_scan(two.read_bytes(), str(two))
    assert len(scan.x) == 600 and scan.x[300] == 20.0 and scan.notes == ["2 ranges merged"]


@pytest.mark.filterwarnings("error")  # numpy's 'invalid value encountered in cast' included
def test_a_mangled_raw4_file_gives_one_line_never_a_traceback(tmp_path):
    """Bytes overwritten, a count or size field set huge, the file cut off: refused with our
    error or read, never another exception or warning, never an allocation the file cannot
    back (each range's count × record size is checked against the bytes there)."""
    good = RAW4.read_bytes()
    path = tmp_path / "mangled.raw"
    snan = bytearray(good)  # a signalling NaN among the counts: numpy warned in the cast
    struct.pack_into("<I", snan, len(good) - 300 * 8 + 5 * 8, 0x7F800001)
    path.write_bytes(bytes(snan))
    with pytest.raises(InputError, match="NaN or infinite value"):
        read_pattern(path)
    rng = np.random.default_rng(11)
    for _ in range(300):
        data = bytearray(good)
        if rng.random() < 0.5:
            for at in rng.integers(0, len(data), rng.integers(1, 20)):
                data[at] = rng.integers(0, 256)
        else:  # a 32-bit field of the headers set to a large or random value
            at = int(rng.integers(0, 1000))
            struct.pack_into("<I", data, at, int(rng.choice([2**32 - 1, 2**28, 300 * 2**16])))
        path.write_bytes(bytes(data[: rng.integers(1, len(data) + 1)]))
        try:
            read_pattern(path)
        except InputError:
            pass


# pdiffutils 0.0.3 (PyPI sdist, Apache-2.0), data/Ce_short.TTX: a temperature series of 5 scans
# (25, 50, 100, 150, 200), 3937 points each. Verbatim (CRLF) but for the first 60 rows of each
# scan, 'Number of points' set to match.
TTX = DATA / "ce_short_first60.TTX"


def test_a_ttx_series_reads_its_first_scan_and_says_so():
    """main refused it at line 6 (the motor-position line read as 2θ -0°)."""
    pattern = read_pattern(TTX)
    assert pattern.format == ".TTX series" and len(pattern.two_theta) == 60
    assert pattern.two_theta[0] == pytest.approx(0.993) and pattern.intensity[0] == 8
    assert pattern.two_theta[-1] == pytest.approx(1.888) and pattern.intensity[-1] == 290
    (note,) = pattern.notes
    assert (
        "scan 1 of 5 read (Temperature 25.0; the series: 25.0, 50.0, 100.0, 150.0, 200.0)" in note
    )
    assert "save its 2θ, counts rows alone as .xy" in note


def test_a_ttx_scan_cut_short_is_refused_with_its_line(tmp_path):
    lines = TTX.read_text().splitlines()
    del lines[30]  # a row of scan 1
    short = tmp_path / "short.TTX"
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="'Number of points' .* says 60, scan 1 has 59") as error:
        read_pattern(short)
    assert error.value.line == 67  # the '****' line that ends scan 1


def _rows(*rows: str) -> str:
    return "".join(f"{row}\n" for row in rows)


@pytest.mark.parametrize(
    "row, counts",
    [
        ("10.{:02d} 1,234", 1234.0),
        ("10.{:02d}\t12,345.5", 12345.5),
        ("10.{:02d};1,234,567", 1234567.0),
    ],
)
def test_thousands_separators_are_read_as_such(tmp_path, row, counts):
    """main read '10.02 1,234' as 2θ 10.02, intensity 1 (the ',' split the number)."""
    path = tmp_path / "grouped.xy"
    path.write_text(_rows(*(row.format(k) for k in range(60))))
    assert (read_pattern(path).intensity == counts).all()


def test_a_comma_that_is_neither_is_refused_with_its_line(tmp_path):
    path = tmp_path / "odd.xy"
    path.write_text(_rows(*(f"10.{k:02d} 1234" for k in range(30)), "10.30 1,23"))
    with pytest.raises(InputError, match="a ',' inside a number") as error:
        read_pattern(path)
    assert error.value.line == 31


# objcryst-fox 2022.1 (Debian package, GPL-2; Fox, V. Favre-Nicolin),
# usr/share/doc/objcryst-fox/example/tutorial-pbso4/neutron.dat: the PbSO4 round robin (Hill,
# J. Appl. Cryst. 25, 589) measured on ILL's D1A at 1.909 Å, in FullProf's free format. Its header
# line and first 60 counts; the stop angle, 155.95 in the file, set to the 60th step.
PBSO4_D1A = """\
10.000 0.050 12.95 PbSO4 D1A(ILL)(Rietveld Refinement Round Robin,R.J. Hill,JApC 25,589)
   220   214   219   224   198   229   224   216   202   229
   202   215   215   196   235   207   205   238   202   213
   226   198   222   186   216   218   225   200   196   224
   199   204   189   211   190   184   204   204   219   207
   227   211   193   206   208   191   194   185   200   203
   197   203   200   200   205   208   205   201   221   218
"""


def test_fullprof_free_format_is_read_at_its_steps(tmp_path):
    """main read the header as a row (2θ 10, intensity 0.05) and the counts as 2θ (220°)."""
    path = tmp_path / "neutron.dat"
    path.write_text(PBSO4_D1A)
    pattern = read_pattern(path, wavelength=1.909)
    assert pattern.format == "start-step-stop .dat" and len(pattern.two_theta) == 60
    assert np.allclose(pattern.two_theta, 10 + 0.05 * np.arange(60))
    assert pattern.intensity[[0, 10, -1]].tolist() == [220, 202, 218]


def test_a_neutron_pattern_without_a_wavelength_is_refused_not_read_as_cu(tmp_path):
    path = tmp_path / "neutron.dat"
    path.write_text(PBSO4_D1A)
    with pytest.raises(
        InputError, match=r"neutron pattern \(its title names 'D1A\(ILL\)'.*--wavelength"
    ):
        read_pattern(path)
    note = next(n for n in read_pattern(path, wavelength=1.909).notes if "neutron" in n)
    assert "X-ray intensities" in note


def test_the_same_layout_without_a_neutron_title_is_read_as_cu(tmp_path):
    path = tmp_path / "xray.dat"
    path.write_text(PBSO4_D1A.replace("D1A(ILL)", "XrayDif"))
    pattern = read_pattern(path)
    assert pattern.wavelength_from.startswith("Cu Kα1, the default") and not pattern.notes


@pytest.mark.parametrize("step", ["1e-320", "1e-300"])
def test_a_start_step_stop_line_with_a_vanishing_step_gives_one_line(tmp_path, step):
    """A step so small the steps overflow to inf raised OverflowError (fuzzing, session 24
    review); one merely tiny asks for more counts than the file holds (a 300-digit count was
    printed)."""
    path = tmp_path / "tiny.dat"
    path.write_text(PBSO4_D1A.replace("0.050", step).replace("D1A(ILL)", "XrayDif"))
    with pytest.raises(InputError) as refused:
        read_pattern(path)
    assert len(refused.value.one_line()) < 300


def test_a_start_step_stop_file_cut_short_is_refused(tmp_path):
    """The excerpt with the file's own stop angle, 155.95°: 2920 steps, 60 counts."""
    path = tmp_path / "neutron.dat"
    path.write_text(PBSO4_D1A.replace("12.95", "155.95"))
    with pytest.raises(InputError, match=r"line 1 gives 2920 steps .* holds 60 counts \(cut short"):
        read_pattern(path, wavelength=1.909)
