"""Reflections merged once after reading (io.hkl.Reflections.merged): every later step works on
the unique reflections, with results those of the unmerged data. Inputs: the benchmark's real
.res and .hkl (FC_sucrose: P2₁, non-centric; FC_p21c: P2₁/c), the .hkl's lines written three
times over as a careless merge of runs writes them."""

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.io import load
from crystalx_core.io.hkl import read_hkl

from .conftest import BENCHMARK


def _copies(source, folder, times: int):
    """The .hkl's reflection lines (up to its 0 0 0 line) `times` over, one end line after."""
    lines = []
    for line in source.read_text(encoding="latin-1").splitlines():
        if not line.strip() or line.split()[:3] == ["0", "0", "0"]:
            break
        lines.append(line)
    copy = folder / f"copies_{times}.hkl"
    copy.write_text("\n".join(lines * times) + "\n   0   0   0    0.00    0.00\n")
    return copy, len(lines)


def _arrays(array):
    ordered = array.sort("packed_indices")
    return (
        np.array(list(ordered.indices())),
        ordered.data().as_numpy_array(),
        ordered.sigmas().as_numpy_array(),
    )


def test_reflections_written_three_times_are_merged_to_their_unique_reflections(
    shared_data, tmp_path
):
    """Main kept every line (3 × 119065 observations) through the job, and each refinement,
    map and evidence step merged them again; merged once, they are the 18563 unique ones
    (Friedel mates apart in P2₁), whether the file has each line once or three times."""
    folder = BENCHMARK / "FC_sucrose"
    loaded = load(folder / "published.res")
    cell, symops = loaded.structure.cell, loaded.structure.symops
    copy, lines = _copies(folder / "data.hkl", tmp_path, 3)
    once = loaded.read(folder / "data.hkl").merged(cell, symops)
    thrice = loaded.read(copy).merged(cell, symops)
    assert lines == 119065
    assert len(once) == len(thrice) == 18563
    assert np.array_equal(once.indices, thrice.indices)
    assert np.allclose(once.intensities, thrice.intensities)


def test_a_job_refines_the_merged_reflections(shared_data, monkeypatch, tmp_path):
    """assign_job merges once at its start: XH_alanine's 2519 reflections written three times
    reach every refinement as the 2519 (main handed on all 7557 lines)."""
    from crystalx_core import pipeline

    folder = BENCHMARK / "XH_alanine"
    loaded = load(folder / "published.res")
    seen = []
    real = pipeline.assign_and_refine

    def watched(structure, reflections, *args, **kwargs):
        seen.append(len(reflections))
        return real(structure, reflections, *args, **kwargs)

    monkeypatch.setattr(pipeline, "assign_and_refine", watched)
    copy, lines = _copies(folder / "data.hkl", tmp_path, 3)
    raw = loaded.read(copy)
    pipeline.assign_job(loaded.structure, raw, method="baseline", hydrogens="rules", cycles=2)
    assert len(raw) == 3 * lines == 7557
    assert seen == [lines]


def test_merged_once_every_later_merge_is_that_of_the_observations(shared_data):
    """Refinement (Friedel mates apart) and the steps that read Fo² with mates together
    (solve.merged_intensities: maps, element and H evidence, R(σ), Wilson) get exactly what
    merging the file's 119065 observations gives them, σ included (merging the merged mates
    again took their σ from two values: R(σ) 0.0115 where the observations give 0.0101)."""
    from crystalx_core.crystallography.refine import _observations
    from crystalx_core.crystallography.solve import data_r_sigma, merged_intensities

    folder = BENCHMARK / "FC_sucrose"
    structure = load(folder / "published.res").structure
    raw = read_hkl(folder / "data.hkl")
    merged = raw.merged(structure.cell, structure.symops)
    for left, right in zip(
        _arrays(merged_intensities(structure, raw)), _arrays(merged_intensities(structure, merged))
    ):
        assert np.allclose(left, right, rtol=1e-12, atol=0)
    apart = [_observations(structure, r, centric=False) for r in (raw, merged)]
    assert apart[0].indices.size() == apart[1].indices.size() == 18544  # absences left out
    assert list(apart[0].indices) == list(apart[1].indices)
    assert np.allclose(apart[0].data.as_numpy_array(), apart[1].data.as_numpy_array())
    assert np.allclose(apart[0].sigmas.as_numpy_array(), apart[1].sigmas.as_numpy_array())
    assert data_r_sigma(structure, merged) == pytest.approx(data_r_sigma(structure, raw), rel=1e-12)


def test_a_centric_groups_friedel_mates_are_one_reflection(shared_data):
    """In P2₁/c h k l and -h -k -l are equivalents: merged together, one merge serves all."""
    folder = BENCHMARK / "FC_p21c"
    loaded = load(folder / "published.res")
    raw = loaded.read(folder / "data.hkl")
    merged = raw.merged(loaded.structure.cell, loaded.structure.symops)
    assert merged.laue is None
    array = merged.to_miller_array(loaded.structure.cell, loaded.structure.symops)
    assert array.is_unique_set_under_symmetry()  # not anomalous: mates are one reflection
    assert len(merged) < len(raw)


def test_twinned_data_are_kept_as_read():
    """A TWIN observation sums two domains' intensities: not an equivalent of the crystal's."""
    from crystalx_core.io.hkl import HklfFormat, Twin, reflections_from_text

    text = "   1   0   0  100.00    1.00\n  -1   0   0  100.00    1.00\n   0   0   0\n"
    twin = Twin(fractions=(0.3,), where="x.ins:9")
    reflections = reflections_from_text(text, "x.hkl", HklfFormat(twin=twin))
    cell, symops = (10, 11, 12, 90, 90, 90), ["x,y,z", "-x,-y,-z"]
    assert reflections.merged(cell, symops) is reflections
    untwinned = reflections_from_text(text, "x.hkl")
    assert len(untwinned.merged(cell, symops)) == 1


@pytest.mark.parametrize("name", ["FC_sucrose", "XH_urea", "N2_water"])
def test_plain_columns_are_read_as_the_line_reader_reads_them(shared_data, name):
    """The column-by-column reader (io.hkl._plain_columns: 2.4·10⁶ lines in a fraction of the
    line reader's time and memory, read from the file's bytes) gives what the line reader
    gives, to the bit, notes too."""
    from crystalx_core.io.files import line_end
    from crystalx_core.io.hkl import HklfFormat, _plain_columns, _read_line_by_line

    data = (BENCHMARK / name / "data.hkl").read_bytes()
    text = data.decode("latin-1")
    lines = text.split(line_end(text))
    assert _plain_columns(data) is not None
    fast, slow = (
        read_hkl(BENCHMARK / name / "data.hkl"),
        _read_line_by_line(text, lines, "x", HklfFormat()),
    )
    assert np.array_equal(fast.indices, slow.indices)
    assert np.array_equal(fast.intensities, slow.intensities)
    assert np.array_equal(fast.sigmas, slow.sigmas)
    assert fast.notes == slow.notes and fast.cut_short == slow.cut_short


def test_a_line_not_plainly_in_columns_sends_the_file_to_the_line_reader():
    """Implied decimals, free format, a free-R flag, a blank end with lines after it: each read
    as SHELX reads it (the line reader), not misread by the columns."""
    from crystalx_core.io.hkl import _plain_columns, reflections_from_text

    plain = "   1   0   0  100.00    1.00\n  -2   0   0   50.50    0.50   1\n"
    assert _plain_columns(plain.encode()) is not None
    for odd in (
        "   1   1   0   10000     100\n",
        "1 1 0 100.0 1.0\n",
        "   1   1   0  100.00    1.00  -1\n",
    ):
        assert _plain_columns((plain + odd).encode()) is None
    implied = reflections_from_text(plain + "   1   1   0   10000     100\n", "x.hkl")
    assert implied.intensities[-1] == 100.0 and implied.sigmas[-1] == 1.0
    ended = reflections_from_text(plain + "\n   3   0   0  100.00    1.00\n", "x.hkl")
    assert len(ended) == 2 and "line 3" in ended.cut_short
    zeros = reflections_from_text(plain + "   0   0   0    0.00    0.00\nSADABS notes\n", "x.hkl")
    assert len(zeros) == 2


def test_text_after_the_end_line_keeps_the_file_on_the_column_reader():
    """SHELX's end line `0 0 0 0.00 0.00` followed by text (XPREP appends its TITL/CELL/ZERR block
    after the data, which Olex2 reads for the cell; SADABS its notes): the data end there for
    both readers alike, and the fast one still reads the file (it sent it to the line reader)."""
    from crystalx_core.io.hkl import (
        HklfFormat,
        _plain_columns,
        _read_line_by_line,
        reflections_from_text,
    )

    text = (
        "   1   0   0  100.00    1.00\n  -2   0   0   50.50    0.50\n"
        "   0   0   0    0.00    0.00   0\nTITL x in P2(1)/c\nCELL 0.71073 10 11 12 90 95 90\n"
        "ZERR 4 0.001 0.001 0.001 0 0.01 0\n"
    )
    lines = text.split("\n")
    assert _plain_columns(text.encode()) is not None
    fast, slow = (
        reflections_from_text(text, "x.hkl"),
        _read_line_by_line(text, lines, "x", HklfFormat()),
    )
    assert np.array_equal(fast.indices, slow.indices) and len(fast) == 2
    assert fast.notes == slow.notes and fast.cut_short == slow.cut_short


def test_a_file_of_many_copies_is_read_in_a_few_times_its_size(shared_data, tmp_path):
    """FC_sucrose's reflections written five times (595325 lines, 20 MB): main held the text,
    a Python string per line and numpy's U32 copy of each chunk at once, and allocated 10.7
    times the file's size at its peak (952 MB resident for 20 copies); read from the bytes a
    chunk of lines at a time, 4.0 times (tracemalloc, which numpy reports its arrays to)."""
    import tracemalloc

    from crystalx_core.io.hkl import reflections_from_bytes

    copy, lines = _copies(BENCHMARK / "FC_sucrose" / "data.hkl", tmp_path, 5)
    data = copy.read_bytes()
    tracemalloc.start()
    try:
        reflections = reflections_from_bytes(data, str(copy))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(reflections) == 5 * lines
    assert peak < 6 * len(data), peak / len(data)
