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
