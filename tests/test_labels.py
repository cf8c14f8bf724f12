"""Labels after an assignment, as a crystallographer relabels by hand, and atoms in residues."""

from dataclasses import replace

from crystalx_core.assign.labels import element_labels
from crystalx_core.hydrogens import h_label
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.residues import bare_label, residue_address, residue_suffix
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK, CORPUS


def test_unchanged_atoms_keep_labels_retyped_keep_numbers_and_peaks_take_free_numbers(shared_data):
    """Sucrose as published (C1..C12, O1..O11), O4 called N and a peak put where C5 was: the
    peak takes the first free carbon number, C5."""
    sucrose = read_shelx(BENCHMARK / "FC_sucrose" / "published.res").to_structure()
    heavy = [s for s in sucrose.sites if s.element != "H"]
    c5 = next(k for k, s in enumerate(heavy) if s.label == "C5")
    structure = sucrose.with_sites(
        heavy[:c5] + [replace(heavy[c5], label="Q1", element=None)] + heavy[c5 + 1 :]
    )
    elements = {
        k: ("N" if s.label == "O4" else s.element or "C") for k, s in enumerate(structure.sites)
    }
    labels = element_labels(structure, elements)
    expected = {s.label: s.label for s in structure.sites} | {"O4": "N4", "Q1": "C5"}
    assert {structure.sites[k].label: label for k, label in labels.items()} == expected


def test_a_retyped_atom_whose_number_is_taken_gets_the_next_free_one():
    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C", "N", "O"],
        unit=[1, 1, 1],
        sites=[
            Site("N1", "N", (0.1, 0.1, 0.1)),
            Site("O1", "O", (0.3, 0.1, 0.1)),
            Site("CL7", "C", (0.5, 0.1, 0.1)),
        ],
    )
    labels = element_labels(structure, {0: "N", 1: "N", 2: "C"})
    assert labels == {0: "N1", 1: "N2", 2: "C1"}  # CL7 typed C is no carbon label: relabelled


def test_labels_are_unique_per_residue(shared_data):
    """In FC_p21c's residue 2, O1 called N becomes N1_2 although the main residue holds no N1
    and residue 1 keeps its own O1; the residue's atoms keep their labels."""
    structure = read_shelx(BENCHMARK / "FC_p21c" / "published.res").to_structure()
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    elements = {k: ("N" if s.label == "O1_2" else s.element) for k, s in enumerate(heavy.sites)}
    labels = element_labels(heavy, elements)
    renamed = {
        heavy.sites[k].label: label for k, label in labels.items() if label != heavy.sites[k].label
    }
    assert renamed == {"O1_2": "N1_2"}
    peak = heavy.with_sites(
        [Site("N1_4", "N", (0.5, 0.5, 0.5)), Site("O1_4", "O", (0.6, 0.5, 0.5))]
    )
    assert element_labels(peak, {1: "N"}) == {1: "N2_4"}  # N1 of residue 4 is taken


def test_residue_addresses_and_riding_h_names():
    assert residue_address("C1", 2) == "C1_2" and residue_address("C1", 0) == "C1"
    assert residue_address("C1_2", 2) == "C1_2"
    assert (bare_label("C12A_3"), residue_suffix("C12A_3")) == ("C12A", "_3")
    assert (bare_label("C12A"), residue_suffix("C12A")) == ("C12A", "")
    assert [h_label("C5_2", k, 2) for k in range(2)] == ["H5A_2", "H5B_2"]


def test_riding_h_of_a_residue_atom_stay_in_its_residue(shared_data):
    """Sucrose's atoms put in residue 1 (C6_1 and so on): the riding H are H6A_1, H6B_1, ..."""
    sucrose = read_shelx(BENCHMARK / "FC_sucrose" / "published.res").to_structure()
    heavy = sucrose.with_sites(
        [replace(s, label=residue_address(s.label, 1)) for s in sucrose.sites if s.element != "H"]
    )
    c6 = next(k for k, s in enumerate(heavy.sites) if s.label == "C6_1")
    plan = add_riding_hydrogens(heavy, {c6: 2})
    added = [s.label for s in plan.structure.sites if s.element == "H"]
    assert added == ["H6A_1", "H6B_1"] and plan.codes == {c6: 23}


def test_a_label_a_cif_repeats_is_kept_once(shared_data):
    """COD 9000905 lists Al2 twice; the second Al2 gets the next free aluminium number, and
    riding H and refinement then see unique labels."""
    from crystalx_core.io.cif import read_cif

    structure = read_cif(CORPUS / "codtools_9000905.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    labels = element_labels(heavy, {k: s.element for k, s in enumerate(heavy.sites)})
    assert [s.label for s in heavy.sites].count("Al2") == 2
    assert list(labels.values()).count("Al2") == 1 and len(set(labels.values())) == len(labels)


def test_relabel_gives_assignment_sites_their_labels_and_says_which_changed():
    from crystalx_core.assign.labels import relabel
    from crystalx_core.assignment import SiteAssignment

    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C", "N", "O"],
        unit=[1, 1, 1],
        sites=[Site("N1", "N", (0.1, 0.1, 0.1)), Site("O5", "O", (0.3, 0.1, 0.1))],
    )
    sites = [SiteAssignment(0, "N1", "N", "N1"), SiteAssignment(1, "O5", "N", "O5")]
    assert relabel(structure, sites) == {"N1": "N1", "O5": "N5"}
    assert [s.new_label for s in sites] == ["N1", "N5"]


def test_each_atom_renamed_with_its_element_unchanged_is_named_in_the_notes(tmp_path, capsys):
    """C2*, C2ABC (5 characters) and CL1 (a carbon whose label reads as chlorine) were renamed
    C1, C2, C4 with no word of it: a SHELXL user looked for C2ABC in the new file in vain. The
    job's notes, printed and in its JSON, now say each rename, old -> new, and why."""
    import json

    from crystalx_core.cli import main

    from .test_shelx_io import HEADER

    source = tmp_path / "t.res"
    source.write_text(
        HEADER.replace("UNIT 8 8 4", "UNIT 16 16 4")
        + "FVAR 1\nC2* 1 0.1 0.2 0.3 11 0.03\nO1 3 0.22 0.2 0.3 11 0.03\n"
        "C2ABC 1 0.1 0.33 0.3 11 0.03\nC3 1 0.2 0.4 0.3 11 0.03\nCL1 1 0.6 0.8 0.7 11 0.03\n"
        "HKLF 4\nEND\n"
    )
    args = ["assign", str(source), "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "t_crystalx.json").read_text())
    labels = {a["label"]: a["new_label"] for a in report["atoms"]}
    assert labels == {"C2*": "C1", "O1": "O1", "C2ABC": "C2", "C3": "C3", "CL1": "C4"}
    note = (
        "atoms renamed, their elements unchanged: C2* -> C1 ('*' is not a letter, digit or "
        "prime), C2ABC -> C2 (over 4 characters), CL1 -> C4 (reads as another element than C)"
    )
    assert note in report["notes"]
    assert f"note: {note}" in capsys.readouterr().out


def test_a_label_not_starting_with_its_element_is_renamed_for_that_reason():
    """A carbon labelled X1 was said to be renamed as one that "reads as another element than
    C", as CL1 on a carbon is; its reason is its own."""
    from crystalx_core.assign.labels import relabel, renames_note
    from crystalx_core.assignment import SiteAssignment

    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C"],
        unit=[2],
        sites=[Site("X1", "C", (0.1, 0.1, 0.1)), Site("CL1", "C", (0.25, 0.1, 0.1))],
    )
    sites = [SiteAssignment(0, "X1", "C", "X1"), SiteAssignment(1, "CL1", "C", "CL1")]
    relabel(structure, sites)
    assert renames_note(structure, sites) == (
        "atoms renamed, their elements unchanged: X1 -> C1 (does not start with C), "
        "CL1 -> C2 (reads as another element than C)"
    )
