"""benchmarks/refine_benchmark.py's list of O/N/S whose written H differ from their count."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.structure import Site, Structure
from tests.conftest import benchmark_script


def test_a_centred_h_between_two_o_is_not_listed_but_one_shared_with_an_image_is():
    """O1···O2 2.45 Å (hydrogen maleate's O···H···O): the centred H written nearer O2 gives O1
    one H fewer and O2 one more than counted; the two cancel and neither is listed. O3···O3'
    2.45 Å across an inversion centre is the same O: its difference has nothing to cancel
    against (an image is no partner), so it is listed; so is a lone O4 one H short."""
    unshared = benchmark_script("refine_benchmark")._unshared
    sites = [
        Site("O1", "O", (0.25, 0.2, 0.2)),
        Site("O2", "O", (0.495, 0.2, 0.2)),
        Site("O3", "O", (0.6225, 0.5, 0.5)),  # its image (0.3775, 0.5, 0.5) across 1/2 1/2 1/2
        Site("O4", "O", (0.1, 0.7, 0.8)),
    ]
    structure = Structure(cell=(10, 10, 10, 90, 90, 90), symops=["x,y,z", "-x,-y,-z"], sites=sites)
    # [label, count the job claims, H the output .res carries, index]
    written = [["O1", 1, 0, 0], ["O2", 1, 2, 1], ["O3", 1, 2, 2], ["O4", 2, 1, 3]]
    assert unshared(structure, written) == [["O3", 1, 2], ["O4", 2, 1]]
    # differences that do not cancel (both one short) are both listed
    written[1][2] = 0
    assert unshared(structure, written) == [["O1", 1, 0], ["O2", 1, 0], ["O3", 1, 2], ["O4", 2, 1]]
