"""Instructions of a user's SHELXL .res that the refinement must honour as SHELXL does when the
file is read back: SUMP over the free variables of a three-place disorder (session 26,
s26refinefid)."""

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from .test_other_labs7 import THREE_PLACE_SHARES, three_place_data


def test_a_sump_read_back_refines_its_variables_summing_to_one(tmp_path):
    """The .res of a three-place hydroxyl O (PART 1, 2, 3 on 21, 31, 41 with SUMP 1 0.01 1 2 1 3
    1 4, as SHELXL and our writer hold one), read back mid-refinement at 1/3 each against data
    made at 0.50, 0.30, 0.20: SHELXL refines the three under SUMP, and so does the branch (the
    shares come back, summing to one, written back to FVAR). Main held them at 1/3 (a SUMP
    variable counted as more than an occupancy)."""
    from crystalx_core.crystallography.refine import refine
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.io.shelx_write import new_ins_text
    from crystalx_core.partial_sites import with_free_occupancies

    whole, reflections = three_place_data(tmp_path)
    share = THREE_PLACE_SHARES
    text = new_ins_text(with_free_occupancies(whole, frozenset(share)), ["L.S. 4", "FVAR 1.0"])
    assert "SUMP 1 0.01 1 2 1 3 1 4" in text.splitlines()
    read = parse_shelx(text, "three.res").to_structure()
    assert {s.label: s.input_variable for s in read.sites if s.label in share} == {
        "O5": (2, 1.0),
        "O6": (3, 1.0),
        "O7": (4, 1.0),
    }
    refined = refine(read, reflections, 20, input_variables=True).structure
    occupancy = {s.label: s.occupancy for s in refined.sites if s.label in share}
    assert sum(occupancy.values()) == pytest.approx(1.0, abs=1e-6)
    assert occupancy == pytest.approx(share, abs=0.03)
    assert refined.free_variable_values == pytest.approx((0.5, 0.3, 0.2), abs=0.03)


def test_same_becomes_the_sadi_restraints_shelxl_makes_of_it():
    """SXF_I43d's published .res (real, ShelXFile's test file): a toluene ring under `SAME C21 >
    C25 C20` and `SAME C20 C25 < C21 C26`, both before C20's line. SHELXL compares each list
    with as many atoms following the SAME, their H left out, and restrains each 1,2 distance of
    those with s1 (0.02) and each 1,3 with s2 (0.04) to its partners as SADI (manual, SAME;
    Olex2's xlib/samegroup.cpp, one SADI per distance of the following atoms). Main left both
    lines out with a note; the branch gives smtbx those SADI: C20-C21 with C21-C22 of the first
    list and C20-C25 of the second, each of the ring's bonds and 1,3 distances restrained, once
    each (the branch before the review made a SADI per distance, C20-C21 twice in one)."""
    from .conftest import BENCHMARK
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.io.shelx_restraints import user_restraints

    shelx = parse_shelx((BENCHMARK / "SXF_I43d" / "published.res").read_text(), "published.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert "SADI 0.02 C20 C21 C21 C22 C20 C25 C22 C23 C23 C24 C24 C25" in kept
    same = [line.split() for line in kept if line.startswith(("SADI 0.02", "SADI 0.04"))]
    # one SADI per set of distances held equal, each distance once (SHELXL's equal weights)
    distances = [frozenset(w[k : k + 2]) for w in same for k in range(2, len(w), 2)]
    assert len(distances) == len(set(distances)) == 6 + 6 + 2 + 6 + 6
    pairs = {
        sigma: {
            frozenset(w[k : k + 2])
            for line in kept
            for w in [line.split()]
            if w[1] == sigma
            for k in range(2, len(w), 2)
        }
        for sigma in ("0.02", "0.04")
    }
    ring = ["C20", "C21", "C22", "C23", "C24", "C25"]
    assert {frozenset((ring[k], ring[k - 1])) for k in range(6)} <= pairs["0.02"]
    assert {frozenset((ring[k], ring[k - 2])) for k in range(6)} <= pairs["0.04"]
    assert "SAME" not in note


def test_a_same_whose_following_atoms_lost_one_is_left_to_the_note():
    """FC_p31c's published .res (real): `SAME N1 > C3` before N1', C1', C2', C3' (PART 2 of a
    t-Bu disorder). A model without C2' (the job dropped it) would pair C3 with the atom after
    C3', so that SAME is left out and named; the other SAME still becomes its SADI."""
    from .conftest import BENCHMARK
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.io.shelx_restraints import user_restraints

    shelx = parse_shelx((BENCHMARK / "FC_p31c" / "published.res").read_text(), "published.res")
    whole = shelx.to_structure()
    kept, note = user_restraints(shelx, whole)
    assert "SADI 0.02 C2' C3' C2 C3" in kept and "SAME" not in note
    without = whole.with_sites([s for s in whole.sites if s.label != "C2'"])
    kept, note = user_restraints(shelx, without)
    assert not [line for line in kept if line.startswith("SADI 0.0") and "N1" in line]
    assert "SADI 0.02 C13' C14' C13 C14" in kept
    assert "SAME (1 line, the first on line 91 of published.res" in note


def test_a_sump_left_one_refined_variable_holds_it(tmp_path):
    """The three-place O's .res with fv(2) also a DFIX target (held, as main holds any such
    variable) and SUMP 0.66667 0.01 1 2 1 3: the sum fixes fv(3) by the held fv(2), so it is
    held too and only fv(4) refines; the branch before the review refined fv(3) freely,
    breaking the user's sum (0.333 + 0.293). SUMPs sharing a variable are held, as main held
    every SUMP: the refinement holds one exact sum per last variable."""
    from crystalx_core.io.shelx_read import occupancy_variables, parse_shelx
    from crystalx_core.io.shelx_write import new_ins_text
    from crystalx_core.partial_sites import with_free_occupancies

    from .test_other_labs7 import _sugar, _three_places

    whole = _three_places(_sugar(tmp_path))
    text = new_ins_text(with_free_occupancies(whole, frozenset(THREE_PLACE_SHARES)), ["FVAR 1"])
    sump = "SUMP 1 0.01 1 2 1 3 1 4"
    assert occupancy_variables(parse_shelx(text, "three.res")) == {2, 3, 4}
    text = text.replace(sump, "SUMP 0.66667 0.01 1 2 1 3\nDFIX 21 O5 C1")
    assert occupancy_variables(parse_shelx(text, "three.res")) == {4}
    # two SUMPs sharing fv(3), fv(4): all held (the branch before the review dropped the first)
    text = text.replace(
        "SUMP 0.66667 0.01 1 2 1 3\nDFIX 21 O5 C1", f"{sump}\nSUMP 0.5 0.01 1 3 1 4"
    )
    assert occupancy_variables(parse_shelx(text, "three.res")) == set()
