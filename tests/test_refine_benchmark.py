"""benchmarks/refine_benchmark.py's list of O/N/S whose written H differ from their count."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.structure import Site, Structure
from crystalx_core.training.sources import split_of
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


def test_the_measured_mode_runs_the_cifs_with_their_own_reflections_and_counts_them(
    tmp_path, shared_data
):
    """`--measured` on three real corpus files: sf_p-1_a (a _refln loop of Fo², published R1
    0.0302), the Jana2006 3D-ED carbamazepine (electron data) and sfarchiv2_2004811, whose only
    `_refln_index_h` is `_diffrn_standard_refln_index_h` (standard reflections, no data): the
    last is no entry, the electron file is refused and counted apart, and sf_p-1_a is counted
    against its published model (7 non-H atoms, 5 O with their H) per split."""
    script = benchmark_script("refine_benchmark")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    names = [
        "ciftools_jana2006_carbamazepine_carbamazepine_dynamical.cif",
        "sf_p-1_a.cif",
        "sfarchiv2_2004811.cif",
    ]
    index = (shared_data / "corpus" / "INDEX.tsv").read_text().splitlines()
    rows = [line for line in index[1:] if line.split("\t")[0] in names]
    (corpus / "INDEX.tsv").write_text("\n".join([index[0], *rows]) + "\n")
    for name in names:
        (corpus / name).symlink_to(shared_data / "corpus" / name)
    entries = script.measured_entries(corpus)
    assert [(e["model"].name, e["probe"], e["published_r1"]) for e in entries] == [
        (names[0], "electron", 0.1236),
        (names[1], "x-ray", 0.0302),
    ]
    assert [e["split"] for e in entries] == [split_of(names[0]), split_of(names[1])]
    assert all(e["hkl"] == e["model"] for e in entries)
    done = [script.run_entry(e, 10, tmp_path) for e in entries]
    electron, xray = done
    assert electron["exit"] == 2 and "_diffrn_radiation_probe electron" in electron["error"]
    assert xray["exit"] == 0 and xray["split"] == split_of(names[1])
    assert xray["n_reference"] == xray["elements"]["ordered"][0] == 7
    assert xray["donors"]["ordered"][0] == 5 and not xray["elements"]["part"][0]
    assert abs(xray["r1"] - 0.0302) < 0.005  # Fo² read as F would be far off
    text = script.measured_markdown(done, 10, "source")
    split = split_of(names[1])
    assert f"- **{split}** split, X-ray data: 1 of 1 exit 0." in text
    assert "- not X-ray data (1), counted apart:" in text
    assert "ciftools_jana2006_carbamazepine_carbamazepine_dynamical (electron, " in text
    # a refused row's R1 cell says why, not the first 80 characters of the path
    reason = (
        "_diffrn_radiation_probe electron: not X-ray data; CrystalX refines X-ray data only "
        "(refine this one in the program that wrote it)"
    )
    assert f"| {reason} | 0.1236 |" in text
