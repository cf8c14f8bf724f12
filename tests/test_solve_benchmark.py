"""benchmarks/solve_benchmark.py --corpus-measured: which corpus CIFs carry reflections, what a
user's .ins holds, and one real file solved and set against its published model."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.io.cif import read_cif
from tests.conftest import CORPUS, benchmark_script


def test_measured_files_are_those_with_reflections_not_standard_ones(shared_data):
    """A _refln loop or SHELXL's embedded .hkl counts; a _diffrn_standard_refln loop (the
    few reflections a diffractometer remeasures to watch decay, sfarchiv2_*) does not."""
    names = {p.name for p in benchmark_script("solve_benchmark").measured_files(CORPUS)}
    assert {"codtools_1552546.cif", "crystio_2020660.cif", "sf_p-1_a.cif"} <= names
    assert "sfarchiv2_2004980.cif" not in names


def test_the_users_ins_has_the_formula_times_z_and_no_atoms(shared_data):
    """COD 1552546: _chemical_formula_sum 'Al1.95 H2 K O12 Si4 Ti0.05', Z 4; the published
    sites would give other counts (K at 0.94 occupancy: 3.756)."""
    start, source = benchmark_script("solve_benchmark").user_start(
        read_cif(CORPUS / "codtools_1552546.cif").structure
    )
    assert source == "formula × Z" and start.sites == []
    assert dict(zip(start.sfac, start.unit)) == {
        "H": 8.0,
        "Al": 7.8,
        "K": 4.0,
        "O": 48.0,
        "Si": 16.0,
        "Ti": 0.2,
    }


def test_a_measured_file_is_solved_and_counted(shared_data, tmp_path):
    """sf_p-1_a (P-1, 7 non-H atoms, the models' test split): solved in a fresh process from
    the .ins and the CIF as reflection file; every published atom matched with its element."""
    row = benchmark_script("solve_benchmark").run_measured(
        CORPUS / "sf_p-1_a.cif", "model", tmp_path, 80
    )
    assert (row["exit"], row["split"], row["probe"]) == (0, "test", "x-ray"), row.get("error")
    assert (row["n_found"], row["elements"]["ordered"], row["missed"]) == (7, [7, 7], [])
    assert row["r1"] < 2 * row["published_r1"]
