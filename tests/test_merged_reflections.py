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


def test_reflections_written_three_times_are_read_as_their_unique_reflections(shared_data, tmp_path):
    """Main kept every line (3 × 119065 observations) and each refinement, map and evidence
    step merged them again; now a job holds the 18563 unique ones (Friedel mates apart in P2₁),
    whether the file has each line once or three times."""
    folder = BENCHMARK / "FC_sucrose"
    loaded = load(folder / "published.res")
    copy, lines = _copies(folder / "data.hkl", tmp_path, 3)
    once, thrice = loaded.read(folder / "data.hkl"), loaded.read(copy)
    assert lines == 119065
    assert len(once) == len(thrice) == 18563
    assert np.array_equal(once.indices, thrice.indices)
    assert np.allclose(once.intensities, thrice.intensities)


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
    merged = loaded.read(folder / "data.hkl")
    assert merged.laue is None
    array = merged.to_miller_array(loaded.structure.cell, loaded.structure.symops)
    assert array.is_unique_set_under_symmetry()  # not anomalous: mates are one reflection
    assert len(merged) < len(read_hkl(folder / "data.hkl"))


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
