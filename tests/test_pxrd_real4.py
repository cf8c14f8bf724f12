"""Powder files from other labs, fourth sweep (session 25): neutron evidence that a word in a
sample name no longer gives (PSI's and ILL's own .dat layouts, a GSAS .prm's HTYPE), ILL's
D1A5 .dat. Each file is a real one, or an excerpt of one, cited where used."""

from pathlib import Path

import numpy as np
import pytest

from crystalx_core.errors import InputError
from crystalx_core.pxrd.patterns import read_pattern

# xylib (LGPL-2.1, github.com/wojdyr/xylib) samples/PSI_DMC.dat: PSI's own .dat layout (xylib's
# riet7.cpp reads it as "PSI DMC"; this one is from HRPT): line 1 the instrument, a comma and
# the title; line 2 lambda, T, dT, Date; line 3 start, step, stop, monitor and the sample. Its
# three header lines and first 100 counts, the stop angle (162.898) set to the 100th step.
PSI_HRPT = """\
HRPT, NdNi4MgDx_V_HI,a4=3.0,N18
lambda=  1.49400, T=   0.000, dT=  0.000, Date=2001-06-16 06:25:59
   2.948   0.050   7.898 18000000., sample="NdNi4MgDx_V10mm_HI,a4=3.0,N18"
   7444.   7639.   7731.   7762.   7479.   7818.   7720.   7861.   7945.   8090.
   7844.   7970.   7788.   7885.   7675.   7892.   7565.   7770.   7515.   7767.
   7436.   7750.   7305.   7442.   7348.   7437.   7084.   7084.   6966.   7173.
   7152.   7317.   7123.   7048.   7013.   7225.   7024.   7118.   7050.   7137.
   6891.   7109.   6805.   7005.   6894.   6960.   6714.   6901.   6686.   6936.
   6574.   6843.   6922.   7041.   6732.   6746.   6554.   6710.   6630.   6662.
   6539.   6667.   6581.   6779.   6596.   6776.   6475.   6568.   6442.   6749.
   6472.   6715.   6517.   6534.   6384.   6573.   6413.   6559.   6412.   6433.
   6373.   6493.   6243.   6274.   6322.   6421.   6418.   6509.   6273.   6508.
   6517.   6533.   6607.   6583.   6293.   6565.   6500.   6579.   6728.   6658.
"""
# xylib samples/D1A5.dat: ILL's D1A5 layout, the wavelength first in the title, a line of
# point count and monitor, then start, step, stop (from -10°: the bank reaches below the beam)
# and 1680 counts, then their esds. Its five header lines and first 160 counts, the stop angle
# (157.9) set to the 160th step.
ILL_D1A5 = """\
D1A5 Title: 1.9114 A  LaNi2Mn3Dx 13.9.01
     Ident:           14113 to  14122
1.9114 A  LaNi2Mn3Dx 13.9.01                                            2theta
  1680     -1.000   100.018    1  100000.0       0.0
  -10.0000    0.1000    5.9000
     0.8     0.3     0.3     0.7     0.3     0.7     0.6     1.0     0.9     0.7
     1.0     1.5     1.7     0.6     0.1     1.0     0.4     0.4     0.6     1.1
     0.4     0.3     0.9     0.7     0.9     0.6     0.5     0.0     0.6     0.5
     0.7     0.1     2.3     1.5     1.8     0.4     0.3     0.0     0.8     0.7
     1.7     1.4     0.7     0.3     1.5     0.9     1.2     1.5     0.7     1.4
     1.7     1.1     0.7     0.7     0.5     0.4     1.0     1.0     0.9     0.5
     1.8     0.8     0.5     1.2     0.7     0.8     1.0     1.1     1.3     0.7
     0.5     0.6     1.2     0.8     1.4     2.2     1.9     1.7     1.3     0.5
     0.8     1.1     0.9     0.6     2.1     1.7     0.3     0.6     1.2     0.4
     1.8     1.5     0.7     0.7     0.1     1.6     1.2     0.8     1.1     1.4
     2.4     1.3     1.9     1.0     1.7     1.1     1.2     1.2     0.8     1.6
     0.9     1.4     1.9     2.3     0.8     1.4     0.7     0.9     1.5     1.2
     1.5     1.8     4.9     6.3     9.2    11.0    14.2    14.8    19.2    19.8
    23.9    25.1    27.1    23.8    21.8    26.2    28.9    27.8    34.7    34.8
    34.6    37.3    37.7    37.5    37.2    41.3    49.6    51.9    56.4    65.7
    74.4    88.9    93.8   104.1   115.0   128.1   132.5   144.6   150.4   156.0
"""


def _counts_after(header: str, lines: int = 8) -> str:
    """A column file's rows (2θ, counts) after `header`, a peak every 2°."""
    return header + "".join(
        f"{10 + 0.05 * k:.2f} {200 + (k % 40 == 0) * 5000}\n" for k in range(lines * 75)
    )


def test_psi_s_layout_names_its_instrument_first_and_is_read_as_neutron(tmp_path):
    path = tmp_path / "hrpt.dat"
    path.write_text(PSI_HRPT)
    pattern = read_pattern(path)
    assert len(pattern.two_theta) == 100 and pattern.two_theta[0] == pytest.approx(2.948)
    assert pattern.wavelength == pytest.approx(1.494)
    assert any("neutron pattern (its title names 'HRPT')" in note for note in pattern.notes)
    # DMC writes the same layout; without its lambda line the wavelength must be asked for
    dmc = tmp_path / "dmc.dat"
    dmc.write_text("DMC" + PSI_HRPT[4:].replace(PSI_HRPT.splitlines()[1] + "\n", ""))
    with pytest.raises(InputError, match=r"neutron pattern \(its title names 'DMC'\)"):
        read_pattern(dmc)


@pytest.mark.parametrize(
    "header",
    [
        "# UiO-66 washed in DMC\n",  # dimethyl carbonate, a MOF solvent
        "# ZIF-8, DMC exchanged, Cu Ka\n",
        "sample D20 batch 3\n",
    ],
)
def test_a_solvent_or_sample_named_like_a_neutron_instrument_is_read_as_x_ray(tmp_path, header):
    """main took 'DMC' anywhere in a header for PSI's diffractometer and refused the X-ray
    pattern until given --wavelength."""
    path = tmp_path / "uio66.xy"
    path.write_text(_counts_after(header))
    pattern = read_pattern(path)
    assert pattern.wavelength_from.startswith("Cu Kα1, the default")
    assert not any("neutron" in note for note in pattern.notes)


def test_a_solvent_in_a_start_step_stop_title_is_read_as_x_ray(tmp_path):
    path = tmp_path / "mof.dat"
    body = PSI_HRPT.split("\n", 3)[3]
    path.write_text(f"   2.948   0.050   7.898  UiO-66 activated from DMC\n{body}")
    assert read_pattern(path).wavelength_from.startswith("Cu Kα1, the default")


def test_an_instrument_first_in_a_start_step_stop_title_still_marks_it_neutron(tmp_path):
    """FullProf titles begin with the instrument ('D1B  FeMn39 20K'); in its free format the
    title follows start, step, stop. s25pxrdreal4 (before review) read this at Cu Kα1."""
    path = tmp_path / "y2o3.dat"
    body = PSI_HRPT.split("\n", 3)[3]
    path.write_text(f"   2.948   0.050   7.898  D2B  Y2O3 4K\n{body}")
    with pytest.raises(InputError, match=r"neutron pattern \(its title names 'D2B'\)"):
        read_pattern(path)


@pytest.mark.parametrize(
    "header", ["# Instrument: D20\n", "# measured on D2B (ILL)\n", "# PSI-DMC, 4 K\n"]
)
def test_an_instrument_named_as_one_still_asks_for_the_wavelength(tmp_path, header):
    path = tmp_path / "neutron.xy"
    path.write_text(_counts_after(header))
    with pytest.raises(InputError, match=r"neutron pattern \(line 1 names"):
        read_pattern(path)


def test_ill_d1a5_is_read_at_its_title_s_wavelength_from_zero(tmp_path):
    """main read the header lines as columns and refused the file ('18 data points')."""
    path = tmp_path / "d1a5.dat"
    path.write_text(ILL_D1A5)
    pattern = read_pattern(path)
    assert pattern.wavelength == pytest.approx(1.9114)
    assert len(pattern.two_theta) == 59 and pattern.two_theta[0] == pytest.approx(0.1)
    assert pattern.intensity[-1] == pytest.approx(156.0)
    assert any("101 points at 2θ ≤ 0° (from -10°) left out" in note for note in pattern.notes)
    assert any("neutron pattern (its title names 'D1A5')" in note for note in pattern.notes)


def test_a_column_file_starting_below_zero_is_read_from_above_it(tmp_path):
    """Any layout, not only D1A5's: 11-BM's curved detector scans from -16° (rietx's
    11BM_NAC.fxye header). main refused the rows ('2θ = -10° is outside (0, 180)'). A scan from
    0 (a column of image numbers) and a lone negative row amid the scan are still refused."""
    path = tmp_path / "from_minus_10.xy"
    counts = [line.split()[1] for line in _counts_after("").splitlines()]
    path.write_text("".join(f"{-10 + 0.1 * k:.2f} {c}\n" for k, c in enumerate(counts)))
    pattern = read_pattern(path)
    assert pattern.two_theta[0] == pytest.approx(0.1) and len(pattern.two_theta) == 499
    assert "101 points at 2θ ≤ 0° (from -10°) left out" in pattern.notes
    rows = path.read_text().splitlines()
    path.write_text("\n".join(f"{float(r.split()[0]) + 10:.2f} {r.split()[1]}" for r in rows))
    with pytest.raises(InputError, match=r":1: 2θ = 0° is outside"):
        read_pattern(path)
    rows[300] = "-3.00 200"
    path.write_text("\n".join(rows[101:]))
    with pytest.raises(InputError, match=r"2θ = -3° is outside"):
        read_pattern(path)


# GSAS-II-tutorials (GSAS-II's licence, github.com/AdvancedPhotonSource/GSAS-II-tutorials)
# Magnetic-II/data/Cr2WO6_T4K_dat.prm, verbatim: the instrument parameter file of a neutron
# pattern at 4 K (HTYPE PNCR: powder, neutron, constant wavelength; ICONS λ 2.4067 Å)
CR2WO6_PRM = """\
            123456789012345678901234567890123456789012345678901234567890
INS   BANK      1
INS   HTYPE   PNCR
INS  1 ICONS 2.4067000 0.0000000    0.0000               0.990    0     0.500
INS  1 IRAD     0
INS  1I HEAD
INS  1I ITYP    0    0.0000  180.0000         1
INS  1DETAZM     0.000
INS  1PRCF1     3    8   0.00100
INS  1PRCF11   7.013626e+02  -1.157202e+03   5.587603e+02   0.000000e+00
INS  1PRCF12   0.000000e+00   0.000000e+00   1.000000e-03   1.000000e-03
"""
# its pattern, Magnetic-II/data/Cr2WO6_T4K.dat (2θ, counts, esd): the first 60 rows, written as
# GSAS-II's FXYE export writes them (G2export_pwdr.py: the title, 'Instrument parameter file:',
# the BANK line, 2θ in centidegrees)
CR2WO6_ROWS = """\
8.000     57.999    7.616
8.075     61.953    5.566
8.175     58.199    5.394
8.250     54.908    7.410
8.325     59.759    5.466
8.425     54.703    5.230
8.500     66.258    8.140
8.575     61.434    5.542
8.675     64.250    5.668
8.750     54.332    7.371
8.825     56.294    5.305
8.925     63.956    5.655
9.000     53.081    7.286
9.075     54.777    5.233
9.175     48.330    4.916
9.250     66.919    8.180
9.325     60.747    5.511
9.425     53.639    5.179
9.500     57.794    7.602
9.575     63.476    5.634
9.675     55.228    5.255
9.750     47.244    6.873
9.825     64.461    5.677
9.925     52.510    5.124
10.000    63.370    7.961
10.075    51.955    5.097
10.175    53.402    5.167
10.250    67.098    8.191
10.325    62.248    5.579
10.425    64.558    5.681
10.500    50.400    7.099
10.575    54.203    5.206
10.676    64.387    4.633
10.739    58.828    5.423
10.802    54.943    4.280
10.864    47.843    4.891
10.926    50.153    4.089
10.989    62.279    5.580
11.052    67.937    4.759
11.114    63.763    5.646
11.176    49.002    4.042
11.239    53.860    5.189
11.302    58.109    4.401
11.364    61.506    5.546
11.426    53.820    4.236
11.489    60.397    5.495
11.552    66.135    4.695
11.614    49.832    4.992
11.676    50.427    4.100
11.739    57.868    5.379
11.802    60.829    4.503
11.864    49.171    4.958
11.926    55.741    4.310
11.989    64.412    5.675
12.052    57.583    4.381
12.114    59.247    5.443
12.176    52.455    4.182
12.239    59.354    5.448
12.302    55.863    4.315
12.364    50.583    5.029
"""


def _cr2wo6_fxye(comment: str = "") -> str:
    rows = [line.split() for line in CR2WO6_ROWS.splitlines()]
    bank = f"BANK 1 {len(rows)} {len(rows)} CONS {float(rows[0][0]) * 100:.2f} 0 0 0 FXYE"
    records = [f"{float(x) * 100:15.6g}{float(y):15.6g}{float(e):15.6g}" for x, y, e in rows]
    head = ["Cr2WO6_T4K.dat", "Instrument parameter file:Cr2WO6_T4K_dat.prm", *comment.split("\n")]
    return "\n".join([*filter(None, head), bank, *records]) + "\n"


def test_a_gsas_prm_s_htype_pnc_marks_the_pattern_neutron(tmp_path):
    """main took ICONS' 2.4067 Å and read the pattern as X-ray, with no neutron note."""
    (tmp_path / "Cr2WO6_T4K_dat.prm").write_text(CR2WO6_PRM)
    path = tmp_path / "Cr2WO6_T4K.fxye"
    path.write_text(_cr2wo6_fxye())
    pattern = read_pattern(path)
    assert pattern.wavelength == pytest.approx(2.4067) and len(pattern.two_theta) == 60
    assert any("HTYPE PNC of Cr2WO6_T4K_dat.prm" in note for note in pattern.notes)
    # read even where the header states the wavelength itself
    path.write_text(_cr2wo6_fxye("# wavelength 2.4067 A"))
    assert any("HTYPE PNC" in note for note in read_pattern(path).notes)
    # an X-ray instrument (HTYPE PXCR) is no neutron one
    (tmp_path / "Cr2WO6_T4K_dat.prm").write_text(CR2WO6_PRM.replace("PNCR", "PXCR"))
    assert not any("neutron" in note for note in read_pattern(path).notes)


# xrdpattern 0.9.9 (PyPI sdist, LGPL), xrdpattern/parsing/examples/data.dat: an integrated image
# series as SSRL-style software writes it, a header naming ten columns (the image, 2θ at the
# beamline's wavelength, 2θ at Cu Kα, d, Q, intensity, frame, monitor, date, time). Its header
# and first 60 rows (image 0), verbatim.
SERIES_DAT = Path(__file__).parent / "data" / "xrdpattern_series_first60.dat"


def test_a_header_naming_its_columns_picks_d_and_intensity():
    """main read the first two columns (the image number as 2θ) and refused the file ('2θ =
    0°'); d needs no wavelength, and mapped onto Cu Kα it gives the file's own 2θ(Cu) column."""
    rows = [line.split() for line in SERIES_DAT.read_text().splitlines()[1:]]
    pattern = read_pattern(SERIES_DAT)
    assert len(pattern.two_theta) == 60
    assert np.allclose(pattern.two_theta, [float(r[2]) for r in rows], atol=2e-4)
    assert pattern.intensity.tolist() == [float(r[5]) for r in rows]
    assert "columns 'dspacing' and 'intensity' read" in pattern.notes


def test_a_ttx_whose_scan_number_stands_past_a_line_end_gives_one_line(tmp_path):
    """Fuzzing the pxrd target (benchmarks/fuzz_readers.py, seeds the real Ce_short.TTX) found
    a .TTX taken for one by a search across a lone CR whose scans read_ttx then could not find:
    IndexError. The input as the fuzzer left it, bytes that decode as nothing here dropped."""
    path = tmp_path / "mangled.TTX"
    path.write_bytes(
        b"FIl      Temper    Date      Time\r********\r\n"
        b"Scan Number :  Time\r\n********************************\r\n"
        b"Scan Number :  \r   \n1   -0.000    4.000   0    0.000    0.000   pC 2\n"
        b"     179 147     165     172     150     165     150     158     134     146\n"
    )
    with pytest.raises(InputError) as refused:
        read_pattern(path)
    assert "\n" not in refused.value.one_line()


def test_a_stoe_raw_is_named_with_stoe_s_export_not_bruker_s(tmp_path):
    """xrdpattern 0.9.9 (LGPL) xrdpattern/parsing/examples/stoe.raw: STOE WinXPOW's binary
    .raw, its first 64 bytes verbatim ('RAW_1.06Powdat', date, title) and zeros after. main
    refused it as 'binary data' and sent the user to DIFFRAC.EVA, Bruker's program."""
    path = tmp_path / "stoe.raw"
    head = b"RAW_1.06Powdat\0\x0022-Sep-20 17:18\0This file has no Title"
    path.write_bytes(head.ljust(64, b"\0") + bytes(192))
    with pytest.raises(InputError, match=r"a STOE \.raw file .*WinXPOW's export") as refused:
        read_pattern(path)
    assert "DIFFRAC" not in refused.value.message
