"""Powder patterns in the files instruments and Rietveld programs write: each format is read by
content and gives the model what the .xy of the same pattern gives; the wavelength comes from
the file unless --wavelength is given; fine scans are binned, not sampled; bad files name their
line.

Every fixture is a pattern simulated from a real structure (FC_sucrose, ../shared/data) written
in the layout of a real file, cited where it is written."""

import json
import re
import zipfile

import numpy as np
import pytest

from crystalx_core import cli
from crystalx_core.errors import InputError
from crystalx_core.io.cif import read_cif
from crystalx_core.pxrd.formats import stated_wavelength
from crystalx_core.pxrd.patterns import (
    binned,
    cu_two_theta,
    on_model_grid,
    read_pattern,
    xy_text,
)
from crystalx_core.pxrd.simulate import GRID, bragg_sticks, profile, simulate

from .conftest import BENCHMARK, CORPUS

STEP = 0.02
SCHEMA = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
TWO_THETA = np.round(np.arange(4.0, 80.0 + STEP / 2, STEP), 4)


@pytest.fixture(scope="module")
def counts(shared_data):
    """FC_sucrose's pattern as a lab scan would count it: 4–80° 2θ every 0.02°, Cu Kα1."""
    structure = read_cif(BENCHMARK / "FC_sucrose" / "model.cif").structure
    shape = profile(bragg_sticks(structure, two_theta_max=81), TWO_THETA, fwhm=0.08)
    return np.round(40 + 20000 * shape)


def _top5(grid):
    from crystalx_core.pxrd.predict import MODEL_PATH, top_space_groups

    if not MODEL_PATH.is_file():
        pytest.skip("no space-group model shipped")
    return [g.number for g in top_space_groups(grid, 5)]


# --- writers, each after a real file ---------------------------------------------------------


def xrdml(x, y, intended="K-Alpha 1", listed=False, cut=None, counts="intensities"):
    """PANalytical XRDML 1.5 as an Empyrean writes it (xylib samples/empyrean.xrdml:
    usedWavelength with kAlpha1/kAlpha2/ratio, positions axis="2Theta" start/end, a
    commonCountingTime, intensities in counts; schema 2.x names them <counts>)."""
    positions = (
        f"<listPositions>{' '.join(f'{v:.4f}' for v in x)}</listPositions>"
        if listed
        else f"<startPosition>{x[0]:.4f}</startPosition>\n\t\t\t\t\t<endPosition>{x[-1]:.4f}"
        "</endPosition>"
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5" {SCHEMA} status="Completed">
\t<sample type="To be analyzed">
\t\t<id>sucrose</id>
\t</sample>
\t<xrdMeasurement measurementType="Scan" status="Completed" sampleMode="Reflection">
\t\t<usedWavelength intended="{intended}">
\t\t\t<kAlpha1 unit="Angstrom">1.5405980</kAlpha1>
\t\t\t<kAlpha2 unit="Angstrom">1.5444260</kAlpha2>
\t\t\t<kBeta unit="Angstrom">1.3922500</kBeta>
\t\t\t<ratioKAlpha2KAlpha1>0.5000</ratioKAlpha2KAlpha1>
\t\t</usedWavelength>
\t\t<scan appendNumber="0" mode="Continuous" scanAxis="Gonio" status="Completed">
\t\t\t<dataPoints>
\t\t\t\t<positions axis="2Theta" unit="deg">
\t\t\t\t\t{positions}
\t\t\t\t</positions>
\t\t\t\t<positions axis="Omega" unit="deg">
\t\t\t\t\t<commonPosition>2.0000</commonPosition>
\t\t\t\t</positions>
\t\t\t\t<commonCountingTime unit="seconds">0.440</commonCountingTime>
\t\t\t\t<{counts} unit="counts">{" ".join(f"{v:.0f}" for v in y)}</{counts}>
\t\t\t</dataPoints>
\t\t</scan>
\t</xrdMeasurement>
</xrdMeasurements>
"""
    return text if cut is None else text[:cut]


def ras(x, y, wavelength=1.540593, data=True, extra="", factors=None, axis="TwoThetaTheta"):
    """Rigaku SmartLab RAS: *RAS_DATA_START, a '*KEY "value"' header with
    *HW_XG_WAVE_LENGTH_ALPHA1, then 2θ, counts and the attenuator factor, CRLF lines (the
    header fields of GSAS-II's G2pwd_rigaku.py and reductus' rigaku.py)."""
    header = (
        "*RAS_DATA_START\r\n*RAS_HEADER_START\r\n*FILE_SAMPLE \"sucrose\"\r\n"
        "*HW_XG_TARGET_NAME \"Cu\"\r\n"
        f'*HW_XG_WAVE_LENGTH_ALPHA1 "{wavelength}"\r\n*HW_XG_WAVE_LENGTH_ALPHA2 "1.544414"\r\n'
        f'*MEAS_SCAN_AXIS_X "{axis}"\r\n*MEAS_SCAN_MODE "CONTINUOUS"\r\n'
        f'*MEAS_SCAN_START "{x[0]:.4f}"\r\n*MEAS_SCAN_STEP "{STEP:.4f}"\r\n'
        f'*MEAS_SCAN_STOP "{x[-1]:.4f}"\r\n*MEAS_SCAN_UNIT_X "deg"\r\n{extra}*RAS_HEADER_END\r\n'
    )
    factors = np.ones(len(x)) if factors is None else factors
    rows = "".join(f"{a:.4f} {b / f:.4f} {f:.4f}\r\n" for a, b, f in zip(x, y, factors))
    body = f"*RAS_INT_START\r\n{rows}*RAS_INT_END\r\n" if data else rows
    return header + body + "*RAS_DATA_END\r\n"


def gsas(x, y, kind="STD", short=0):
    """GSAS raw data as GSAS-II reads (G2pwd_fxye.py) and writes it (G2export_pwdr.py): a
    title line, 'BANK 1 NCHAN NREC CONST start step 0 0 TYPE' in centidegrees, 80-column
    records: STD 10 × (I2 counters, F6), ESD 5 × (F8, F8), ALT 4 × (F8 position ×3200, F7, F5),
    FXYE columns in centidegrees."""
    n = len(x)
    if kind == "STD":
        cells = [f"{1:2d}{v:6.0f}" for v in y]
        per = 10
    elif kind == "ESD":
        cells = [f"{v:8.1f}{np.sqrt(v):8.2f}" for v in y]
        per = 5
    elif kind == "ALT":
        cells = [f"{a * 3200:8.0f}{b / 4:7.1f}{np.sqrt(b / 4):5.1f}" for a, b in zip(x, y)]
        per = 4
    else:
        cells = [f"{a * 100:15.6g}{b:15.6g}{np.sqrt(b):15.6g}" for a, b in zip(x, y)]
        per = 1
    records = ["".join(cells[i : i + per]).ljust(80) for i in range(0, len(cells), per)]
    records = records[: len(records) - short]
    bank = f"BANK 1 {n} {len(records)} CONST {x[0] * 100:.2f} {STEP * 100:.2f} 0 0 {kind}"
    return "\n".join(["sucrose simulated, Cu Ka1".ljust(80), bank.ljust(80), *records]) + "\n"


def uxd(x, y, paired=False):
    """Siemens/Bruker UXD as DIFFRAC-AT's XCH writes it (xylib samples/BT86.UXD: ';' comments,
    _FILEVERSION, _WL1.., per range _DRIVE, _STEPTIME, _STEPSIZE, _START, then _2THETACOUNTS
    pairs or _COUNTS values, eight a line as in xylib's uxd.cpp example)."""
    header = (
        "; sucrose.raw(Diffrac Plus V1.01 file) converted by XCH V1.0\n_FILEVERSION=2\n"
        "_SAMPLE='sucrose'\n_WL_UNIT='A'\n_WL1=1.540600\n_WL2=1.544390\n_WLRATIO=0.500000\n"
        "_ANODE='Cu'\n; (Data for Range number 1)\n_DRIVE='COUPLED'\n_STEPTIME=0.500000\n"
        f"_STEPSIZE={STEP:.6f}\n_STEPMODE='C'\n_START={x[0]:.6f}\n_2THETA={x[0]:.6f}\n"
    )
    if paired:
        return header + "_2THETACOUNTS\n" + "".join(f"{a:.3f}\t{b:.0f}\n" for a, b in zip(x, y))
    values = [f"{v:9.0f}" for v in y]
    return (
        header
        + "_COUNTS\n"
        + "".join("".join(values[i : i + 8]) + "\n" for i in range(0, len(values), 8))
    )


def chi(x, y, q=False):
    """Fit2D .chi as GSAS-II's G2export_FIT2D.py writes it: title, x label ('2-Theta Angle
    (Degrees)', or 'Q' and the wavelength for .qchi), 'Intensity', the count, then pairs."""
    label = "2-Theta Angle (Degrees)" if not q else f"Q{1.5406:>20.6f}"
    xs = 4 * np.pi * np.sin(np.radians(x) / 2) / 1.5406 if q else x
    rows = "".join(f" {a:5.7e}   {b:5.7e}\n" for a, b in zip(xs, y))
    return f"sucrose\n{label}\nIntensity\n       {len(x)}\n{rows}"


def pyfai(x, y, unit="2th_deg"):
    """pyFAI's 1D ASCII output (pyFAI io/__init__.py and geometry make_headers): '# == pyFAI
    calibration ==', the wavelength in metres, then a column header naming the radial unit."""
    xs = x if unit == "2th_deg" else 40 * np.pi * np.sin(np.radians(x) / 2) / 1.5406
    rows = "".join(f"{a:14.6e}  {b:14.6e}\n" for a, b in zip(xs, y))
    return (
        "# == pyFAI calibration ==\n# Distance Sample to Detector: 0.2 m\n"
        "# PONI: 1.000e-01, 1.000e-01 m\n# Rotations: 0.000000 0.000000 0.000000 rad\n# \n"
        "# Wavelength: 1.54060000000e-10 m\n# \n"
        f"# --> sucrose.edf\n#{unit:>14} {'I ':>14}\n{rows}"
    )


def pdcif(x, y, blocks=1, intensities=True):
    """Powder CIF as GSAS2CIF writes it (COD 1517474, xylib samples/1517474.cif): the
    _pd_meas_2theta_range_min/max/inc triple and a loop of _pd_meas_intensity_total with su,
    _diffrn_radiation_wavelength; `blocks` 2 puts the pattern in the second block, after a
    publication block, as a multi-block deposit does."""
    publication = "data_sucrose_publ\n_publ_section_title 'sucrose'\n"
    loop = "loop_\n_pd_meas_intensity_total\n_pd_proc_ls_weight\n" + "".join(
        f"{v:.0f}({max(1, np.sqrt(v)):.0f}) 0.001\n" for v in y
    )
    pattern = (
        "data_sucrose_pwd\n_pd_block_id 2026-12-06|SUCROSE|simulated\n"
        "_diffrn_radiation_probe x-ray\n_diffrn_radiation_wavelength 1.5406\n"
        f"_pd_meas_2theta_range_min {x[0]:.4f}\n_pd_meas_2theta_range_max {x[-1]:.4f}\n"
        f"_pd_meas_2theta_range_inc {STEP:.4f}\n_pd_meas_number_of_points {len(x)}\n"
        + (loop if intensities else "")
    )
    return (publication if blocks == 2 else "") + pattern


def pdcif_columns(x, y, proc=False):
    """Powder CIF with 2θ listed per point, as GSAS-II's G2pwd_CIF.py reads them:
    _pd_meas_2theta_scan with _pd_meas_counts_total, or _pd_proc_2theta_corrected with
    _pd_proc_intensity_total; the wavelength in a loop with its weight, Kα1 and Kα2."""
    names = (
        ("_pd_proc_2theta_corrected", "_pd_proc_intensity_total")
        if proc
        else ("_pd_meas_2theta_scan", "_pd_meas_counts_total")
    )
    rows = "".join(f"{a:.4f} {b:.0f}\n" for a, b in zip(x, y))
    return (
        "data_sucrose_pwd\nloop_\n_diffrn_radiation_wavelength\n_diffrn_radiation_wavelength_wt\n"
        "1.5406 1.0\n1.5444 0.5\n"
        f"loop_\n{names[0]}\n{names[1]}\n{rows}"
    )


FORMATS = {
    "scan.xrdml": lambda x, y: xrdml(x, y),
    "doublet.xrdml": lambda x, y: xrdml(x, y, intended="K-Alpha"),
    "listed.xrdml": lambda x, y: xrdml(x, y, listed=True),
    "counts.xrdml": lambda x, y: xrdml(x, y, counts="counts"),
    "scan.ras": ras,
    "std.gsa": lambda x, y: gsas(x, y, "STD"),
    "esd.gss": lambda x, y: gsas(x, y, "ESD"),
    "alt.gsa": lambda x, y: gsas(x, y, "ALT"),
    "scan.fxye": lambda x, y: gsas(x, y, "FXYE"),
    "counts.uxd": uxd,
    "pairs.uxd": lambda x, y: uxd(x, y, paired=True),
    "scan.chi": chi,
    "q.chi": lambda x, y: chi(x, y, q=True),
    "pyfai.dat": pyfai,
    "pyfai_q.xy": lambda x, y: pyfai(x, y, "q_nm^-1"),
    "one.cif": pdcif,
    "two_blocks.cif": lambda x, y: pdcif(x, y, blocks=2),
    "scan.cif": pdcif_columns,
    "proc.cif": lambda x, y: pdcif_columns(x, y, proc=True),
}


@pytest.fixture(scope="module")
def written(counts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    (folder / "reference.xy").write_text(xy_text(TWO_THETA, counts))
    for name, write in FORMATS.items():
        (folder / name).write_text(write(TWO_THETA, counts))
    return folder


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_reads_as_the_xy_of_the_same_pattern(written, name):
    reference = on_model_grid(read_pattern(written / "reference.xy"))
    pattern = read_pattern(written / name)
    grid = on_model_grid(pattern)
    assert abs(pattern.wavelength - 1.5406) < 1e-3
    assert np.abs(grid - reference).max() < 0.01, np.abs(grid - reference).max()
    assert _top5(grid) == _top5(reference)


def test_formats_are_told_apart_by_content_not_suffix(written, tmp_path):
    """The same XRDML, RAS and pdCIF saved as .txt read as themselves."""
    for name, expected in (
        ("scan.xrdml", "XRDML"),
        ("scan.ras", "Rigaku RAS"),
        ("one.cif", "powder CIF"),
        ("std.gsa", "GSAS STD"),
    ):
        renamed = tmp_path / (name.replace(".", "_") + ".txt")
        renamed.write_bytes((written / name).read_bytes())
        assert read_pattern(renamed).format == expected


def test_a_header_in_utf8_keeps_its_line_numbers(tmp_path):
    """'Å' in UTF-8, read byte by byte, holds \\x85, which str.splitlines takes for a line end."""
    rows = "".join(f"{5 + 0.1 * k:.2f} {10 + k % 7}\n" for k in range(100))
    path = tmp_path / "a.xy"
    path.write_bytes(("# Wavelength: 0.7093 Å\n# Mo Kα1, 2θ in °\n" + rows).encode("utf-8"))
    assert read_pattern(path).wavelength == 0.7093
    path.write_bytes(path.read_bytes().replace(b"7.00 ", b"7.00 x", 1))
    _refused(path, "not numbers", line=23)


@pytest.mark.parametrize(
    "header, wavelength",
    [
        ("# Wavelength: 1.0332e-10", 1.0332),  # pyFAI: metres, no unit (its make_headers)
        ("# Wavelength (nm): 0.15406", 1.5406),  # the unit in brackets: not 0.154 Å
        ("# wavelength [m] = 7.0932e-11", 0.70932),
        ("# Wavelength Mo Ka1: 0.70932 A", 0.70932),
        ("# Wavelength unknown; 2theta range: 5-90", None),  # no number of its own: Cu
    ],
)
def test_a_columns_header_states_the_wavelength_in_its_unit(tmp_path, header, wavelength):
    rows = "".join(f"{5 + 0.1 * k:.2f} {10 + k % 7}\n" for k in range(100))
    (tmp_path / "a.xy").write_text(header + "\n" + rows)
    pattern = read_pattern(tmp_path / "a.xy")
    if wavelength is None:
        assert pattern.wavelength == 1.5406 and "names no wavelength" in pattern.wavelength_from
    else:
        assert pattern.wavelength == pytest.approx(wavelength)


def test_a_pdcif_wavelength_in_another_block_is_used_and_named(counts, tmp_path):
    text = pdcif(TWO_THETA, counts, blocks=2).replace("_diffrn_radiation_wavelength 1.5406\n", "")
    text = text.replace(
        "data_sucrose_publ\n", "data_sucrose_publ\n_diffrn_radiation_wavelength 0.7093\n"
    )
    (tmp_path / "split.cif").write_text(text)
    pattern = read_pattern(tmp_path / "split.cif")
    assert pattern.wavelength == 0.7093 and "block data_sucrose_publ" in pattern.wavelength_from


def test_the_file_says_which_radiation(written, counts, tmp_path):
    assert "Kα1 only" in " ".join(read_pattern(written / "scan.xrdml").notes)
    assert "Kα2 left in" in " ".join(read_pattern(written / "doublet.xrdml").notes)
    (tmp_path / "beta.xrdml").write_text(xrdml(TWO_THETA, counts, intended="K-Beta"))
    beta = read_pattern(tmp_path / "beta.xrdml")
    assert beta.wavelength == 1.39225 and beta.wavelength_from.endswith("usedWavelength/kBeta)")


def test_a_ras_scan_is_read_at_its_wave_type_with_its_attenuator(written, counts, tmp_path):
    """RAS rows hold counts and the attenuator factor that multiplies them (reductus
    rigaku.py: y = I × scale): the strong peaks counted through a ×10 attenuator read as the
    plain scan. MEAS_COND_XG_WAVE_TYPE "Kb" (reductus: HW_XG_WAVE_LENGTH_BETA) is read at Kβ."""
    factors = np.where(counts > 5000, 10.0, 1.0)
    (tmp_path / "att.ras").write_text(ras(TWO_THETA, counts, factors=factors))
    plain = on_model_grid(read_pattern(written / "scan.ras"))
    assert np.abs(on_model_grid(read_pattern(tmp_path / "att.ras")) - plain).max() < 1e-3
    beta = '*HW_XG_WAVE_LENGTH_BETA "1.392250"\r\n*MEAS_COND_XG_WAVE_TYPE "Kb"\r\n'
    (tmp_path / "beta.ras").write_text(ras(TWO_THETA, counts, extra=beta))
    pattern = read_pattern(tmp_path / "beta.ras")
    assert pattern.wavelength == 1.39225 and "HW_XG_WAVE_LENGTH_BETA" in pattern.wavelength_from


@pytest.mark.parametrize("series", [True, False])
def test_an_xrdml_temperature_series_is_read_at_its_first_scan(written, counts, tmp_path, series):
    """Two scans of the same range: repeats are merged (their mean), but a non-ambient series
    (each scan with nonAmbientPoints type="Temperature", as GSAS-II's G2pwd_Panalytical.py
    reads it) holds different states, of which the first is read, not their mean."""
    hot = np.round(40 + 20000 * np.roll(counts - 40, 400) / 20000)  # another phase's pattern
    one, two = (xrdml(TWO_THETA, c) for c in (counts, hot))

    def scan_of(text):
        return text[text.index("\t\t<scan ") : text.index("\t</xrdMeasurement>")]

    ambient = (
        '\t\t\t<nonAmbientPoints type="Temperature" unit="Kelvin">\n\t\t\t\t<nonAmbientValues>'
        "{} {}</nonAmbientValues>\n\t\t\t</nonAmbientPoints>\n\t\t</scan>"
    )
    first, second = scan_of(one), scan_of(two)
    if series:
        first = first.replace("\t\t</scan>", ambient.format(298, 298))
        second = second.replace("\t\t</scan>", ambient.format(500, 500))
    (tmp_path / "two.xrdml").write_text(one.replace(scan_of(one), first + second))
    pattern = read_pattern(tmp_path / "two.xrdml")
    alone = on_model_grid(read_pattern(written / "scan.xrdml"))
    if series:
        assert np.array_equal(on_model_grid(pattern), alone)
        assert "scan 1 of 2 read" in " ".join(pattern.notes)
    else:
        assert np.abs(on_model_grid(pattern) - alone).max() > 0.1
        assert "2 scans merged" in " ".join(pattern.notes)


# --- the wavelength --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def molybdenum(shared_data, tmp_path_factory):
    """Sucrose measured with Mo Kα1 (0.70932 Å) on a Rigaku: the RAS header says so."""
    structure = read_cif(BENCHMARK / "FC_sucrose" / "model.cif").structure
    x = np.round(np.arange(2.0, 40.0, STEP), 4)
    y = np.round(40 + 20000 * profile(bragg_sticks(structure, 0.70932, 41), x, fwhm=0.05))
    folder = tmp_path_factory.mktemp("mo")
    (folder / "mo.ras").write_text(ras(x, y, wavelength=0.70932))
    (folder / "mo.xy").write_text(xy_text(x, y))
    return folder, structure


def test_the_files_wavelength_is_used_and_named(molybdenum):
    folder, structure = molybdenum
    pattern = read_pattern(folder / "mo.ras")
    assert pattern.wavelength == 0.70932 and "HW_XG_WAVE_LENGTH_ALPHA1" in pattern.wavelength_from
    grid = on_model_grid(pattern)
    assert np.corrcoef(grid, simulate(structure))[0, 1] > 0.9
    plain = read_pattern(folder / "mo.xy")  # names none: Cu, as before, and says so
    assert plain.wavelength == 1.5406 and "names no wavelength" in plain.wavelength_from


def _gsas_ii_fxye(x, y, prm: str | None) -> str:
    """An FXYE file as GSAS-II's ExportPowderFXYE writes it (GSAS-II
    GSASII/exports/G2export_pwdr.py, Writer): the histogram's name, 'Instrument parameter
    file:' and the .prm's name (written beside it by WriteInstFile), then the BANK line."""
    lines = gsas(x, y, "FXYE").splitlines()
    named = [f"Instrument parameter file:{prm}"] if prm else []
    return "\n".join([lines[0], *named, *lines[1:]]) + "\n"


def _gsas_ii_prm(wavelength: float) -> str:
    """The .prm beside it as WriteInstFile writes it: 'INS  1 ICONS' with λ1 and λ2 (0 for a
    single wavelength) in F10.7, among the other INS records."""
    return (
        "            123456789012345678901234567890123456789012345678901234567890        \n"
        "INS   BANK      1                                                               \n"
        "INS   HTYPE   PXCR                                                              \n"
        f"INS  1 ICONS{wavelength:10.7f}{0.0:10.7f}    0.0000"
        "               0.990    0     0.500   \n"
        "INS  1 IRAD     0                                                               \n"
    )


def test_a_gsas_ii_fxye_takes_the_wavelength_of_the_prm_it_names(molybdenum, tmp_path):
    """GSAS-II's FXYE export names the instrument parameter file it writes beside it, and
    only that file holds the wavelength (ICONS λ1): main read such Mo data as Cu Kα1."""
    folder, structure = molybdenum
    scan = read_pattern(folder / "mo.xy")
    (tmp_path / "mo.fxye").write_text(_gsas_ii_fxye(scan.two_theta, scan.intensity, "mo.prm"))
    (tmp_path / "mo.prm").write_text(_gsas_ii_prm(0.70932))
    pattern = read_pattern(tmp_path / "mo.fxye")
    assert pattern.wavelength == pytest.approx(0.70932)
    assert pattern.wavelength_from.startswith("the file (ICONS of mo.prm")
    (tmp_path / "mo.prm").unlink()  # named but not beside it: Cu, saying which file is missing
    alone = read_pattern(tmp_path / "mo.fxye")
    assert alone.wavelength == 1.5406 and "names no wavelength" in alone.wavelength_from
    assert any("mo.prm" in note and "not found" in note for note in alone.notes)
    # a time-of-flight bank's ICONS holds DIFC, DIFA, ZERO (GSAS manual, INS ICONS): no λ
    (tmp_path / "mo.prm").write_text(_gsas_ii_prm(0.0).replace(f"{0.0:10.7f}", "  746.960", 1))
    tof = read_pattern(tmp_path / "mo.fxye")
    assert tof.wavelength == 1.5406 and any("746.96" in note for note in tof.notes)


def test_the_option_wins_over_the_file_with_a_note(molybdenum):
    folder, _ = molybdenum
    pattern = read_pattern(folder / "mo.ras", wavelength=0.71073)
    assert pattern.wavelength == 0.71073 and pattern.wavelength_from == "--wavelength"
    assert any("0.70932" in n and "--wavelength 0.71073" in n for n in pattern.notes)
    assert not read_pattern(folder / "mo.ras", wavelength=0.70932).notes


def test_the_report_names_the_wavelength_and_its_source(molybdenum, capsys):
    from crystalx_core.pxrd.predict import MODEL_PATH

    if not MODEL_PATH.is_file():
        pytest.skip("no space-group model shipped")
    folder, _ = molybdenum
    assert cli.main(["pxrd", str(folder / "mo.ras"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pattern"]["format"] == "Rigaku RAS"
    assert report["pattern"]["wavelength"] == 0.70932
    assert "HW_XG_WAVE_LENGTH_ALPHA1" in report["pattern"]["wavelength_from"]
    assert cli.main(["pxrd", str(folder / "mo.ras"), "--wavelength", "0.71073"]) == 0
    out = capsys.readouterr().out
    assert "λ 0.71073 Å from --wavelength" in out and "the file gives 0.70932" in out


# --- a real powder CIF -----------------------------------------------------------------------


def test_a_real_gsas2cif_deposit_is_read_in_its_own_layout(shared_data, tmp_path):
    """cod-tools' vn2124sup1 (cesium dihydrogen citrate, a Bruker D2 Phaser pattern refined in
    GSAS, Acta E 73, 133) as deposited keeps one row of its 3217: refused with the count. Its
    own rows restored (its structure's pattern on its _pd_meas_2theta_range triple, in its
    _pd_meas_counts_total column) it reads, Cu by default (the file names no wavelength), and
    matches the structure's simulated pattern."""
    source = CORPUS / "codtools_vn2124sup1-trimmed.cif"
    text = source.read_text()
    with pytest.raises(InputError) as caught:
        read_pattern(source)
    message = caught.value.one_line()
    assert "says 3217 points, _pd_meas_counts_total has 1" in message and ":67:" in message
    structure = read_cif(source).structure
    x = 4.9978 + 0.02021 * np.arange(3217)
    y = 300 + 30000 * profile(bragg_sticks(structure, two_theta_max=71), x, fwhm=0.08)
    rows = "".join(f". . . {v:.1f}\n" for v in y)
    full = tmp_path / "vn2124sup1.cif"
    full.write_text(text.replace(". . . 8727.0\n# trimmed for brevity\n", rows, 1))
    pattern = read_pattern(full)
    assert pattern.format == "powder CIF" and len(pattern.two_theta) == 3217
    assert pattern.wavelength == 1.5406 and "names no wavelength" in pattern.wavelength_from
    assert np.corrcoef(on_model_grid(pattern), simulate(structure))[0, 1] > 0.95


def test_a_real_synchrotron_deposit_at_0_005_is_binned_at_its_wavelength(shared_data, tmp_path):
    """cod-tools' 1518798 (COD; a tetragonal structure refined from a synchrotron pattern):
    λ 0.69994 Å, 2-42° 2θ every 0.005° (8001 points), deposited without its points, so refused
    naming its range. Its own structure's sharp-peaked pattern (FWHM 0.012°) put back in its
    block as _pd_meas_intensity_total reads at the file's wavelength, and binned onto the grid
    it matches the structure's Cu pattern far better than sampled at the grid points."""
    source = CORPUS / "codtools_1518798.cif"
    with pytest.raises(InputError) as caught:
        read_pattern(source)
    assert ":74:" in caught.value.one_line() and "without a powder pattern" in str(caught.value)
    structure = read_cif(source).structure
    x = 2 + 0.005 * np.arange(8001)
    y = 100 + 30000 * profile(bragg_sticks(structure, 0.69994, 43), x, fwhm=0.012)
    lines = source.read_text().splitlines(True)
    at = next(k for k, line in enumerate(lines) if line.startswith("_pd_meas_number_of_points"))
    rows = "loop_\n_pd_meas_intensity_total\n" + "".join(f"{v:.1f}\n" for v in y)
    (tmp_path / "1518798.cif").write_text(
        "".join(lines[: at + 1]) + rows + "".join(lines[at + 1 :])
    )
    pattern = read_pattern(tmp_path / "1518798.cif")
    assert len(pattern.two_theta) == 8001 and pattern.wavelength == 0.69994
    assert pattern.wavelength_from == "the file (_diffrn_radiation_wavelength)"
    reference = simulate(structure)
    cu = cu_two_theta(pattern)
    sampled = np.interp(GRID, cu, pattern.intensity, left=0, right=0)
    binned_r = np.corrcoef(on_model_grid(pattern), reference)[0, 1]
    assert binned_r > 0.95 and binned_r > np.corrcoef(sampled, reference)[0, 1] + 0.05  # 0.98, 0.91


# --- real-pattern handling -------------------------------------------------------------------


def test_a_fine_scan_keeps_its_sharp_peaks():
    """Eight equal peaks 0.02° wide, measured every 0.005° at points between the grid's: each
    keeps its area on the 0.1° grid (linear interpolation at the grid points lost most)."""
    x = np.round(np.arange(5.0, 90.0, 0.005), 4)
    centres = [12.03, 18.47, 25.551, 31.08, 44.92, 52.35, 66.66, 78.04]
    y = 10 + sum(1000 * np.exp(-np.log(2) * ((x - c) / 0.01) ** 2) for c in centres)
    grid = binned(x, y)
    kept = [grid[np.abs(GRID - c) < 0.16].sum() - 30 for c in centres]
    assert max(kept) / min(kept) < 1.05
    area = 1000 * 0.02 * np.sqrt(np.pi / np.log(2)) / 2  # one peak's area
    assert kept == pytest.approx([area / 0.1] * len(centres), rel=0.05)
    sampled = np.interp(GRID, x, y)
    lost = [sampled[np.abs(GRID - c) < 0.16].sum() - 30 for c in centres]
    assert min(lost) < 0.2 * max(lost)


def test_a_pattern_on_the_grid_reads_as_before(shared_data):
    """One point per bin: the value at the point, as linear interpolation gave."""
    pattern = simulate(read_cif(BENCHMARK / "XH_urea" / "model.cif").structure)
    assert np.array_equal(binned(GRID, pattern), pattern)


@pytest.mark.parametrize("kind", ["molecular", "mof"])
def test_a_scan_at_0_01_gives_the_answer_of_one_at_0_1(shared_data, tmp_path, kind):
    from crystalx_core.pxrd import predict

    model = predict.model_path(kind)
    if not model.is_file():
        pytest.skip("no space-group model shipped")
    structure = read_cif(BENCHMARK / "FC_sucrose" / "model.cif").structure
    sticks = bragg_sticks(structure, two_theta_max=91)
    for step in (0.1, 0.01):
        x = np.round(np.arange(5.0, 90.0, step), 4)
        (tmp_path / f"{step}.xy").write_text(xy_text(x, profile(sticks, x, fwhm=0.06)))
    coarse, fine = (on_model_grid(read_pattern(tmp_path / f"{s}.xy")) for s in (0.1, 0.01))
    top = [[g.number for g in predict.top_space_groups(p, 5, model)] for p in (coarse, fine)]
    assert top[0][0] == top[1][0]
    assert np.corrcoef(coarse, fine)[0, 1] > 0.9  # 0.94: binning widens 0.06° peaks a little


def test_descending_and_merged_scans_read_as_one_ascending_pattern(tmp_path):
    x = np.round(np.arange(5.0, 60.0, 0.05), 4)
    y = 50 + 1000 * np.exp(-(((x - 30) / 0.1) ** 2))
    (tmp_path / "up.xy").write_text(xy_text(x, y))
    (tmp_path / "down.xy").write_text(xy_text(x[::-1], y[::-1]))
    half = len(x) // 2  # two scans overlapping by 20 points, the second counted 10 % higher
    merged = (
        np.concatenate([x[: half + 20], x[half:]]),
        np.concatenate([y[: half + 20], 1.1 * y[half:]]),
    )
    (tmp_path / "merged.xy").write_text(xy_text(*merged))
    up, down, both = (read_pattern(tmp_path / n) for n in ("up.xy", "down.xy", "merged.xy"))
    assert np.array_equal(up.two_theta, down.two_theta) and np.allclose(
        up.intensity, down.intensity
    )
    assert np.array_equal(both.two_theta, up.two_theta)
    overlap = slice(half, half + 20)
    assert np.allclose(both.intensity[overlap], 1.05 * y[overlap], rtol=1e-4)
    assert f"goes back at line {half + 21}: read as 2 scans merged" in " ".join(both.notes)
    assert not up.notes and not down.notes


@pytest.mark.parametrize("damage", ["shuffled rows", "columns swapped"])
def test_points_in_no_order_are_refused_not_sorted(tmp_path, damage):
    """Ascending, descending and a few merged scans are orders a file is written in; rows in no
    order are not: intensity (0-100) written before 2θ, or rows shuffled, would be sorted into
    a pattern that is not the one measured."""
    x = np.round(np.arange(5.0, 60.0, 0.05), 4)
    y = np.random.default_rng(3).poisson(50 + 1000 * np.exp(-(((x - 30) / 0.1) ** 2)))
    if damage == "shuffled rows":
        order = np.random.default_rng(3).permutation(len(x))
        text = xy_text(x[order], y[order])
    else:
        text = xy_text(np.round(100 * y / y.max(), 2), x)
    (tmp_path / "bad.xy").write_text(text)
    message = _refused(tmp_path / "bad.xy", "neither ascending nor descending")
    assert re.search(r":\d+: 2θ [\d.]+° after [\d.]+°", message), message


# --- bad files -------------------------------------------------------------------------------


def _refused(path, words, line=None):
    with pytest.raises(InputError) as caught:
        read_pattern(path)
    message = caught.value.one_line()
    assert str(path) in message and words in message and len(message.splitlines()) == 1
    if line:
        assert f":{line}:" in message, message
    return message


def test_bad_files_are_refused_naming_file_and_line(counts, tmp_path):
    cut = xrdml(TWO_THETA, counts)
    (tmp_path / "cut.xrdml").write_text(cut[: len(cut) // 2])
    _refused(tmp_path / "cut.xrdml", "cut short", line=cut[: len(cut) // 2].count("\n") + 1)
    (tmp_path / "nodata.ras").write_text(ras(TWO_THETA, counts, data=False))
    lines = ras(TWO_THETA, counts, data=False).count("\n")
    _refused(tmp_path / "nodata.ras", "without *RAS_INT_START", line=lines)
    (tmp_path / "short.gsa").write_text(gsas(TWO_THETA, counts, "STD", short=3))
    lines = gsas(TWO_THETA, counts, "STD", short=3).count("\n")
    _refused(tmp_path / "short.gsa", f"says {len(TWO_THETA)} points", line=lines)
    lines = ras(TWO_THETA, counts).replace("*RAS_INT_END\r\n*RAS_DATA_END\r\n", "")
    (tmp_path / "cut.ras").write_text(lines)
    _refused(tmp_path / "cut.ras", "without *RAS_INT_END", line=lines.count("\n"))
    (tmp_path / "empty.cif").write_text(pdcif(TWO_THETA, counts, intensities=False))
    _refused(tmp_path / "empty.cif", "without a powder pattern's intensities", line=5)
    lines = chi(TWO_THETA, counts).splitlines(True)[:-10]
    (tmp_path / "short.chi").write_text("".join(lines))
    _refused(tmp_path / "short.chi", f"the header says {len(TWO_THETA)} points", line=len(lines))


@pytest.mark.parametrize(
    "name, good, bad",
    [
        ("listed.xrdml", " 5.0200 ", " 5.02x0 "),  # a listPositions value
        ("scan.xrdml", ">0.440<", ">0.44s<"),  # commonCountingTime
        ("scan.cif", "\n5.0200 ", "\n5.02-0 "),  # a _pd_meas_2theta_scan value
        ("one.cif", "_pd_meas_2theta_range_inc 0.0200", "_pd_meas_2theta_range_inc 0"),
        ("counts.uxd", "_STEPTIME=0.500000", "_STEPTIME=0.5s"),
        # a value that also stands alone earlier (_diffrn_radiation_probe x-ray): its own line
        ("one.cif", "_pd_proc_ls_weight\n41(6)", "_pd_proc_ls_weight\nx-ray"),
    ],
)
def test_a_value_that_is_not_a_number_is_named_with_its_line(written, tmp_path, name, good, bad):
    """XRDML, pdCIF and UXD header numbers were converted unguarded: a damaged value gave a
    bare ValueError (ZeroDivisionError for a zero step) instead of the file and line. Found by
    mutating each fixture (cut, a line deleted or blanked, a character replaced or inserted)."""
    text = (written / name).read_text()
    assert good in text
    damaged = text.replace(good, bad, 1)
    (tmp_path / name).write_text(damaged)
    line = damaged[: damaged.index(bad) + len(bad)].count("\n") + 1  # the bad value's line
    _refused(tmp_path / name, "not a", line=line)


def test_a_line_of_separators_alone_is_header_text_or_named_never_a_traceback(tmp_path):
    """',' alone on a line splits into no field: main and the branch raised IndexError
    (found by fuzzing the columns reader, session 24 review)."""
    rows = [f"{10 + 0.1 * k:.2f} {100 + k}" for k in range(60)]
    before = tmp_path / "before.xy"
    before.write_text("\n".join([",", *rows]) + "\n")
    assert len(read_pattern(before).two_theta) == 60
    after = tmp_path / "after.xy"
    after.write_text("\n".join([*rows[:30], ",,", *rows[30:]]) + "\n")
    _refused(after, "expected 2θ and intensity, found ',,'", line=31)


@pytest.mark.parametrize(
    "name, head, words",
    [
        ("scan.raw", b"RAW1.01\x00\x00\x00\x01\x00", "Bruker RAW v3"),
        ("scan.brml", None, "Bruker .brml"),
        ("scan.dat", b"\x00\x01\x02binary", "binary data"),
    ],
)
def test_binary_instrument_files_are_named_with_the_export_to_use(tmp_path, name, head, words):
    """Bruker RAW v1–v3's layout (xylib bruker_raw.cpp, after DIFFRAC^plus XCH's manual) could
    not be checked against a real file here, so it is refused, as are .brml zips, with the way
    out (v4 is read: test_pxrd_real3.py)."""
    path = tmp_path / name
    if head is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("Experiment0/RawData0.xml", "<RawData/>")
    else:
        path.write_bytes(head + bytes(600))
    message = _refused(path, words)
    assert "export the pattern as .xy" in message and ".xrdml" in message


def test_a_zipped_text_pattern_is_still_told_to_be_unpacked(tmp_path):
    path = tmp_path / "pattern.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pattern.xy", "10 1\n")
    assert "unpack it first" in _refused(path, "zip archive")


# --- headers of real files from other labs ------------------------------------------------------

# nupxrd 0.3.1 (PyPI, MIT), notebooks/UiO_66.DAT: a Rigaku ATX-G's ASCII export of UiO-66 (J.B.
# Cohen X-ray Diffraction Facility, Northwestern): ';Key = value' header lines, CRLF, then 2θ and
# cps. Header verbatim (less trailing blanks); the first 60 of its 2801 points.
RIGAKU_DAT_HEADER = """\
;Bundle             = 1
;Partition          = 1
;Operator           = N.U. X-ray Dif. Fac
;Gonio              = ATX-G
;Memo               = J.B. Cohen X-ray Diffraction Facility
;IncidentMonochro   = Slit collimation
;CounterMonochro    = Receiving slit
;Attachment         = XY-STAGE
;Filter             =
;SlitName0          = XRR Compression
;SlitName1          = Reciprocal SM Slit Collimation
;Counter            = SC-70
;KAlpha1            = 1.54056
;KAlpha2            = 1.54439
;KBata              = 0
;Target             = Cu
;KV                 = 50
;mA                 = 240
;AxisName           = 2Theta
;MeasurementMethod = Continuation
;Start              = 2
;Finish             = 30
;Speed              = 10
;FixedTime          =
;Width              = 0.01
;FullScale         = 11800
;Comment            =
;SampleName         =
;Xunit              = deg.
;Yunit              = CPS
"""
RIGAKU_DAT_CPS = (
    "600.4 683.8 750.6 667.1 733.9 750.6 516.9 650.4 633.7 633.7 700.5 533.6 533.6 617.1 617.1 "
    "466.9 633.8 650.4 700.5 617.1 600.4 667.1 483.6 533.6 483.6 550.3 617.1 433.5 433.5 583.7 "
    "567.0 550.3 667.1 416.9 433.5 516.9 650.4 650.4 516.9 717.2 366.8 683.8 633.8 533.6 617.1 "
    "600.4 567.0 466.9 617.1 583.7 633.7 500.3 583.7 567.0 583.7 550.3 583.7 533.6 533.6 433.5"
).split()


def test_a_rigaku_dat_header_of_semicolon_lines_is_read_with_its_kalpha1(tmp_path):
    """main refused it at line 2 ('not numbers: ;Partition = 1') and knew no KAlpha1 key."""
    rows = "".join(f"{2 + 0.01 * k:.4f} {v}\r\n" for k, v in enumerate(RIGAKU_DAT_CPS))
    path = tmp_path / "UiO_66.DAT"
    path.write_bytes((RIGAKU_DAT_HEADER.replace("\n", "\r\n") + rows).encode())
    pattern = read_pattern(path)
    assert pattern.wavelength == 1.54056 and "KAlpha1" in pattern.wavelength_from
    assert len(pattern.two_theta) == 60 and pattern.two_theta[0] == 2.0
    assert pattern.intensity[:3].tolist() == [600.4, 683.8, 750.6]


@pytest.mark.parametrize(
    "header", ["# Kalpha1/Kalpha2 ratio = 0.5", "# KAlpha1 intensity: 100", "# Kalpha12 = 0.5"]
)
def test_a_kalpha1_key_followed_by_other_words_states_no_wavelength(header):
    """The branch read the Rigaku .DAT key 'KAlpha1' with words after it, as 'Wavelength':
    an intensity ratio gave 0.5 Å."""
    assert stated_wavelength(header) is None


# xrd-xy-parser 0.0.4 (PyPI, MIT), examples/example.xy: a temperature in angle brackets on the
# first line, 'Wavelength = ...' on the second, then tab-separated 2θ and counts (CRLF). Its
# first 60 points.
ANGLE_BRACKET_COUNTS = (
    "1 1 3 1 1 2 1 1 0 2 2 0 0 2 1 0 0 0 1 2 0 2 0 1 0 1 4 2 1 2 0 4 1 0 5 1 1 0 1 1 1 2 0 2 2 0 "
    "3 1 0 3 1 1 0 1 2 2 1 0 3 3"
).split()


def test_a_first_line_in_angle_brackets_is_a_header_not_xml(tmp_path):
    """main took the '<' for XML and refused the file as broken XML."""
    rows = "".join(
        f"{30 + 0.01 * k:.2f}\t{int(v):.2f}\r\n" for k, v in enumerate(ANGLE_BRACKET_COUNTS)
    )
    path = tmp_path / "example.xy"
    path.write_bytes(("<299.25K>\r\nWavelength = 1.54059\r\n" + rows).encode())
    pattern = read_pattern(path)
    assert pattern.format == "columns" and pattern.wavelength == 1.54059
    assert len(pattern.two_theta) == 60 and pattern.intensity[2] == 3


def test_after_the_data_begin_a_line_that_is_not_numbers_is_still_refused(tmp_path):
    rows = "".join(f"{2 + 0.01 * k:.4f} {v}\n" for k, v in enumerate(RIGAKU_DAT_CPS))
    path = tmp_path / "damaged.xy"
    path.write_text("<299.25K>\n" + rows[:200] + "2.1000 6o0.4\n" + rows[200:])
    with pytest.raises(InputError, match="not numbers") as raised:
        read_pattern(path)
    assert raised.value.line == 1 + rows[:200].count("\n") + 1


# fairmat-readers-xrd 0.0.10 (PyPI, Apache-2.0), tests/data/TwoTheta_scan_powder.rasx: a Rigaku
# SmartLab Studio II .rasx, a zip of root.xml, Data0/Profile0.txt (UTF-8 with a BOM: 2θ, counts,
# attenuator factor, tab-separated, CRLF) and Data0/MesurementConditions0.xml (sic). The first 12
# of its 2726 points (10–119° every 0.04°), rounded to 0.01, and, of its conditions, the X-ray
# generator's elements and the scan's axis, where they stand (HWConfigurations, ScanInformation).
RASX_COUNTS = [170.55, 170.54, 150.79, 155.60, 172.38, 164.50, 153.94, 172.27, 158.86, 161.29]
RASX_CONDITIONS = """\ufeff<?xml version="1.0" encoding="utf-8"?>
<MeasurementConditions xmlns:xsd="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <HWConfigurations>
    <XrayGenerator>
      <WaveType>{wave}</WaveType>
      <WavelengthKbeta>1.392246</WavelengthKbeta>
      <WavelengthKalpha1>1.540593</WavelengthKalpha1>
      <WavelengthKalpha2>1.544414</WavelengthKalpha2>
    </XrayGenerator>
  </HWConfigurations>
  <ScanInformation>
    <AxisName>{axis}</AxisName>
    <Mode>CONTINUOUS</Mode>
  </ScanInformation>{extra}
</MeasurementConditions>
"""
# fairmat-readers-xrd 0.0.10, tests/data/RSM_111_sdd=350.rasx: 401 profiles, 2θ scans each at
# another Omega; its conditions add this element (the first of its 14 children).
RASX_RSM = """
  <RSMInformation>
    <ScanIsRelative>true</ScanIsRelative>
    <StepAxisName>Omega</StepAxisName>
  </RSMInformation>"""


def _rasx(path, profiles, wave="Ka1", axis="TwoTheta", extra=""):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:  # packed, as Rigaku packs
        archive.writestr("root.xml", '<?xml version="1.0" encoding="utf-8"?><RootFile/>')
        for n, rows in enumerate(profiles):
            text = "".join(f"{x:.4f}\t{y}\t{factor}\r\n" for x, y, factor in rows)
            archive.writestr(f"Data{n}/Profile{n}.txt", "\ufeff" + text)
            archive.writestr(
                f"Data{n}/MesurementConditions{n}.xml",
                RASX_CONDITIONS.format(wave=wave, axis=axis, extra=extra),
            )
    return path


def test_a_rigaku_rasx_is_read_with_its_attenuator_and_wavelength(tmp_path):
    """main refused every .rasx ('a Rigaku .rasx file (zipped): CrystalX does not read it')."""
    counts = RASX_COUNTS * 6
    rows = [(10 + 0.04 * k, v, 10 if k == 5 else 1) for k, v in enumerate(counts)]
    pattern = read_pattern(_rasx(tmp_path / "scan.rasx", [rows]))
    assert pattern.format == "Rigaku .rasx" and pattern.wavelength == 1.540593
    assert "WavelengthKalpha1" in pattern.wavelength_from
    assert len(pattern.two_theta) == 60 and pattern.two_theta[0] == 10
    assert pattern.intensity[5] == pytest.approx(1645.0)  # 164.50 × its attenuator factor 10
    beta = read_pattern(_rasx(tmp_path / "kb.rasx", [rows], wave="Kb"))
    assert beta.wavelength == 1.392246


def test_a_rasx_with_two_profiles_reads_both_and_a_damaged_row_names_its_member(tmp_path):
    first = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    second = [(12.4 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    pattern = read_pattern(_rasx(tmp_path / "two.rasx", [first, second]))
    assert pattern.two_theta[0] == 10 and pattern.two_theta[-1] == pytest.approx(12.4 + 0.04 * 59)
    damaged = tmp_path / "damaged.rasx"
    _rasx(damaged, [first[:7] + [(10.28, "1x7", 1)] + first[8:]])
    message = _refused(damaged, "not numbers")
    assert "Data0/Profile0.txt line 8" in message


def test_a_zip_without_rasx_profiles_is_still_told_to_be_exported(tmp_path):
    path = tmp_path / "other.rasx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("root.xml", "<RootFile/>")
    assert "export the pattern" in _refused(path, "rasx")


def test_a_damaged_rasx_member_is_named_not_a_traceback(tmp_path):
    rows = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    data = bytearray(_rasx(tmp_path / "good.rasx", [rows]).read_bytes())
    at = data.index(b"Data0/Profile0.txt") + len("Data0/Profile0.txt") + 40
    data[at : at + 8] = b"\xff" * 8  # inside the member's packed bytes: its CRC no longer holds
    path = tmp_path / "damaged.rasx"
    path.write_bytes(bytes(data))
    assert "a damaged .rasx" in _refused(path, "Data0/Profile0.txt does not unpack")


def test_an_encrypted_rasx_member_is_one_line_not_a_traceback(tmp_path):
    """zipfile raises RuntimeError ('password required') for a member flagged encrypted."""
    rows = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    data = bytearray(_rasx(tmp_path / "good.rasx", [rows]).read_bytes())
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local, central headers
        at = data.find(signature)
        while at >= 0:
            data[at + flags] |= 1  # general purpose bit 0: encrypted
            at = data.find(signature, at + 4)
    path = tmp_path / "encrypted.rasx"
    path.write_bytes(bytes(data))
    assert "password required" in _refused(path, "does not unpack")


def test_a_mangled_rasx_gives_one_line_never_a_traceback(tmp_path):
    """Bytes overwritten or cut off. A guard: the two zipfile errors that escaped (ValueError
    'negative seek value', NotImplementedError 'zip file version') came from mangling the real
    TwoTheta_scan_powder.rasx (1000 tries); on this excerpt they do not recur."""
    rows = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    good = _rasx(tmp_path / "good.rasx", [rows]).read_bytes()
    rng = np.random.default_rng(7)
    path = tmp_path / "mangled.rasx"
    for _ in range(300):
        data = bytearray(good)
        for at in rng.integers(0, len(data), rng.integers(1, 20)):
            data[at] = rng.integers(0, 256)
        path.write_bytes(bytes(data[: rng.integers(1, len(data) + 1)]))
        try:
            read_pattern(path)
        except InputError:
            pass


def test_a_rasx_that_is_not_a_2theta_scan_is_refused_not_merged(tmp_path):
    """The branch merged the 401 profiles of a reciprocal-space map (fairmat-readers-xrd's
    RSM_111_sdd=350.rasx) into one pattern; it and main read an Omega scan's angles as 2θ."""
    rows = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    rsm = _rasx(tmp_path / "rsm.rasx", [rows, rows], extra=RASX_RSM)
    assert "stepped in Omega" in _refused(rsm, "a reciprocal-space map")
    rocking = _rasx(tmp_path / "omega.rasx", [rows], axis="Omega")
    _refused(rocking, "a scan of Omega, not 2θ")
    (tmp_path / "omega.ras").write_text(ras(TWO_THETA, 100 + TWO_THETA, axis="Omega"))
    _refused(tmp_path / "omega.ras", "*MEAS_SCAN_AXIS_X: a scan of Omega, not 2θ")
    coupled = read_pattern(_rasx(tmp_path / "coupled.rasx", [rows], axis="TwoThetaOmega"))
    assert len(coupled.two_theta) == 60


def test_a_rasx_unpacking_past_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    """A zip bomb: the members' stated sizes are summed before any is read (each member
    under the limit, as the branch checked, is not enough)."""
    monkeypatch.setattr("crystalx_core.io.files.MAX_INPUT_BYTES", 2**20)
    row = "10.0000\t170.55\t1\r\n"
    rows = [(10 + 0.04 * k, v, 1) for k, v in enumerate(RASX_COUNTS * 6)]
    path = _rasx(tmp_path / "bomb.rasx", [rows])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        for n in (1, 2):  # 0.75 MB each, a few kB packed
            archive.writestr(f"Data{n}/Profile{n}.txt", row * (3 * 2**18 // len(row)))
    assert "over the 1 MB limit" in _refused(path, "unpack to")


def test_the_header_rule_still_names_damaged_first_rows(tmp_path):
    """Any line before the data is header text, and one that begins with a number ('298 K'),
    but a second such ('1.01 1b3') is a damaged row, named, not skipped as a header (the
    branch skipped 400; main named the second)."""
    rows = "".join(f"{2 + 0.01 * k:.4f} {v}\n" for k, v in enumerate(RIGAKU_DAT_CPS))
    damaged = "".join(f"{1 + 0.01 * k:.2f} 1{'abcd'[k % 4]}3\n" for k in range(400))
    (tmp_path / "damaged.xy").write_text(damaged + rows)
    _refused(tmp_path / "damaged.xy", "not numbers: '1.01 1b3'", line=2)
    (tmp_path / "titled.xy").write_text("Sample 7\n298 K\n3000\n" + rows)
    assert len(read_pattern(tmp_path / "titled.xy").two_theta) == 60


def test_decimal_commas_are_read_as_decimal_points(tmp_path):
    """A spreadsheet saved in German or French ('Winkel;Intensität', '2,0100;683,8'): main
    split 2,0100 at its comma and read 60 rows as 2θ 2 or 3 with intensity 0 or 100."""
    rows = "".join(f"{2 + 0.01 * k:.4f};{v}\n" for k, v in enumerate(RIGAKU_DAT_CPS))
    path = tmp_path / "excel.csv"
    path.write_text("Winkel;Intensität\n" + rows.replace(".", ","), encoding="utf-8")
    pattern = read_pattern(path)
    assert len(pattern.two_theta) == 60 and pattern.two_theta[1] == 2.01
    assert pattern.intensity[:2].tolist() == [600.4, 683.8]
    tabbed = tmp_path / "excel.txt"
    tabbed.write_text(rows.replace(".", ",").replace(";", "\t"))
    assert read_pattern(tabbed).intensity[1] == 683.8
    plain_csv = tmp_path / "plain.csv"  # a comma between integers with nothing else: a CSV
    plain_csv.write_text("".join(f"{10 + k},{100 + k % 7}\n" for k in range(60)))
    assert read_pattern(plain_csv).intensity[1] == 101


@pytest.mark.parametrize(
    "content",
    [
        b"This is a readme.\n\nSee section 2 for details.\nLorem ipsum 1999\n",
        bytes(range(1, 256)) * 40,  # binary without a NUL byte: latin-1 text of no numbers
        "Winkel;Intensität\n".encode(),
    ],
    ids=["text", "binary", "header only"],
)
def test_a_file_without_a_row_of_numbers_says_it_is_not_a_pattern(tmp_path, content):
    """The relaxed header took every line of such a file for header text; the branch then said
    '0 data points; a powder pattern needs at least 50', as for a short scan."""
    path = tmp_path / "notes.xy"
    path.write_bytes(content)
    _refused(path, "no line holds two numbers (2θ and intensity): not a powder pattern")
