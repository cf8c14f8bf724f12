"""H on an O bonded to metals alone (aqua, hydroxo, μ-OH, oxo): the geometry rules' prior from
the published models, the difference map deciding where the reflections are given."""

import json

import numpy as np
import pytest

from crystalx_core.assign.baseline import baseline_h_counts, h_room
from crystalx_core.cli import main
from crystalx_core.geometry import connectivity
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.structure import Site, Structure

from .conftest import CORPUS

MICA = CORPUS / "codtools_1552546.cif"
# COD 1552546 (muscovite, Ag Kα, SHELXL, H found in the difference map and refined freely):
# OH05 bridges two Al of the octahedral sheet; its one H, H13, points into the vacant octahedral
# site M1 (an Al at 0.064 occupancy, 2.19 Å from OH05)
H13 = (0.375, 0.636, 0.554)


def test_mica_mu2_hydroxide_gets_the_one_h_its_map_shows(shared_data, tmp_path, capsys):
    """`assign --hkl` on COD 1552546's own atoms and reflections: OH05 (μ2-OH between two Al)
    once got two H (a water's, DFIX/DANG); the map shows one, 2.8 rms, 0.1 Å from the published
    H13, in the direction of the mostly vacant M1 site, which therefore excludes no H."""
    code = main(
        ["assign", str(MICA), "--hkl", str(MICA), "--out", str(tmp_path) + "/", "--json", "--quiet"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (oh,) = [a for a in report["atoms"] if a["label"] == "OH05"]
    assert oh["h_count"] == 1
    structure = read_shelx(tmp_path / "codtools_1552546_crystalx.res").to_structure()
    hydrogens = [s for s in structure.sites if s.element == "H"]
    (h,) = hydrogens  # the one H of the structure, where the published H13 stands
    off = structure.cartesian(np.array(h.frac)) - structure.cartesian(np.array(H13))
    assert np.linalg.norm(off) < 0.3


def test_mica_mu2_hydroxide_without_reflections_gets_one_h(shared_data, tmp_path, capsys):
    """Without reflections the prior decides: an O bridging two Al is a hydroxide (in the
    corpus's published models no O between two metals outside groups 1-2 carries two H)."""
    code = main(["assign", str(MICA), "--out", str(tmp_path) + "/", "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (oh,) = [a for a in report["atoms"] if a["label"] == "OH05"]
    assert oh["h_count"] == 1


def _cluster(metals: list[str], distance: float = 1.95) -> Structure:
    """One O in a P1 box bonded to each metal of `metals` (tetrahedral directions)."""
    box = 30.0
    directions = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    sites = [Site("O1", "O", (0.5, 0.5, 0.5))]
    for k, (element, d) in enumerate(zip(metals, directions)):
        sites.append(Site(f"{element}{k + 1}", element, tuple(0.5 + distance * d / box)))
    return Structure(cell=(box, box, box, 90, 90, 90), symops=["x,y,z"], sites=sites)


def test_rules_count_h_on_metal_oxygens_as_the_published_models_do():
    """benchmarks/metal_oxygen_counts.py on the corpus: an aqua ligand (one metal) carries two
    H, an O between two or three metals outside groups 1-2 never two (μ2: 40 with none, 7 with
    one; μ3: 9 and 2), one between four none; a water between alkali cations keeps two, as a
    rare earth's μ-aqua bridge may (room for the water's two and more, as H3O+). The room is
    also what the metals' bond valence sum leaves (baseline.metal_oxygen_room): two Al at 1.95 Å
    give 0.89 v.u., room for one H, not a μ-aqua's two; four V at 1.95 Å 2.3 v.u., none."""
    for metals, distance, expected, room in [
        (["Ni"], 1.95, 2, 3),
        (["Al", "Al"], 1.95, 1, 1),
        (["Fe", "Fe", "Fe"], 2.05, 1, 1),  # a μ3-OH's Fe-O (1.28 v.u.)
        (["V", "V", "V", "V"], 1.95, 0, 0),
        (["Na", "Na"], 2.4, 2, 3),
        (["Gd", "Gd"], 2.5, 2, 3),  # a μ-aqua's Gd-O (0.62 v.u.)
    ]:
        structure = _cluster(metals, distance)
        bonds = connectivity(structure)
        assert len(bonds[0]) == len(metals)
        assert baseline_h_counts(structure)[0] == expected, metals
        assert h_room(structure, structure.sites[0], bonds[0]) == room, metals


def test_mica_solved_from_its_formula_gets_one_h_on_its_mu2_hydroxide(
    shared_data, tmp_path, capsys
):
    """`solve` from cell, symmetry and formula (as solve_benchmark's --corpus-measured): the
    model counted the μ2-O two H (p 0.58 against 0.38), and the reflections took the second off
    (its map shows one: 3.2 rms, the other direction −0.3; Hamilton's test); the bond valence
    its two Al give it (1.1 v.u.) now leaves room for one alone, the count its map confirms, and
    the other five O, bonded to Si, stay bare. The job still ends without a solution (R1 0.136:
    the author's OMITs, test_outliers)."""
    from benchmarks.solve_benchmark import user_start
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.shelx_write import new_ins_text

    start, _ = user_start(read_cif(MICA).structure)
    (tmp_path / "mica.ins").write_text(new_ins_text(start))
    main(["solve", str(tmp_path / "mica.ins"), str(MICA), "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    oxygens = [a for a in report["atoms"] if a["element"] == "O"]
    assert sorted(a["h_count"] for a in oxygens) == [0, 0, 0, 0, 0, 1]
    (hydroxide,) = [a for a in oxygens if a["h_count"]]
    assert hydroxide["note"].startswith("OH bonded only to metals (hydroxide ligand)")


def test_a_metal_site_empty_in_most_cells_holds_back_no_h():
    """geometry.vacant_metal: a metal under half as occupied as the O beside it, outside any
    PART (M1 of the mica, 0.064 beside a full O), is empty in most cells holding the O; a
    mixed site whose atoms fill it, a PART's alternative, a partly occupied non-metal and a
    metal as partly occupied as its ligand are not."""
    from dataclasses import replace

    from crystalx_core.geometry import present_bonds, vacant_metal

    al = Site("Al1", "Al", (0.5, 0.5, 0.5))
    o = Site("O1", "O", (0.5, 0.5, 0.6))
    assert vacant_metal(replace(al, occupancy=0.064), o)
    assert not vacant_metal(al, o)
    assert not vacant_metal(replace(al, occupancy=0.3, part=1), o)
    assert not vacant_metal(Site("C1", "C", (0, 0, 0), occupancy=0.2), o)
    mixed = replace(al, occupancy=0.4, mixed=(Site("Ti1", "Ti", (0.5, 0.5, 0.5), occupancy=0.6),))
    assert not vacant_metal(mixed, o)
    assert not vacant_metal(replace(al, occupancy=0.3), replace(o, occupancy=0.3))
    structure = _cluster(["Al", "Al", "Al"], 2.1)  # 0.59 v.u. from two Al: room left for two
    structure = structure.with_sites(
        [*structure.sites[:3], replace(structure.sites[3], occupancy=0.064)]
    )
    bonds = connectivity(structure)
    present = present_bonds(structure, structure.sites[0], bonds[0])
    assert [structure.sites[c.j].label for c in present] == [
        "Al1",
        "Al2",
    ]
    # counted as the μ2-O it is in most cells: room for two, the rules' one
    assert h_room(structure, structure.sites[0], bonds[0]) == 2
    full = _cluster(["Al", "Al", "Al"], 2.1)  # with the third Al counted: room for one
    assert h_room(full, full.sites[0], connectivity(full)[0]) == 1
    assert baseline_h_counts(structure)[0] == 1


def test_the_mu2_prior_turns_an_unsure_two_into_one_and_keeps_a_sure_mu_aqua():
    """assign.model weighs the hydrogen model's counts for a μ2-O by MU2_COUNTS (add-one: 7/17,
    9/17, 1/17): the mica's 0.26/0.71 for one/two becomes one; a model sure of a μ-aqua (0.95)
    keeps its two between metals as far as a μ-aqua's (Mn-O 2.20 Å: 0.59 v.u.), not between two
    Al at 1.95 Å (0.89 v.u.: room for one H, baseline.metal_oxygen_room); an O with an M=O bond
    (V–O 1.60 Å) is not weighed by the prior, and its bond valence (2.0 v.u.) leaves no H."""
    from crystalx_core.assign.model import _placeable

    counts = [0, 1, 2, 3, 4]
    sure = (0.02, 0.03, 0.95, 0, 0)
    for given, metal, distance, expected in [
        ((0.02, 0.26, 0.71, 0.01, 0.0), "Mn", 2.2, 1),
        (sure, "Mn", 2.2, 2),
        (sure, "Al", 1.95, 1),
    ]:
        structure = _cluster([metal, metal], distance)
        bonds = connectivity(structure)
        probabilities = np.zeros((3, 5))
        probabilities[0] = given
        probabilities[1:, 0] = 1.0
        weighed = _placeable(probabilities, structure, bonds, counts)
        assert counts[int(weighed[0].argmax())] == expected
        assert weighed[0, 3:].sum() == 0.0  # room for two at most
    oxo = _cluster(["V", "V"])
    oxo = oxo.with_sites([oxo.sites[0], oxo.sites[1], oxo.sites[2]])
    position = 0.5 + 1.60 * np.array([1, 1, 1]) / np.sqrt(3) / 30.0
    oxo = oxo.with_sites([oxo.sites[0], replace_frac(oxo.sites[1], position), oxo.sites[2]])
    bonds = connectivity(oxo)
    probabilities = np.zeros((3, 5))
    probabilities[0] = (0.9, 0.08, 0.02, 0, 0)
    probabilities[1:, 0] = 1.0
    weighed = _placeable(probabilities, oxo, bonds, counts)
    assert weighed[0, :3] == pytest.approx([1.0, 0.0, 0.0])
    from crystalx_core.assign.baseline import metal_oxygen_prior

    assert metal_oxygen_prior(oxo, oxo.sites[0], bonds[0]) is None


def replace_frac(site: Site, frac) -> Site:
    from dataclasses import replace

    return replace(site, frac=tuple(float(x) for x in frac))


def test_a_partly_occupied_metal_stays_bonded_to_its_as_partly_occupied_ligand(shared_data):
    """sfarchiv2_2004954 (Sr(ReO4)2·H2O, no PART): the minor Re4b (0.423) and its terminal oxo
    O44b (0.423) are there in the same cells, so the Re=O bond is kept for O44b (its H kept off
    it); for the full O41 the Re4b site is empty in most cells and dropped."""
    from crystalx_core.geometry import present_bonds
    from crystalx_core.io.cif import read_cif

    structure = read_cif(CORPUS / "sfarchiv2_2004954.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    bonds = connectivity(heavy)
    labels = [s.label for s in heavy.sites]

    def present(label):
        i = labels.index(label)
        return {heavy.sites[c.j].label for c in present_bonds(heavy, heavy.sites[i], bonds[i])}

    assert "Re4b" in present("O44b")
    assert "Re4b" not in present("O41")


# the corpus structures holding H with an O that metal_oxygen_prior weighs
# (benchmarks/metal_oxygen_counts.py over the whole corpus finds these alone)
WEIGHED = [
    "codtools_1552546.cif",
    "codtools_2310693.cif",
    "codtools_9000905.cif",
    "codtools_9008099.cif",
    "codtools_ic0485312si20041025_103940_5-ED.cif",
    "sfarchiv2_2004881.cif",
    "sfarchiv2_2004903.cif",
]


def test_the_mu2_prior_holds_the_published_counts_of_the_o_it_weighs(shared_data):
    """MU2_COUNTS is what the published models give the O metal_oxygen_prior weighs, read as
    the training reads the corpus (major part, dataset.h_counts) and as assign.model reads the
    bonds: 2310693's O3, two Al and a K, is one of them (it once held 7 with one H, the
    two-metal row's, not the prior's own)."""
    from collections import Counter

    from benchmarks.metal_oxygen_counts import weighed_counts
    from crystalx_core.assign.baseline import MU2_COUNTS
    from crystalx_core.geometry import one_alternative
    from crystalx_core.training.atoms.dataset import h_counts, usable
    from crystalx_core.training.sources import corpus_entries

    found: Counter = Counter()
    for entry in corpus_entries(CORPUS):
        if entry.name in WEIGHED:
            truth, _ = usable(entry, "major")
            heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
            alternative = one_alternative(heavy, connectivity(heavy))
            found.update(weighed_counts(heavy, h_counts(truth), alternative))
    assert {n: found[n] for n in MU2_COUNTS} == MU2_COUNTS
    assert sum(found.values()) == sum(MU2_COUNTS.values())


@pytest.mark.parametrize(
    "name, label, published",
    [
        ("codtools_2204368", "O7", 0),  # μ3-O between three Sn (2.04, 2.04, 2.18 Å), flat
        ("finalcif_1517016", "O13", 0),  # the μ3-O of a Mn3O core (1.82, 1.83, 2.14 Å), flat
        ("codtools_9008099", "O6", 1),  # a pyramidal μ3-OH between Cu and two Al
    ],
)
def test_rules_count_a_mu3_oxygen_by_its_shape(shared_data, name, label, published):
    """A flat μ3-O (an sp2 O: angle sum at least PLANAR_SUM) has no H, a pyramidal μ3-O one, as
    the published models of these corpus CIFs have them (the rules once gave each a water's
    two)."""
    from crystalx_core.geometry import bonded_h_counts
    from crystalx_core.io.cif import read_cif

    structure = read_cif(CORPUS / f"{name}.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    k = [s.label for s in heavy.sites].index(label)
    assert bonded_h_counts(structure)[k] == published
    assert baseline_h_counts(heavy)[k] == published
