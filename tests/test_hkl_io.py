"""HKLF 4 reflection files: every real file we have, the format's quirks, and bad input."""

import json

import numpy as np
import pytest

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import hkl_text, read_hkl, reflections_from_text
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK

HKL_ENTRIES = sorted(p.parent.name for p in BENCHMARK.glob("*/data.hkl"))


@pytest.mark.parametrize("entry", HKL_ENTRIES)
def test_benchmark_hkl_counts(shared_data, entry):
    source = json.loads((BENCHMARK / entry / "source.json").read_text())
    reflections = read_hkl(BENCHMARK / entry / "data.hkl")
    assert len(reflections) == source["n_reflections"]
    assert reflections.indices.shape == (len(reflections), 3)
    assert reflections.indices.dtype.kind == "i"
    assert np.all(reflections.sigmas > 0)
    assert int(np.sum(reflections.intensities < 0)) == source.get(
        "n_negative_F2", int(np.sum(reflections.intensities < 0))
    )


def test_to_miller_array_keeps_every_observation(shared_data):
    structure = read_shelx(BENCHMARK / "XH_urea" / "published.res").to_structure()
    reflections = read_hkl(BENCHMARK / "XH_urea" / "data.hkl")
    array = reflections.to_miller_array(structure.cell, structure.symops)
    assert array.is_xray_intensity_array() and array.sigmas() is not None
    assert array.size() == len(reflections) and not array.anomalous_flag()
    assert array.space_group().order_z() == 8
    assert array.unit_cell().parameters() == pytest.approx(structure.cell)
    assert list(array.data()[:2]) == pytest.approx(reflections.intensities[:2].tolist())


def test_fixed_columns_batches_and_what_follows_the_end():
    text = (
        "   1   0   010890.21   30.06   1\n"  # l and Fo² run together, as F8.2 allows
        "   0   0   3-5.76448 28.3280   2\n"
        "  -1   2   0   86.70    2.86\n"
        "   0   0   0    0.00    0.00   0\n"
        " CELL 1.54184   19.650   36.950\nTREF\nHKLF 4\nEND\n"
    )
    reflections = reflections_from_text(text, "x.hkl")
    assert reflections.indices.tolist() == [[1, 0, 0], [0, 0, 3], [-1, 2, 0]]
    assert reflections.intensities.tolist() == [10890.21, -5.76448, 86.70]
    assert reflections.sigmas.tolist() == [30.06, 28.328, 2.86]
    assert reflections.batches.tolist() == [1, 2, 0]


def test_wide_fields_crlf_and_no_terminator():
    text = "   1   2   3     12345.67      123.45\r\n  -1  -2  -3         1.00         0.50\r\n"
    reflections = reflections_from_text(text)
    assert reflections.intensities.tolist() == [12345.67, 1.0]
    assert reflections.sigmas.tolist() == [123.45, 0.5]
    assert reflections.batches is None


def test_hkl_text_round_trip():
    indices = [(1, 2, 3), (-4, 5, -6)]
    text = hkl_text(indices, [1234.5, -3.25], [12.0, 1.5])
    assert text.splitlines()[-1] == "   0   0   0    0.00    0.00"
    reflections = reflections_from_text(text)
    assert reflections.indices.tolist() == [list(i) for i in indices]
    assert reflections.intensities.tolist() == [1234.5, -3.25]
    with pytest.raises(ValueError):
        hkl_text([(1, 0, 0)], [123456789.0], [1.0])


GOOD = "   1   0   0  100.00    2.00\n"
BAD_HKL = {
    "non_numeric": (GOOD + "   2   0   0  abc.de    2.00\n", 2, "not an HKLF 4"),
    "too_few_fields": (GOOD + "   2   0\n", 2, "not an HKLF 4"),
    "nan": (GOOD + "   2   0   0     nan    2.00\n", 2, "NaN"),
    "infinite_sigma": (
        GOOD + "   2   0   0   10.00     inf\n",
        2,
        "NaN or infinite intensity or sigma for 2 0 0",
    ),
    "negative_infinity": (
        GOOD + "   2   0   0    -INF    1.00\n",
        2,
        "NaN or infinite intensity or sigma for 2 0 0",
    ),
    "all_sigma_negative": (
        "   1   0   0   -1.00   -1.00\n   2   0   0   -1.00   -1.00\n",
        1,
        "every reflection has a negative sigma (the flag for 'leave out'): no data",
    ),
    "all_intensities_zero": (
        "   1   0   0    0.00    1.00\n   2   0   0    0.00    1.00\n",
        1,
        "every intensity is zero or negative: no diffraction data",
    ),
    "all_intensities_negative": (
        "   1   0   0   -3.00    1.00\n   0   0   1   -2.50    1.00\n",
        1,
        "every intensity is zero or negative: no diffraction data",
    ),
    "hklf5_components": (
        GOOD + "   2   0   0  100.00    2.00  -2\n   2   0   0  100.00    2.00   1\n",
        2,
        "negative batch number -2 for 2 0 0: twin components of HKLF 5 data, read here as "
        "HKLF 4; give HKLF 5 (and BASF) in the model's SHELX instructions (its .ins or .res; "
        "a CIF carries them in _shelx_res_file)",
    ),
    "empty": ("", 1, "empty"),
    "only_terminator": ("   0   0   0    0.00    0.00\n", 1, "no reflections"),
}


@pytest.mark.parametrize("case", sorted(BAD_HKL))
def test_bad_hkl_input_names_file_and_line(tmp_path, case):
    text, line, fragment = BAD_HKL[case]
    path = tmp_path / f"{case}.hkl"
    path.write_text(text)
    before = path.read_bytes()
    with pytest.raises(InputError) as caught:
        read_hkl(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message
    assert path.read_bytes() == before


@pytest.mark.parametrize("data", [bytes(range(256)) * 8, b"\x89PNG\r\n\x1a\n" + b"\xff" * 500])
def test_binary_hkl_is_an_input_error(tmp_path, data):
    path = tmp_path / "garbage.hkl"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_hkl(path)
    assert str(path) in str(caught.value) and caught.value.line >= 1
    assert path.read_bytes() == data


def test_missing_hkl_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_hkl(tmp_path / "nothing.hkl")


def test_incomplete_data_are_named_when_charge_flipping_fails(shared_data):
    """CCTBX cu3182's stored reflections stop at l = 7 of a 41 Å axis: a fifth of the data."""
    from crystalx_core.crystallography.solve import solve
    from crystalx_core.errors import SolveError
    from crystalx_core.io.cif import read_cif

    entry = BENCHMARK / "CCTBX_cu3182"
    start = read_cif(entry / "model.cif").structure.with_sites([])
    with pytest.raises(
        SolveError, match=r"the data are only 20 % complete to 0.80 Å: too few to solve"
    ):
        solve(start, read_hkl(entry / "data.hkl"), max_attempts=2)


def test_sigma_zero_kept_with_the_smallest_sigma_and_negative_sigma_left_out():
    """A weak reflection rounded to 0.00 by F8.2 is data; -1.00 -1.00 placeholders are not."""
    text = (
        "   1   0   0  100.00    2.00\n"
        "   2   0   0    0.01    0.00\n"
        "   3   0   0   -1.00   -1.00\n"
        "   0   2   0   50.00    0.50\n"
        "   0   3   0   -1.00   -1.00\n"
    )
    reflections = reflections_from_text(text, "x.hkl")
    assert reflections.indices.tolist() == [[1, 0, 0], [2, 0, 0], [0, 2, 0]]
    assert reflections.sigmas.tolist() == [2.0, 0.5, 0.5]
    assert reflections.notes == [
        "2 reflection(s) with a negative sigma left out, as SHELXL does (the first on line 3)",
        "1 reflection(s) with sigma 0.00 kept, weighted as the file's smallest sigma (0.5)",
    ]


def test_columns_beyond_the_batch_are_ignored_even_when_fused():
    """SADABS direction cosines after the batch, and HKLF 2's wavelength: SHELX reads
    3I4,2F8.2,I4."""
    text = (
        "   1   0   0  100.00    2.00   1-0.66223-0.60253 0.44801 0.79153-0.59651 0.12047\n"
        "   0   2  -1   13.25    0.75   2 0.01234 0.99123-0.71234 0.11111 0.22222 0.33333\n"
        "  -1   1   1   25.50    1.25   1  0.7100\n"
        "   0   0   0\n"
    )
    reflections = reflections_from_text(text, "x.hkl")
    assert reflections.indices.tolist() == [[1, 0, 0], [0, 2, -1], [-1, 1, 1]]
    assert reflections.intensities.tolist() == [100.0, 13.25, 25.5]
    assert reflections.sigmas.tolist() == [2.0, 0.75, 1.25]
    assert reflections.batches.tolist() == [1, 2, 1]
    assert reflections.notes == []


def test_bare_end_line_ends_the_data():
    text = "   1   0   0  100.00    2.00\n   0   0   0\nTITL something else\n"
    assert reflections_from_text(text).indices.tolist() == [[1, 0, 0]]
    assert reflections_from_text("1 0 0 100.0 2.0\n0 0 0\n 12 junk\n").indices.tolist() == [
        [1, 0, 0]
    ]


def test_hklf3_amplitudes_scale_and_matrix():
    """HKLF 3 F σ(F) become Fo² = F², σ(Fo²) = 2Fσ(F); s scales both; the matrix reindexes h' = M
    h."""
    from crystalx_core.io.hkl import HklfFormat

    text = "   1   2   3   10.00    0.50\n   0   0   2    4.00    0.25\n"
    hklf = HklfFormat(code=3, scale=2.0, matrix=((0, 1, 0), (1, 0, 0), (0, 0, -1)))
    reflections = reflections_from_text(text, "x.hkl", hklf)
    assert reflections.indices.tolist() == [[2, 1, -3], [0, 0, -2]]
    assert reflections.intensities.tolist() == [400.0, 64.0]
    assert reflections.sigmas.tolist() == [40.0, 8.0]


def test_indices_that_fill_the_3i4_fields_are_read():
    """SHELX reads h k l by FORMAT(3I4,...) (SHELXL-93 manual, HKLF: 'The data are read in
    FORMAT(3I4,2F8.2,I4)', ccp14.ac.uk/ccp/web-mirrors/paulboyle/shelxl/HKLF.html): four
    columns hold -999 to 9999, so `-99910001000` is h -999, k 1000, l 1000. Both readers (numpy
    columns and line by line, the latter taken by the batch -1 free-R flags) read them."""
    text = (
        "   1   0   0   10.00    1.00\n-99910001000   12.50    2.00\n9999   0   1    3.00    1.00\n"
    )
    plain = reflections_from_text(text)
    assert plain.indices.tolist() == [[1, 0, 0], [-999, 1000, 1000], [9999, 0, 1]]
    flagged = (
        "".join(line + "   1\n" for line in text.splitlines()[:-1])
        + text.splitlines()[-1]
        + "  -1\n"
    )
    by_line = reflections_from_text(flagged)
    assert by_line.indices.tolist() == plain.indices.tolist()


def test_a_free_format_index_past_the_3i4_range_names_its_line(tmp_path):
    """A line split on blanks (not SHELX's columns) may write any number: one that 3I4 could not
    hold is refused on its line, saying the range."""
    path = tmp_path / "x.hkl"
    path.write_text("1 0 0 10.0 1.0\n10000 0 1 3.0 1.0\n")
    with pytest.raises(InputError) as caught:
        read_hkl(path)
    assert str(caught.value).startswith(f"{path}:2: index or batch out of range")
    assert "-999 <= h, k, l <= 9999" in str(caught.value)
