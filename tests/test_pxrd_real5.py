"""Powder files from other labs, fifth sweep (session 26): XRDML attenuation factors and area
maps, a RAW4 range at the Kα mean, a pdCIF that names its anode but no wavelength, ILL's raw
numors, an integrated image series, and instrument names beside another facility's name. Each
file is a real one, or an excerpt of one, cited where used."""

import struct
from pathlib import Path

import numpy as np
import pytest

from crystalx_core.errors import InputError
from crystalx_core.pxrd.patterns import read_pattern
from crystalx_core.pxrd.simulate import CU_KALPHA

DATA = Path(__file__).parent / "data"

# FAIRmat readers-xrd (Apache-2.0) tests/data/m54313_om2th_10.xrdml, as geddes 1.0.1's sdist
# carries it (tests/data/formats/real/panalytical_attenuator.xrdml): an X'Pert 2θ-ω scan of
# raw <counts> with a beamAttenuationFactors list, 1800 points. Its header verbatim and the 100
# points 1286-1385 (counts, factors), 2θ and ω start and end set to theirs; point 1336 was
# counted through the attenuator: 1877 counts at factor 188.
ATTENUATED = DATA / "panalytical_attenuator_100.xrdml"
# the same source's m82762_..._mesh_long.xrdml (geddes: panalytical_mesh.xrdml): an 'Area
# measurement' of 101 2θ scans stepped in Omega. Its header and first two scans, each cut to
# its first 60 positions and counts.
MESH = DATA / "panalytical_mesh_2scans_first60.xrdml"
# xrdpattern 0.9.9 (PyPI sdist, LGPL) xrdpattern/parsing/examples/bruker.raw, the same bytes as
# geddes 1.0.1's tests/data/bruker_raw/bruker4_v5converter.raw: a RAW4.00 whose range states
# 1.5418 Å, the X-ray source segment's Kα mean beside its Kα1 1.5406. Its header bytes verbatim
# and first 300 points, the three point counts set to 300.
RAW4_MEAN = DATA / "bruker_raw4_v5converter_first300.raw"
# xrdpattern's parsing/examples/data.dat (the series of test_pxrd_real4): its header, the first
# 50 rows of image 0 and of image 1, verbatim.
TWO_IMAGES = DATA / "xrdpattern_series_2images_first50.dat"
# iFit 1.5 (EUPL, ifit.mccode.org) Data/ILL_D10.dat, a raw numor in ILL's standard format: its
# header blocks and the first 8 lines of its first spectrum, verbatim.
ILL_NUMOR = DATA / "ill_d10_numor_head.dat"

# NIST SRM 660c (LaB6) certification data, mds2-2315 (U.S. Government work), as geddes 1.0.1
# carries it (tests/data/formats/real/nist_srm660c_100a.cif): a pdCIF of nine blocks, the
# radiation one naming 'Cu K\a' and no wavelength number. Its first block verbatim and the
# measured block's first 60 rows (its range and point count set to them).
NIST_660C = """\
#
data_diffrn_radiation_NIST_DBD_graphite_mono

_diffrn_radiation_type                  'Cu K\\a'
_diffrn_radiation_monochromator         'post-specimen graphite analyzer'
_diffrn_radiation_probe                 x-ray
data_pd_proc_660_cert_cif_mosaic_consensus_100a_meas

_pd_phase_name                          'SRM 660c LaB6'
_pd_proc_2theta_range_min               20.3001
_pd_proc_2theta_range_max               20.8901
_pd_proc_number_of_points               60
loop_
  _pd_proc_2theta_corrected
  _pd_proc_intensity_total
  _pd_proc_ls_weight
         20.300    19.00     1.03e-01
         20.310    10.50     1.81e-01
         20.320    12.00     1.60e-01
         20.330    18.50     1.05e-01
         20.340    17.00     1.14e-01
         20.350    9.50      1.99e-01
         20.360    14.50     1.33e-01
         20.370    14.50     1.33e-01
         20.380    11.00     1.74e-01
         20.390    11.00     1.74e-01
         20.400    8.50      2.22e-01
         20.410    10.00     1.91e-01
         20.420    13.00     1.48e-01
         20.430    14.00     1.38e-01
         20.440    16.00     1.21e-01
         20.450    20.50     9.53e-02
         20.460    12.00     1.60e-01
         20.470    13.00     1.48e-01
         20.480    14.50     1.33e-01
         20.490    12.00     1.60e-01
         20.500    11.00     1.74e-01
         20.510    15.00     1.29e-01
         20.520    13.00     1.48e-01
         20.530    15.00     1.29e-01
         20.540    17.00     1.14e-01
         20.550    7.00      2.66e-01
         20.560    14.00     1.38e-01
         20.570    13.00     1.48e-01
         20.580    11.50     1.67e-01
         20.590    14.50     1.33e-01
         20.600    18.50     1.05e-01
         20.610    12.00     1.60e-01
         20.620    14.50     1.33e-01
         20.630    15.50     1.25e-01
         20.640    12.00     1.60e-01
         20.650    12.50     1.54e-01
         20.660    16.50     1.17e-01
         20.670    14.50     1.33e-01
         20.680    15.50     1.25e-01
         20.690    17.50     1.11e-01
         20.700    11.50     1.67e-01
         20.710    14.00     1.38e-01
         20.720    14.50     1.33e-01
         20.730    15.00     1.29e-01
         20.740    9.00      2.10e-01
         20.750    18.00     1.08e-01
         20.760    14.00     1.38e-01
         20.770    15.00     1.29e-01
         20.780    14.50     1.33e-01
         20.790    17.00     1.14e-01
         20.800    14.50     1.33e-01
         20.810    13.00     1.48e-01
         20.820    17.00     1.14e-01
         20.830    14.00     1.38e-01
         20.840    16.50     1.17e-01
         20.850    19.00     1.03e-01
         20.860    17.50     1.11e-01
         20.870    17.50     1.11e-01
         20.880    23.00     8.50e-02
         20.890    18.00     1.08e-01
"""


def test_xrdml_raw_counts_are_scaled_by_their_attenuation_factors():
    """main read raw <counts> as they stand: the one point counted through the attenuator (the
    peak over its 500 000 cps activateLevel) came out 188 times too weak, the strongest peak
    of the scan among the weakest. XRDML's <intensities> are corrected already."""
    pattern = read_pattern(ATTENUATED)
    assert len(pattern.two_theta) == 100
    assert pattern.intensity.max() == pytest.approx(1877 * 188 / 0.5)
    assert pattern.intensity[50] == pytest.approx(1877 * 188 / 0.5)
    assert pattern.intensity[0] == pytest.approx(20 / 0.5)  # a factor of 1


def test_xrdml_attenuation_factors_that_do_not_match_the_counts_are_named(tmp_path):
    text = ATTENUATED.read_text(encoding="utf-8")
    path = tmp_path / "short.xrdml"
    path.write_text(text.replace("<beamAttenuationFactors>1.00 ", "<beamAttenuationFactors>"))
    with pytest.raises(InputError, match="99 beamAttenuationFactors for 100 counts"):
        read_pattern(path)


def test_xrdml_raw_counts_take_a_common_attenuation_factor(tmp_path):
    """Schema 2.x writes one commonBeamAttenuationFactor where the attenuator stayed in for the
    whole scan; the branch first read only the per-point list (the scan 188 times too weak,
    against its neighbours in a merged file)."""
    text = ATTENUATED.read_text(encoding="utf-8")
    listed = text[text.index("<beamAttenuationFactors>") : text.index("</beamAttenuationFactors>")]
    common = "<commonBeamAttenuationFactor>188.00</commonBeamAttenuationFactor>"
    path = tmp_path / "common.xrdml"
    path.write_text(text.replace(listed + "</beamAttenuationFactors>", common))
    pattern = read_pattern(path)
    assert pattern.intensity[0] == pytest.approx(20 * 188 / 0.5)
    path.write_text(text.replace(listed + "</beamAttenuationFactors>", common.replace("188", "0")))
    with pytest.raises(InputError, match="a beam attenuation factor of 0: not positive"):
        read_pattern(path)


def test_an_xrdml_area_measurement_is_refused_not_merged():
    """main merged a map's 2θ scans (each at another ω) into one pattern ('2 scans merged')."""
    with pytest.raises(InputError) as refused:
        read_pattern(MESH)
    assert "area measurement (2θ scans stepped in Omega)" in str(refused.value)
    assert refused.value.line == 16


def test_a_raw4_range_at_the_kalpha_mean_is_read_at_kalpha1():
    """main took the range's 1.5418 Å (Kα mean) for a Kα1 wavelength, shifting every line's d
    by 0.08% against the Cu Kα1 2θ of the models; its source segment says Kα1 is 1.5406."""
    pattern = read_pattern(RAW4_MEAN)
    assert pattern.wavelength == pytest.approx(1.5406)
    assert pattern.wavelength_from == "the file (its X-ray source's Kα1)"
    assert any("Kα mean, 1.5418 Å" in note for note in pattern.notes)
    # DIFFRAC.EVA's file states Kα1 in its range: read as before
    assert read_pattern(DATA / "bruker_raw4_first300.raw").wavelength_from == (
        "the file (its first range's wavelength)"
    )


def test_a_raw4_range_at_1_5418_without_a_source_kalpha1_is_read_as_it_states(tmp_path):
    """Only the source segment's own Kα1 beside its Kα mean shows what 1.5418 Å is: without
    that Kα1 the range's wavelength stands, as on main."""
    data = bytearray(RAW4_MEAN.read_bytes())
    source_kalpha1 = 332 + 80  # the X-ray source segment (type 30) begins at byte 332
    assert struct.unpack_from("<d", data, source_kalpha1)[0] == pytest.approx(1.5406)
    data[source_kalpha1 : source_kalpha1 + 8] = bytes(8)
    path = tmp_path / "no_kalpha1.raw"
    path.write_bytes(bytes(data))
    pattern = read_pattern(path)
    assert pattern.wavelength == pytest.approx(1.5418)
    assert pattern.wavelength_from == "the file (its first range's wavelength)"
    assert not any("Kα mean" in note for note in pattern.notes)


@pytest.mark.parametrize(
    "anode, expected", [("Cu K\\a", 1.54056), ("Mo K\\a", 0.7093), ("CoKa1", 1.78897)]
)
def test_a_pdcif_s_radiation_type_gives_its_anode_s_kalpha1(tmp_path, anode, expected):
    """main read NIST's SRM 660c pdCIF at Cu Kα1 as 'the default: the file names no wavelength',
    and so any pdCIF that names a Mo or Co anode the same way: at the wrong wavelength."""
    path = tmp_path / "srm660c.cif"
    path.write_text(NIST_660C.replace("Cu K\\a", anode))
    pattern = read_pattern(path)
    assert len(pattern.two_theta) == 60
    assert pattern.wavelength == pytest.approx(expected)
    assert "_diffrn_radiation_type" in pattern.wavelength_from


def test_an_ill_numor_is_refused_in_one_line_naming_it():
    """main answered 'line 20: expected 2θ and intensity, found '0'': a parameter block read as
    columns, the format never named."""
    with pytest.raises(InputError) as refused:
        read_pattern(ILL_NUMOR)
    assert "an ILL numor (raw data of D10" in refused.value.one_line()
    assert refused.value.line == 1


def test_an_image_series_says_its_images_are_merged():
    """main said '2θ goes back at line 52: read as 2 scans merged': the two images of the series
    (column imagenum) averaged without a word of it."""
    pattern = read_pattern(TWO_IMAGES)
    assert len(pattern.two_theta) == 50
    assert any("2 images (column 'imagenum') merged" in note for note in pattern.notes)
    assert not any("goes back" in note for note in pattern.notes)
    rows = [line.split() for line in TWO_IMAGES.read_text().splitlines()[1:]]
    mean = [(float(a[5]) + float(b[5])) / 2 for a, b in zip(rows[:50], rows[50:])]
    assert np.allclose(pattern.intensity, mean)


def _xray_rows(header: str) -> str:
    two_theta = np.linspace(5, 65, 600)
    counts = 100 + 900 * np.exp(-(((two_theta - 30) / 0.2) ** 2))
    return header + "\n" + "".join(f"{t:.3f} {c:.1f}\n" for t, c in zip(two_theta, counts))


@pytest.mark.parametrize(
    "header", ["# LaB6 in DMC, NIST SRM 660c", "# pressed at 500 PSI, D20 die", "# D20 at PSI"]
)
def test_an_instrument_beside_another_facility_is_no_neutron_evidence(tmp_path, header):
    """main asked for --wavelength: 'DMC, NIST' and 'PSI, D20' paired any instrument name with
    any facility's; DMC is PSI's and D20 ILL's."""
    path = tmp_path / "scan.xy"
    path.write_text(_xray_rows(header))
    assert read_pattern(path).wavelength == CU_KALPHA


@pytest.mark.parametrize("header", ["# D20 at ILL", "# PSI DMC, LaB6", "# Echidna (ANSTO)"])
def test_an_instrument_beside_its_own_facility_still_asks(tmp_path, header):
    path = tmp_path / "scan.xy"
    path.write_text(_xray_rows(header))
    with pytest.raises(InputError, match="taken for a neutron pattern"):
        read_pattern(path)


def test_a_pdcif_with_a_tag_twice_in_a_block_gives_one_line(tmp_path):
    """Fuzzing the pxrd target seeded with the SRM 660c excerpt: a tag written twice in a block
    (as a hand-edited CIF may hold) raised gemmi's RuntimeError, a traceback on main."""
    path = tmp_path / "twice.cif"
    path.write_text(NIST_660C.replace("_pd_phase_name", "_pd_proc_2theta_range_max"))
    with pytest.raises(InputError) as refused:
        read_pattern(path)
    assert "duplicate tag _pd_proc_2theta_range_max" in refused.value.one_line()
    assert refused.value.line == 11
