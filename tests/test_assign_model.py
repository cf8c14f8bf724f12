"""The model assignment path: SFAC restriction, two passes, coverage, top-k, H counts.

Mechanics are checked with small randomly initialised models exported on the fly (so they
run wherever the train extra is installed); quality is checked on the shipped models.
"""

from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.assign.model import MODEL_DIR, assign_model, model_h_counts
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK


@pytest.fixture(scope="module")
def random_models(tmp_path_factory):
    pytest.importorskip("torchmdnet")
    import torch

    from crystalx_core.training.atoms.export import export_onnx
    from crystalx_core.training.atoms.model import AtomClassifier, ModelConfig
    from crystalx_core.training.atoms.train import ELEMENT_CLASSES, HYDROGEN_CLASSES

    directory = tmp_path_factory.mktemp("models")
    for name, classes in (("heavy", ELEMENT_CLASSES), ("hydrogen", HYDROGEN_CLASSES)):
        torch.manual_seed(1)
        config = ModelConfig(classes=classes, hidden_channels=16, num_layers=1, num_heads=2)
        export_onnx(AtomClassifier(config), config, directory / f"{name}.onnx")
    return str(directory)


def _peaks_of(entry):
    """The published non-H atoms of a benchmark entry turned into anonymous peaks."""
    truth = read_cif(BENCHMARK / entry / "model.cif").structure
    heavy = [s for s in truth.sites if s.element not in ("H", "D")]
    from crystalx_core.elements import atomic_number

    peaks = [s.with_element(None, f"Q{k + 1}") for k, s in enumerate(heavy)]
    for peak, atom in zip(peaks, heavy):
        peak.peak_height = float(atomic_number(atom.element))
    return truth, truth.with_sites(peaks), heavy


def test_answer_uses_only_sfac_elements_and_covers_each(shared_data, random_models):
    truth, peaks, _ = _peaks_of("N2_water")  # C, H, Mn, N, O, S
    for penalty in (None, 3.0):
        answer = assign_model(peaks, random_models, penalty=penalty)
        elements = {s.element for s in answer.sites}
        assert elements <= {"C", "Mn", "N", "O", "S"}
        assert {"C", "Mn", "N", "O", "S"} <= elements | {
            peaks.sites[i].label for i in answer.dropped
        }
        not_top = 0
        for site in answer.sites:
            assert 1 <= len(site.element_scores) <= 5
            assert set(site.element_scores) <= {"C", "Mn", "N", "O", "S", "Q"}
            assert all(0.0 <= p <= 1.0 for p in site.element_scores.values())
            not_top += site.element != max(site.element_scores, key=site.element_scores.get)
        if penalty is None:
            assert (
                not_top <= 5
            )  # without the formula only the coverage rule overrules the top class


def test_hydrogen_counts_come_with_probabilities(shared_data, random_models):
    truth, _, heavy = _peaks_of("XH_alanine")
    from crystalx_core.assign.model import FORMULA_MIN_PROBABILITY

    alone = model_h_counts(truth.with_sites(heavy), random_models, penalty=None)
    assert len(alone) == len(heavy)
    for n, scores in alone:
        assert 0 <= n <= 4 and n == max(scores, key=scores.get)
        assert all(0.0 <= p <= 1.0 for p in scores.values())
    for (n, scores), (most_likely, _) in zip(
        model_h_counts(truth.with_sites(heavy), random_models), alone
    ):
        assert (
            n == most_likely or scores.get(n, 0.0) >= FORMULA_MIN_PROBABILITY
        )  # the formula picks a plausible count


def test_missing_model_is_a_clear_error(tmp_path):
    from crystalx_core.errors import CrystalXError

    structure = (
        read_shelx(BENCHMARK / "FC_sucrose" / "published.res").to_structure()
        if BENCHMARK.is_dir()
        else pytest.skip()
    )
    with pytest.raises(CrystalXError, match="model file not found"):
        assign_model(structure, str(tmp_path))


shipped = pytest.mark.skipif(
    resolve_method("auto") != "model", reason="no shipped models in onnx_models/"
)


@shipped
def test_an_element_past_the_models_classes_says_what_to_do(tmp_path):
    """Cf(CO)6 (cryspy/mofchecker's GUPQOA.cif, session 19's sweep): Cf is past the heavy
    model's last class (Pu); the job names the element, the range and the baseline."""
    from crystalx_core.errors import CrystalXError

    path = tmp_path / "cf.ins"
    path.write_text(
        "TITL cf\nCELL 0.71073 10 10 10 90 90 90\nZERR 4 0 0 0 0 0 0\nLATT -1\n"
        "SFAC C O Cf\nUNIT 24 24 4\n"
        "Cf1 3 0.0 0.0 0.0 11.0 0.02\nC1 1 0.2 0.0 0.0 11.0 0.03\n"
        "O1 2 0.31 0.0 0.0 11.0 0.04\nHKLF 4\nEND\n"
    )
    told = r"no class for Cf \(it knows H to Pu\).*--method baseline"
    with pytest.raises(CrystalXError, match=told):
        assign_model(read_shelx(path).to_structure())


@shipped
@pytest.mark.parametrize("entry", ["FC_sucrose", "XH_HMaMg", "N2_water", "XH_xylitol"])
def test_shipped_model_types_published_atoms(shared_data, entry):
    """Published non-H atoms as peaks with elements hidden (heights = Z): every element right."""
    _, peaks, heavy = _peaks_of(entry)
    answer = assign_model(peaks).by_index()
    right = sum(
        1 for k, atom in enumerate(heavy) if k in answer and answer[k].element == atom.element
    )
    assert right / len(heavy) >= 0.95, (right, len(heavy))


@shipped
def test_a_disordered_model_keeps_its_elements(shared_data):
    """FC p21c as published: two CF3 orientations at 0.48/0.52 and 0.56/0.44 as PART 1 and 2.
    Alternatives are kept apart in the model's graph and count against UNIT by occupancy;
    seen together, C1 next to six F looked like Al, and the Ga+ between two arenes like C."""
    structure = read_shelx(BENCHMARK / "FC_p21c" / "published.res").to_structure()
    assert {s.part for s in structure.sites} == {0, 1, 2}
    heavy = [s for s in structure.sites if s.element != "H"]
    answer = assign_model(structure)
    assert not answer.dropped
    assert [a.element for a in answer.sites] == [s.element for s in heavy]


@shipped
def test_shipped_hydrogen_model_counts_published_h(shared_data):
    from crystalx_core.training.atoms.dataset import h_counts

    total = right = 0
    for entry in ["FC_sucrose", "XH_alanine", "XH_xylitol", "N2_water", "XH_urea"]:
        truth = read_cif(BENCHMARK / entry / "model.cif").structure
        expected = h_counts(truth)
        predicted = [
            n
            for n, _ in model_h_counts(
                truth.with_sites([s for s in truth.sites if s.element != "H"])
            )
        ]
        right += int(np.sum(np.array(expected) == np.array(predicted)))
        total += len(expected)
    assert right / total >= 0.9, (right, total)
    assert MODEL_DIR.is_dir()


def test_height_tokens_follow_relative_peak_heights(shared_data, tmp_path):
    """A heavy model with height tokens reads each peak's height relative to the typical
    atom: scaling the whole map changes nothing, raising one peak changes its answer."""
    pytest.importorskip("torchmdnet")
    import torch

    from crystalx_core.features import HEIGHT_BINS, MAX_Z
    from crystalx_core.training.atoms.export import export_onnx
    from crystalx_core.training.atoms.model import AtomClassifier, ModelConfig
    from crystalx_core.training.atoms.train import ELEMENT_CLASSES, HYDROGEN_CLASSES

    for name, classes, extra in (
        ("heavy", ELEMENT_CLASSES, {"height_tokens": True, "max_z": MAX_Z * HEIGHT_BINS}),
        ("hydrogen", HYDROGEN_CLASSES, {}),
    ):
        torch.manual_seed(2)
        config = ModelConfig(
            classes=classes, hidden_channels=16, num_layers=1, num_heads=2, **extra
        )
        export_onnx(AtomClassifier(config), config, tmp_path / f"{name}.onnx")
    _, peaks, _ = _peaks_of("XH_alanine")

    def scores(structure):
        answer = assign_model(structure, str(tmp_path), penalty=None).by_index()
        return [
            answer[k].element_scores if k in answer else None for k in range(len(structure.sites))
        ]

    def scaled(factor, only=None):
        return peaks.with_sites(
            [
                _with_height(s, s.peak_height * (factor if only in (None, k) else 1.0))
                for k, s in enumerate(peaks.sites)
            ]
        )

    base = scores(peaks)
    assert scores(scaled(3.0)) == base
    raised = scores(scaled(4.0, only=0))
    assert raised[0] != base[0]


@shipped
def test_the_strongest_peaks_of_a_map_are_atoms(shared_data):
    """FC_p21c's Ga+ sits between two arenes at 2.9 Å, bonded to nothing: the model alone
    calls the map's strongest peak (Fobs map, measured data) "not an atom". No spurious peak
    is that strong, so it stays an atom, and is Ga. Beside atoms already assigned, peaks are
    residual density and the rule does not apply."""
    from crystalx_core.assign.model import strong_peaks
    from crystalx_core.crystallography.maps import fobs_peaks
    from crystalx_core.io.hkl import read_hkl

    truth, _, heavy = _peaks_of("FC_p21c")
    peaks = fobs_peaks(truth, read_hkl(BENCHMARK / "FC_p21c" / "data.hkl"))
    ga = [s.label for s in heavy].index("Ga1")

    def heights(structure):
        return [s.peak_height if s.is_peak else None for s in structure.sites]

    strong = strong_peaks(heights(peaks))
    assert strong[ga] and 1 < strong.sum() < len(heavy)
    assert assign_model(peaks).by_index()[ga].element == "Ga"
    residual = peaks.with_sites(
        [atom if k != ga else peak for k, (atom, peak) in enumerate(zip(heavy, peaks.sites))]
    )
    assert not strong_peaks(heights(residual)).any()


@shipped
def test_a_disordered_model_read_from_its_fobs_map_keeps_its_alternatives(shared_data):
    """FC_p21c (Fobs map, measured data): 56 of its 104 sites, two of its perfluoro-tert-butoxy
    groups, are split into PART 1 and 2 near 50:50, some alternatives 0.1-0.2 Å apart. Read as
    whole atoms in contact (peaks without PART or occupancy, as fobs_peaks gave them), 19 of them
    were dropped as 'not an atom': the formula, which counts them by occupancy in UNIT, saw them
    as surplus. With the model's split kept, each alternative is read alone and every one keeps
    an element."""
    from crystalx_core.crystallography.maps import fobs_peaks
    from crystalx_core.io.hkl import read_hkl

    truth, _, heavy = _peaks_of("FC_p21c")
    peaks = fobs_peaks(truth, read_hkl(BENCHMARK / "FC_p21c" / "data.hkl"))
    answer = assign_model(peaks).by_index()
    disordered = [k for k, s in enumerate(heavy) if s.part]
    assert len(disordered) == 56 and all(k in answer for k in disordered)
    right = sum(1 for k, s in enumerate(heavy) if k in answer and answer[k].element == s.element)
    assert right >= 100, right


@shipped
@pytest.mark.parametrize("entry", ["N2_thpp", "SXF_I43d"])
def test_a_partly_occupied_site_of_a_fobs_map_is_an_atom(shared_data, entry):
    """Minor alternatives of a disordered model (N2_thpp's C6A and C7B at 0.139, SXF_I43d's
    C40, C41 and N42 at 0.25; measured data) are weak peaks because they are a fraction of an
    atom: the model called each 'not an atom'. Only a refinement gives an occupancy below one (a
    Q-peak's sof below 1 is only its site-symmetry factor, which the readers divide out), so in
    a map's peak list each keeps an element, and every one is the published one."""
    from crystalx_core.crystallography.maps import fobs_peaks
    from crystalx_core.io.hkl import read_hkl

    truth, _, heavy = _peaks_of(entry)
    peaks = fobs_peaks(truth, read_hkl(BENCHMARK / entry / "data.hkl"))
    answer = assign_model(peaks).by_index()
    partial = [k for k, s in enumerate(heavy) if s.occupancy < 1]
    assert partial and all(k in answer for k in partial)
    labels = {"N2_thpp": ["C6A", "C7B"], "SXF_I43d": ["C40", "C41", "N42"]}[entry]
    for label in labels:
        k = [s.label for s in heavy].index(label)
        assert answer[k].element == heavy[k].element, label


# SXF_I43d's own residual Q11 (0.13 e/Å3 on the 3-fold axis), as SHELXL writes it: the sof
# 10.33333 is the site-symmetry factor, which the readers divide out (0.33333 × 48 / 16).
I43D_Q11 = "Q11   1   0.4272  0.4272  0.4272  10.33333  0.05    0.13\n"


@shipped
def test_a_residual_peak_on_a_special_position_may_be_noise(shared_data, tmp_path):
    """SHELXL writes a Q-peak on a special position with a reduced sof; read back as a chemical
    occupancy it is 0.99999, not one. Beside the refined atoms it is residual density, which
    no occupancy rule vouches for: SXF_I43d's Q11 moved above HKLF stays "not an atom" (it
    became Cl when any occupancy below one counted as a refined site)."""
    text = (BENCHMARK / "SXF_I43d" / "published.res").read_text()
    res = tmp_path / "q11.res"
    res.write_text(text.replace("HKLF 4", I43D_Q11 + "HKLF 4", 1))
    structure = read_shelx(res).to_structure()
    q11 = [s.label for s in structure.sites].index("Q11")
    assert 0.999 < structure.sites[q11].occupancy < 1
    answer = assign_model(structure)
    assert q11 in answer.dropped, answer.by_index()[q11].element


@shipped
def test_a_snapshot_peak_on_a_special_position_beside_atoms_may_be_noise(shared_data):
    """The Olex2 path: Olex2's occupancy carries the site-symmetry factor (0.333333 on a
    3-fold of I-43d), which structure_from_snapshot divides out to 0.999999. Beside atoms the
    peak is residual density and may still be "not an atom"."""
    from crystalx_core.service import structure_from_snapshot
    from tests.test_service import snapshot_of

    snapshot = snapshot_of(read_cif(BENCHMARK / "SXF_I43d" / "model.cif").structure, peaks=False)
    snapshot["sites"].append(
        {"label": "Q11", "element": None, "frac": [0.4272] * 3, "occupancy": 0.333333}
        | {"peak_height": 0.13}
    )
    structure = structure_from_snapshot(snapshot)
    q11 = len(structure.sites) - 1
    assert 0.999 < structure.sites[q11].occupancy < 1
    assert q11 in assign_model(structure).dropped


def test_the_refined_site_rule_reads_only_a_peak_list(shared_data):
    """An occupancy below one marks a refined site only in a map's peak list, and only below
    1 - 1e-3 (a sof written to five decimals, divided by its site-symmetry factor, is 0.99999);
    a peak beside atoms is residual density, whatever its occupancy."""
    from crystalx_core.assign.model import _refined_sites

    _, peaks, heavy = _peaks_of("N2_water")
    sites = [replace(s, occupancy=o) for s, o in zip(peaks.sites, [0.5, 0.99999])]
    listed = peaks.with_sites(sites + peaks.sites[2:])
    assert _refined_sites(listed)[:2].tolist() == [True, False]
    assert not _refined_sites(listed)[2:].any()
    beside = peaks.with_sites(sites + heavy[2:])
    assert not _refined_sites(beside).any()


def _with_height(site, height):
    from dataclasses import replace

    return replace(site, peak_height=height)


@shipped
def test_h_counts_follow_the_formula(shared_data):
    """XH_HMaMg: UNIT has 9 H per asymmetric unit, the most likely counts 8; the ninth is the
    hydrogen maleate's, and goes to one of its two carboxylate O (published: O1, in the short
    O1···H1···O2 bond). A formula short of H never hangs H on the Mg."""
    truth = read_cif(BENCHMARK / "XH_HMaMg" / "model.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    alone = dict(
        zip((s.label for s in heavy.sites), (n for n, _ in model_h_counts(heavy, penalty=None)))
    )
    fitted = dict(zip((s.label for s in heavy.sites), (n for n, _ in model_h_counts(heavy))))
    assert sum(alone.values()) == 8 and sum(fitted.values()) == 9
    assert {k for k in fitted if fitted[k] != alone[k]} == {"O1"}
    more_h = replace(
        heavy, unit=[n * 2 if el == "H" else n for el, n in zip(heavy.sfac, heavy.unit)]
    )
    assert (
        dict(zip((s.label for s in heavy.sites), (n for n, _ in model_h_counts(more_h))))["Mg1"]
        == 0
    )


def test_h_counts_are_restricted_to_what_an_atom_has_room_for(shared_data):
    """A C with three bonded non-metals can take one H at most, an O with two one, whatever
    the network says (the demo's baseline once swapped a C and an O, and the model then
    asked for a CH2 on a three-connected C that no riding model can place); a flat C or N
    with three (the carboxylate C3, angle sum 360°) none (baseline._planar_three)."""
    from crystalx_core.assign.baseline import MAX_BONDS, NO_H_ROOM_SUM
    from crystalx_core.assign.model import _placeable
    from crystalx_core.geometry import angle_sum, connectivity

    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    restricted = _placeable(
        np.full((len(heavy.sites), 5), 0.2), heavy, connectivity(heavy), [0, 1, 2, 3, 4]
    )
    assert np.allclose(restricted.sum(axis=1), 1.0)
    for site, contacts, row in zip(heavy.sites, connectivity(heavy), restricted):
        room = MAX_BONDS[site.element] - len(contacts)
        centre = heavy.cartesian(site.frac)
        if len(contacts) == 3 and angle_sum(centre, [c.cart_j for c in contacts]) >= NO_H_ROOM_SUM:
            room = 0
        assert (row[: room + 1] > 0).all() and (row[room + 1 :] == 0).all(), (site.label, row)


def test_the_cage_atoms_of_a_carborane_keep_the_exo_h_the_model_gives(shared_data):
    """COD B607768D 3b/4 (ferra- and ruthenacarboranes): the hydrogen model gives every cage
    B its exo H at 0.999, but the room rule counted four valence bonds against a cage atom's
    five or six neighbours and left it none: all 35 cage B went without H (the default
    `--hydrogens auto` placed 32 of 48 H on 3b). Cage atoms have room for the exo H
    (baseline.h_room), none where a substituent takes the exo bond (3b's apex C1-OH)."""
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts

    for name in ("codtools_B607768D_3b", "codtools_B607768D_4"):
        model = read_cif(shared_data / "corpus" / f"{name}.cif").structure
        heavy = model.with_sites([s for s in model.sites if s.element != "H"])
        predicted = [n for n, _ in model_h_counts(heavy)]
        published = bonded_h_counts(model, H_BOND_MAX)
        cage = [k for k, s in enumerate(heavy.sites) if s.element == "B"]
        assert len(cage) >= 14 and [predicted[k] for k in cage] == [1] * len(cage), name
        assert predicted == published, name


def test_an_atom_bonded_to_two_alternatives_counts_one(shared_data):
    """COD 2105019 C4 and bs5068 C4 (PART 0) are bonded to O3 (PART 1) and O3' (PART 2), or to
    C3 and C3': one neighbour in either model, but counted as two bonds, so the CH2 had room
    for one H (the rules and the model both gave 1; published 2). Each site's bonds are now
    those of one alternative (geometry.one_alternative), for the rules and the room."""
    from crystalx_core.assign.baseline import baseline_h_counts
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts
    from crystalx_core.riding import add_riding_hydrogens

    for name, label in [
        ("codtools_2105019-symmetry-and-disorder", "C4"),
        ("codtools_bs5068-estimated-sg_3", "C4"),
    ]:
        model = read_cif(shared_data / "corpus" / f"{name}.cif").structure
        heavy = model.with_sites([s for s in model.sites if s.element != "H"])
        k = [s.label for s in heavy.sites].index(label)
        assert bonded_h_counts(model, H_BOND_MAX)[k] == 2
        assert baseline_h_counts(heavy)[k] == 2, name
        assert model_h_counts(heavy)[k][0] == 2, name
        # riding places the CH2's H in each PART, on the bonds of that alternative
        plan = add_riding_hydrogens(heavy, {k: 2})
        assert "each PART" in plan.notes[k] and plan.codes[k] == 23
        assert sorted(plan.structure.sites[j].part for j in plan.groups[k]) == [1, 1, 2, 2]


@pytest.mark.parametrize(
    "name, label, published",
    [
        ("sfarchiv2_2004990", "C(7)", 2),  # W-CH2-SiMe3: was CH3
        ("codtools_b204675j-decomposition-range__D_-3", "C5", 2),  # Sn-CH2-C: was CH3
        ("codtools_2000318-r91933", "N(2)", 2),  # Pt-NH2-C: was NH3
        ("sfarchiv2_2004999", "C(27)", 0),  # Rh-C(C)3: was CH
    ],
)
def test_a_bond_to_a_metal_takes_one_of_four(shared_data, name, label, published):
    """The room a C or N has for H counted its non-metal neighbours only, so a W-CH2-Si looked
    like a methyl, Pt-NH2-C like an ammonium and Rh-C(C)3 like a CH, and the model's count of
    one H more than published stood. A bond to a metal outside groups 1-2 takes one of the
    atom's four (baseline.valence_room); a K+ or Mg2+ beside a methyl is no such bond."""
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts

    model = read_cif(shared_data / "corpus" / f"{name}.cif").structure
    heavy = model.with_sites([s for s in model.sites if s.element != "H"])
    k = [s.label for s in heavy.sites].index(label)
    assert bonded_h_counts(model, H_BOND_MAX)[k] == published
    assert model_h_counts(heavy)[k][0] == published


@pytest.mark.parametrize(
    "name, labels, published",
    [("codtools_4320780-negative-value", ["B1", "B2"], 2)],  # H2B(pz)2 on U: was 0
)
def test_geometry_settles_a_tetrahedral_boron(shared_data, name, labels, published):
    """A B the corpus hardly holds, where the model followed its rule token 0: a tetrahedral B
    outside a cage, bonded to no metal, B or halogen, fills its bonds with H (baseline.h_fixed,
    whatever the model gives, the formula fit included)."""
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts

    model = read_cif(shared_data / "corpus" / f"{name}.cif").structure
    heavy = model.with_sites([s for s in model.sites if s.element != "H"])
    names = [s.label for s in heavy.sites]
    published_counts, counts = bonded_h_counts(model, H_BOND_MAX), model_h_counts(heavy)
    for label in labels:
        assert published_counts[names.index(label)] == published
        assert counts[names.index(label)][0] == published, label


def test_the_rules_give_an_alkyl_on_a_metal_two_h(shared_data):
    """The rules' side of the same fact: a C bonded to a metal and one more atom is CH2."""
    from crystalx_core.assign.baseline import baseline_h_counts

    for name, label in [
        ("sfarchiv2_2004990", "C(7)"),
        ("codtools_b204675j-decomposition-range__D_-3", "C5"),
    ]:
        model = read_cif(shared_data / "corpus" / f"{name}.cif").structure
        heavy = model.with_sites([s for s in model.sites if s.element != "H"])
        assert baseline_h_counts(heavy)[[s.label for s in heavy.sites].index(label)] == 2


def test_a_disordered_model_counts_against_unit_as_its_unit_says(shared_data):
    """SXF_I43d: C20 and C26 are PART -1 quarter sites whose images lie 0.04 and 0.46 Å apart
    across a two-fold axis. The reader turned their sof into occupancy with the exact
    multiplicity (48); counted with a peak's tolerance (24) they were half an atom short, and
    the formula saw C 13.17 in the asymmetric unit for UNIT's 13.42."""
    from crystalx_core.assign.model import site_weights

    structure = read_cif(BENCHMARK / "SXF_I43d" / "model.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element not in ("H", "D")])
    counted: dict[str, float] = {}
    for site, weight in zip(heavy.sites, site_weights(heavy)):
        counted[site.element] = counted.get(site.element, 0.0) + weight
    unit = {el: n for el, n in structure.asymmetric_unit_contents().items() if el in counted}
    assert counted == pytest.approx(unit, abs=1e-3)


def test_the_hydrogen_model_reads_a_flat_disordered_ring_as_aromatic(shared_data):
    """SXF_I43d's quarter-occupied toluene and benzene (ring bonds 1.43-1.55 Å): the rules'
    tokens said CH2 for every ring CH and the model followed them (p(2) 0.98-0.99); with the
    rules reading the flat rings as aromatic (assign.baseline), the model, UNIT's H fitted,
    gives the published counts, the methyl C26 and the acetonitrile's C40 (no H) included."""
    from crystalx_core.training.atoms.dataset import h_counts

    structure = read_cif(BENCHMARK / "SXF_I43d" / "model.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    names = [s.label for s in heavy.sites]
    got = [n for n, _ in model_h_counts(heavy)]
    truth = h_counts(structure)
    labels = [f"C{k}" for k in (*range(20, 27), *range(30, 36), 40, 41)] + ["N42"]
    assert [got[names.index(x)] for x in labels] == [truth[names.index(x)] for x in labels]


def test_the_alternatives_of_a_split_atom_carry_one_h_count(shared_data):
    """N2_thpp: C6 (PART 1, 86 %) and C6A (PART 2, 14 %, 0.45 Å away) are one CH2 in two places.
    The minor site's strained geometry (N5–C6A 1.38 Å) made it a CH (p 0.95) beside C6's CH2;
    weighed by occupancy the pair is a CH2, as published. C7A/C7B agreed already."""
    from crystalx_core.training.atoms.dataset import h_counts

    structure = read_cif(BENCHMARK / "N2_thpp" / "model.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    names = [s.label for s in heavy.sites]
    got = dict(zip(names, (n for n, _ in model_h_counts(heavy))))
    truth = dict(zip(names, h_counts(structure)))
    assert (
        [got[x] for x in ("C6", "C6A", "C7A", "C7B")]
        == [truth[x] for x in ("C6", "C6A", "C7A", "C7B")]
        == [2] * 4
    )


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("finalcif_1503204", ("C74A", "C78B")),  # PART 1, 3 neighbours, no H / PART 2, CH
        ("codtools_jo030050x", ("C36", "C23", "C26")),  # PART 3 methyl / CH2 of PARTs 1, 2
    ],
)
def test_close_alternatives_with_other_neighbour_counts_keep_their_own_h(shared_data, name, labels):
    """Close sites of one element in different PARTs are one split atom only when they have
    as many neighbours: pooled, the quaternary C74A made C78B's published CH a C, and the
    methyl C36 took the CH2 count of the ring C23/C26 it overlaps."""
    from crystalx_core.training.atoms.dataset import h_counts
    from tests.conftest import CORPUS

    structure = read_cif(CORPUS / f"{name}.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element not in ("H", "D")])
    names = [s.label for s in heavy.sites]
    got = dict(zip(names, (n for n, _ in model_h_counts(heavy))))
    truth = dict(zip(names, h_counts(structure)))
    assert [got[x] for x in labels] == [truth[x] for x in labels]


def test_a_split_group_holds_one_site_per_part():
    """A chain of close sites PART 1 - PART 2 - PART 1 is not one atom: the nearest pair is
    joined, and the far PART 1 site keeps its own probabilities."""
    from crystalx_core.assign.model import _split_atoms_agree
    from crystalx_core.structure import Site, Structure

    sites = [
        Site("C1", "C", (0.50, 0.5, 0.5), occupancy=0.5, part=1),
        Site("C2", "C", (0.54, 0.5, 0.5), occupancy=0.5, part=2),
        Site("C3", "C", (0.59, 0.5, 0.5), occupancy=0.5, part=1),
    ]
    structure = Structure(cell=(10, 10, 10, 90, 90, 90), symops=["x,y,z"], sites=sites)
    probabilities = np.array([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    agreed = _split_atoms_agree(structure, probabilities, [[], [], []])  # no bonds: alike
    assert np.allclose(agreed[0], agreed[1]) and np.allclose(agreed[0], [0.7, 0.3])
    assert np.allclose(agreed[2], probabilities[2])


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_a_missing_element_takes_the_atom_the_formula_fit_loses_least_by(shared_data):
    """sfarchiv2_2004902 (validation split, a Ni complex with one O in UNIT), simulated as
    atoms.evaluate does (+0.1 Å, seed 9): the model calls the O an N at 0.996, one N more than
    UNIT's, and the formula alone cannot move it (a swap costs two count penalties). Covering
    the missing O used to take the C likeliest to be O (0.094), two atoms wrong; by the fit's
    own cost the surplus N becomes the O and every atom is right."""
    from pathlib import Path

    from crystalx_core.elements import symbol
    from crystalx_core.training.atoms.dataset import usable
    from crystalx_core.training.atoms.evaluate import _name_number
    from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks
    from crystalx_core.training.sources import corpus_entries

    (entry,) = [
        e for e in corpus_entries(Path(shared_data) / "corpus") if e.name == "sfarchiv2_2004902.cif"
    ]
    truth, _ = usable(entry)
    rng = np.random.default_rng([9, _name_number(truth.source)])
    sim = simulate_peaks(truth, SimulationSettings(extra_noise=0.1), rng)
    answer = assign_model(sim.structure).by_index()
    wrong = [
        (k, symbol(z), answer[k].element if k in answer else None)
        for k, z in enumerate(sim.targets)
        if z and (k not in answer or answer[k].element != symbol(z))
    ]
    assert wrong == []


def test_the_cover_moves_the_atom_cheapest_for_the_fit_and_without_one_the_likeliest():
    """The sfarchiv2_2004902 case in small: UNIT C2 N1 O1, the model calls one O an N at 0.996
    (two N) and no site O. With the fit's cost the surplus N becomes the O (both counts
    settle); without a formula the C likeliest to be O (0.094) does, as before move_costs,
    not the one whose probability falls least (log 0.5/0.08 < log 0.79/0.094)."""
    from crystalx_core.assign.composition import PENALTY
    from crystalx_core.assign.model import _cover_every_element

    classes = ["Q", "C", "N", "O"]
    c, n, o = 1, 2, 3
    probabilities = np.array(
        [
            [0.002, 0.001, 0.996, 0.001],  # the O called N
            [0.0, 0.0005, 0.999, 0.0005],  # the N
            [0.0, 0.79, 0.116, 0.094],  # a C, likeliest O
            [0.0, 0.5, 0.42, 0.08],  # a C less sure, less likely O, by less than it is C
        ]
    )
    choice = probabilities.argmax(axis=1)
    assert choice.tolist() == [n, n, c, c]
    allowed = np.ones(4, dtype=bool)
    fit = dict(counted={c: 2, n: 1, o: 1}, weights=np.ones(4), penalty=PENALTY, shortfall=True)
    covered = _cover_every_element(probabilities, choice, allowed, classes, fit, 1.0)
    assert covered.tolist() == [o, n, c, c]
    plain = _cover_every_element(probabilities, choice, allowed, classes, None, 1.0)
    assert plain.tolist() == [n, n, o, c]
    assert choice.tolist() == [n, n, c, c]  # the caller's choice is left as it was


def _operators(symbol: str) -> tuple[str, ...]:
    from cctbx import sgtbx

    group = sgtbx.space_group_info(symbol).group()
    return tuple(str(group(k)) for k in range(group.order_z()))


def test_the_smallest_site_is_the_space_groups_most_special_position():
    """One atom on the most special Wyckoff position, per asymmetric unit; the same in any
    setting (P21/n as P21/c, I2/a as C2/c)."""
    from crystalx_core.symmetry import smallest_site_share

    shares = {
        symbol: smallest_site_share(_operators(symbol))
        for symbol in ("P 1", "P 21 21 21", "P -1", "P 1 21/n 1", "I 1 2/a 1", "C 1 2/c 1")
    }
    assert shares == {
        "P 1": 1.0,
        "P 21 21 21": 1.0,
        "P -1": 0.5,
        "P 1 21/n 1": 0.5,
        "I 1 2/a 1": 0.5,
        "C 1 2/c 1": 0.5,
    }
    assert smallest_site_share(_operators("P -4 21 m")) == 0.25
    assert smallest_site_share(_operators("I -4 3 d")) == 0.25
    assert smallest_site_share(_operators("R -3 :H")) == pytest.approx(1 / 6)


def test_the_cover_gives_no_atom_to_a_trace_element():
    """COD 1552546 (a mica, C2/c): UNIT's Ti 0.2 of 7.8 Al in the cell shares the Al site;
    0.025 of an atom in the asymmetric unit, under half of the group's most special site (0.5
    there). Made to appear, it took a whole site (the solution's K): a cleaner cover, though the
    mica's solve ends the same without it. An element with a whole atom's share is covered."""
    from crystalx_core.assign.composition import PENALTY
    from crystalx_core.assign.model import _cover_every_element, trace_elements
    from crystalx_core.symmetry import smallest_site_share

    classes = ["Q", "Al", "K", "O", "Ti"]
    al, k, o, ti = 1, 2, 3, 4
    probabilities = np.array(
        [
            [0.0, 0.70, 0.25, 0.0, 0.05],  # the Al/Ti site
            [0.0, 0.01, 0.70, 0.0, 0.29],  # K on a two-fold axis
            [0.0, 0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, 0.0],
        ]
    )
    choice = probabilities.argmax(axis=1)
    weights = np.array([1.0, 0.5, 1.0, 1.0])
    counted = {al: 0.975, k: 0.5, o: 2.0, ti: 0.025}
    smallest = smallest_site_share(_operators("C 1 2/c 1"))
    assert trace_elements(counted, smallest) == {ti}
    fit = dict(counted=counted, weights=weights, penalty=PENALTY, shortfall=True)
    allowed = np.ones(5, dtype=bool)
    covered = _cover_every_element(probabilities, choice, allowed, classes, fit, smallest)
    assert covered.tolist() == [al, k, o, o]
    fit["counted"] = {**counted, ti: 0.3}  # a whole Ti on the two-fold axis would count 0.5
    covered = _cover_every_element(probabilities, choice, allowed, classes, fit, smallest)
    assert ti in covered.tolist()


def test_an_element_on_a_special_site_is_no_trace_when_no_peak_lies_on_it():
    """XH_urea (P-421m): UNIT's C and O are a quarter of an atom each in the asymmetric unit,
    each one atom on the -4 axis. A solution whose peaks all lie off the special positions
    (each site counts whole) made them 'trace' when the rule measured the smallest site from
    the peaks: the cover gave the model's missing C no atom. The group's -4 site counts 1/4."""
    from crystalx_core.assign.composition import PENALTY
    from crystalx_core.assign.model import _cover_every_element
    from crystalx_core.symmetry import smallest_site_share

    classes = ["Q", "C", "N", "O"]
    c, n, o = 1, 2, 3
    probabilities = np.array(
        [
            [0.0, 0.40, 0.60, 0.0],  # the C, called N
            [0.0, 0.05, 0.95, 0.0],  # the N
            [0.0, 0.0, 0.05, 0.95],  # the O
        ]
    )
    choice = probabilities.argmax(axis=1)
    assert choice.tolist() == [n, n, o]
    counted = {c: 0.25, n: 0.5, o: 0.25}
    fit = dict(counted=counted, weights=np.ones(3), penalty=PENALTY, shortfall=True)
    smallest = smallest_site_share(_operators("P -4 21 m"))
    covered = _cover_every_element(probabilities, choice, np.ones(4, bool), classes, fit, smallest)
    assert covered.tolist() == [c, n, o]


@pytest.mark.parametrize("name", ["FC_p31c", "FC_p21c", "SXF_I43d"])
def test_no_halogen_is_left_room_for_an_h(shared_data, name):
    """An H count the model gives a halogen is never kept, however likely: no riding model
    exists for one (SHELXL's AFIX/HFIX codes are for C, N, O, B, Si, S pivots) and a hydrohalide's
    H sits on its cation, so the formula fit, short of places for UNIT's H (unmodelled solvent),
    must not hang one on a C-F (FC_p21c's perfluoroalkoxy aluminate), a P-Cl or a chloride
    (FC_p31c, SXF_I43d). Every count is offered equally here, as a confused model would."""
    from crystalx_core.assign.model import _placeable
    from crystalx_core.geometry import connectivity, one_alternative

    published = read_shelx(BENCHMARK / name / "published.res").to_structure()
    heavy = published.with_sites([s for s in published.sites if s.element != "H"])
    counts = [0, 1, 2, 3]
    flat = np.full((len(heavy.sites), len(counts)), 1 / len(counts))
    placeable = _placeable(flat, heavy, one_alternative(heavy, connectivity(heavy)), counts)
    halogens = [k for k, s in enumerate(heavy.sites) if s.element in ("F", "Cl", "Br", "I")]
    assert halogens
    assert np.allclose(placeable[halogens, 0], 1.0)
    others = [k for k, s in enumerate(heavy.sites) if s.element == "C"]
    assert (placeable[others, 1:].sum(axis=1) > 0).any()  # the rest keep their room


def _simulated(shared_data, name: str, seed: int, noise: float):
    """A corpus structure's simulated solution, as atoms.evaluate makes it."""
    from pathlib import Path

    from crystalx_core.training.atoms.dataset import usable
    from crystalx_core.training.atoms.evaluate import _name_number
    from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks
    from crystalx_core.training.sources import corpus_entries

    (entry,) = [e for e in corpus_entries(Path(shared_data) / "corpus") if e.name == name]
    truth, _ = usable(entry)
    rng = np.random.default_rng([seed, _name_number(truth.source)])
    return simulate_peaks(truth, SimulationSettings(extra_noise=noise), rng)


def test_an_element_too_light_for_its_peak_is_not_allowed_there(shared_data):
    """sfcod_4060313 (validation split: [Au(C6Cl2F3)2]- around Tl+, a NBu4+ counter-ion),
    simulated as atoms.evaluate does (seed 8, no extra noise): its Tl and Au peaks stand 23-24
    times as high as the typical atom's, far above what F, Cl, N or C (Z 9, 17, 7, 6 against
    the lightest SFAC element's 6) can make (TOO_STRONG × Z / 6), so those are masked there;
    the true element of no peak of the map is."""
    from crystalx_core.assign.model import _allowed_classes, _formula, too_light
    from crystalx_core.elements import symbol

    sim = _simulated(shared_data, "sfcod_4060313.cif", 8, 0.0)
    classes = ["Q", "C", "N", "F", "Cl", "Au", "Tl"]
    heights = [s.peak_height for s in sim.structure.sites]
    atoms = sum(_formula(sim.structure, classes)[0].values())
    light = too_light(heights, classes, _allowed_classes(sim.structure, classes), atoms)
    heavy = [k for k, z in enumerate(sim.targets) if z and symbol(z) in ("Au", "Tl")]
    assert len(heavy) == 4
    for k in heavy:
        assert light[k].tolist() == [False, True, True, True, True, False, False]
    truths = [(k, classes.index(symbol(z))) for k, z in enumerate(sim.targets) if z]
    assert not any(light[k, c] for k, c in truths)
    assert not light[[k for k in range(len(heights)) if k not in heavy]].any()


def test_too_light_needs_a_map_and_keeps_an_element_for_every_peak():
    """No peak heights (a model of atoms), no mask; a peak too strong for every SFAC element
    (a heavy atom SFAC does not list) keeps them all, as if the rule did not speak."""
    from crystalx_core.assign.model import _site_classes, too_light

    classes = ["Q", "C", "N", "O"]
    allowed = np.array([True, True, True, True])
    assert not too_light([None, None], classes, allowed, 2).any()
    heights = [1.0, 1.1, 0.9, 1.0, 80.0]  # four C-like peaks and one far beyond O's reach
    site_allowed = _site_classes(allowed, heights, classes, None, 5)
    assert site_allowed[4].tolist() == [False, True, True, True]  # strong: an atom, any of them
    heights[4] = 6.0  # beyond what C (5 × 6 / 6) and N make, within O's 5 × 8 / 6
    site_allowed = _site_classes(allowed, heights, classes, None, 5)
    assert site_allowed[4].tolist() == [False, False, False, True]
    assert site_allowed[:4].all()


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_the_strongest_peak_of_a_heavy_metal_map_keeps_a_heavy_element(shared_data):
    """sfcod_4060313 as above: the model called the Tl peak, the map's strongest, F at 0.993,
    and the formula then made an Au the Tl. With the light elements masked there, the Tl and
    the three Au are right."""
    from crystalx_core.elements import symbol

    sim = _simulated(shared_data, "sfcod_4060313.cif", 8, 0.0)
    answer = assign_model(sim.structure).by_index()
    heavy = [(k, symbol(z)) for k, z in enumerate(sim.targets) if z and symbol(z) in ("Au", "Tl")]
    assert [answer[k].element for k, _ in heavy] == [element for _, element in heavy]
