"""Where Olex2's `hadd CODE atom` would not place the riding H the core writes in its .res,
the core names the atoms each group rides on (crystalx_core.olex2.olex2_hadd), and the plugin
sends that form through olx.HAdd. Olex2's behaviour is that of the double (tests/olex2_double:
xlib/xmacro.cpp XLibMacros::macHAdd, xlib/xlcongen.cpp TXlConGen::ShelxToOlex and FixAtom)."""

import math
import sys

import numpy as np
import pytest

from crystalx_core.service import handle

from .test_plugin import close_plugin, open_in_double  # noqa: F401

pytestmark = pytest.mark.usefixtures("close_plugin")

A = 12.0
CELL = (A, A, A, 90.0, 90.0, 90.0)


def frac(x, y, z):
    return (x / A + 0.3, y / A + 0.3, z / A + 0.3)


CP = [  # a Cp ring, C–C 1.42 Å, under Fe1 1.65 Å from its centre (Fe–C 2.05 Å)
    (
        "C%d" % (k + 1),
        "C",
        frac(1.208 * math.cos(2 * math.pi * k / 5), 1.208 * math.sin(2 * math.pi * k / 5), 0),
        0.04,
    )
    for k in range(5)
]
FE = ("Fe1", "Fe", frac(0, 0, -1.65), 0.03)
FE_DISORDERED = [  # Fe1 below the ring in PART 1, Fe2 above in PART 2
    ("Fe1", "Fe", frac(0, 0, -1.65), 0.03, 0.5, 1),
    ("Fe2", "Fe", frac(0, 0, 1.65), 0.03, 0.5, 2),
]
# C1 (PART 0) bonded to C2 in PART -1 and C3 in PART -2 (each at full occupancy)
NEGATIVE = [
    ("C1", "C", frac(0, 0, 0), 0.04),
    ("C2", "C", frac(1.53, 0, 0), 0.04, 1.0, -1),
    ("C3", "C", frac(-0.51, 1.44, 0), 0.04, 1.0, -2),
]


def mirror(x, y, z):
    """Fractional, y = 0 the mirror of P m (x,y,z; x,-y,z)."""
    return (x / A + 0.3, y / A, z / A + 0.3)


PM = ["x,y,z", "x,-y,z"]
R = 1.208  # Å, ring radius of a Cp with C–C 1.42 Å
# a Cp ring across the mirror of P m, Fe1 1.65 Å below its centre, on the mirror: C1 and Fe1
# on it (occupancy 0.5 as Olex2 and SHELX hold them), C2 and C3 beside it; C2' and C3' are
# their images. C1 sits 0.03 Å inwards, so that C2 has C1 as its nearest neighbour.
CP_MIRROR = [
    ("C1", "C", mirror(R - 0.03, 0, 0), 0.04, 0.5, 0),
    ("C2", "C", mirror(R * math.cos(0.4 * math.pi), R * math.sin(0.4 * math.pi), 0), 0.04, 1.0, 0),
    ("C3", "C", mirror(R * math.cos(0.8 * math.pi), R * math.sin(0.8 * math.pi), 0), 0.04, 1.0, 0),
    ("Fe1", "Fe", mirror(0, 0, -1.65), 0.03, 0.5, 0),
]


class Snapshot(object):
    wavelength = 0.71073

    def __init__(self, atoms, symops=("x,y,z",), cell=CELL):
        elements = sorted({a[1] for a in atoms})
        self.sfac = elements
        self.unit = [sum(1 for a in atoms if a[1] == e) for e in elements]
        self.symops, self.cell = list(symops), cell


def core_answer(atoms, h_counts, symops=("x,y,z",), cell=CELL):
    """The core's answer to apply-plan for `atoms` (the double's tuples, occupancies as Olex2
    holds them) with these H."""
    sites = [
        {
            "label": a[0],
            "element": a[1],
            "frac": list(a[2]),
            "occupancy": a[4] if len(a) > 4 else 1.0,
            "part": a[5] if len(a) > 5 else 0,
        }
        for a in atoms
    ]
    snapshot = Snapshot(atoms, symops, cell)
    structure = {
        "cell": list(cell),
        "symops": list(symops),
        "sfac": snapshot.sfac,
        "unit": snapshot.unit,
        "sites": sites,
    }
    plan = {
        "sites": [
            {"label": a[0], "element": a[1], "new_label": a[0], "h_count": h_counts.get(a[0], 0)}
            for a in atoms
        ]
    }
    reply, _ = handle(
        {
            "protocol": 2,
            "id": 1,
            "method": "apply-plan",
            "params": {"structure": structure, "plan": plan},
        }
    )
    return reply


def apply_in_olex2(tmp_path, monkeypatch, atoms, commands, symops=("x,y,z",)):
    """(the double after the plugin applied `commands`, what the plugin said)."""
    state, _ = open_in_double(
        tmp_path, monkeypatch, Snapshot(atoms, symops), atoms, z=1, interpreter=""
    )
    olex_model = sys.modules["crystalx_plugin.olex_model"]
    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    said = []
    olex_model.apply_commands(
        sys.modules["olex"],
        sys.modules["olx"],
        sys.modules["olex_core"],
        commands,
        model,
        said.append,
    )
    return state, said


def named(commands):
    """The named-form commands with each pivot's neighbours as a set (their order is the
    core's contact order; hadd takes the occupancy of the first, equal for all here)."""
    return [
        (c.split()[1], c.split()[2], frozenset(c.split()[3:-2]), c.split()[-2], c.split()[-1])
        for c in commands
    ]


def riding(state):
    return sorted(
        (a.pivot.label, a.part, round(a.occu, 3), a.afix) for a in state.live() if a.type == "H"
    )


def test_a_cp_carbon_bonded_to_a_metal_gets_its_h_from_its_named_bonds(tmp_path, monkeypatch):
    """`hadd 43 C1` on a Cp C gives no H in Olex2: its environment holds the metal, three
    atoms where HFIX 43 takes two (ShelxToOlex; "Failed to translate HFIX code"). The core
    wrote AFIX 43 H on every ring C and sent that command: Olex2 would have placed none. Now
    it names the two ring neighbours (`hadd -43 C1 C2 C5 -a=43 -p=0`), which Olex2 takes."""
    atoms = CP + [FE]
    answer = core_answer(atoms, {a[0]: 1 for a in CP})
    assert answer["hfix"] == [[43, ["C1", "C2", "C3", "C4", "C5"]]]
    assert named(answer["commands"]) == named(
        [
            "hadd -43 C1 C2 C5 -a=43 -p=0",
            "hadd -43 C2 C1 C3 -a=43 -p=0",
            "hadd -43 C3 C4 C2 -a=43 -p=0",
            "hadd -43 C4 C3 C5 -a=43 -p=0",
            "hadd -43 C5 C1 C4 -a=43 -p=0",
        ]
    )
    state, said = apply_in_olex2(tmp_path, monkeypatch, atoms, answer["commands"])
    assert riding(state) == [("C%d" % k, 0, 1.0, 43) for k in range(1, 6)]
    assert said == [] and state.errors == []  # ValidateHGroups keeps them: less the metal, 2
    state, said = apply_in_olex2(tmp_path, monkeypatch, atoms, ["hadd 43 C1 C2 C3 C4 C5"])
    assert riding(state) == [] and "C1 got 0 H, not 1" in said[0]  # the plain form, as before


def test_an_olex2_that_does_not_take_the_named_form_keeps_the_rest_of_the_apply(
    tmp_path, monkeypatch
):
    """An older macHAdd, with no negative-code branch, takes `hadd -43 ...` as any code: each
    named atom a pivot, "Failed to translate HFIX code" logged, nothing added, the macro done;
    the H count says what is missing. Where a current one fails (fewer than two of the named
    atoms found, as for hidden atoms) the renames stay and one line names the atom."""
    atoms = CP + [FE]
    commands = ["name Fe1 Fe2", "hadd -43 C1 C2 C5 -a=43 -p=0"]
    for old_build in (True, False):
        state, _ = open_in_double(
            tmp_path, monkeypatch, Snapshot(atoms), atoms, z=1, interpreter=""
        )
        olex_model = sys.modules["crystalx_plugin.olex_model"]
        state.hadd_listed_form = not old_build
        state.fail_on = None if old_build else "hadd -43"
        said = []
        olex_model.apply_commands(
            sys.modules["olex"],
            sys.modules["olx"],
            sys.modules["olex_core"],
            commands,
            olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"]),
            said.append,
        )
        assert state.atoms[5].label == "Fe2" and riding(state) == []
        short = "Olex2's hadd did not give the H asked for: C1 got 0 H, not 1"
        if old_build:
            assert said == [short]
            assert "hadd: code -43 does not fit C5" in state.errors
        else:
            assert said == ["Olex2 did not take hadd with the bonds named for C1", short]


def test_beside_a_disordered_metal_the_h_ride_in_part_0_not_split_by_the_metals_parts(
    tmp_path, monkeypatch
):
    """macHAdd splits a pivot by every PART among its neighbours, metals too; the core splits
    only by a disordered covalent neighbour (riding._split_pivot: the covalent frame sets the
    H, the same in each alternative). Plain `hadd 43` here: two PARTs of three bonds each, no
    H; the named form gives the one PART 0 group of the .res."""
    atoms = CP + FE_DISORDERED
    answer = core_answer(atoms, {a[0]: 1 for a in CP})
    assert named(answer["commands"][:1]) == named(["hadd -43 C1 C2 C5 -a=43 -p=0"])
    state, said = apply_in_olex2(tmp_path, monkeypatch, atoms, answer["commands"])
    assert riding(state) == [("C%d" % k, 0, 1.0, 43) for k in range(1, 6)] and said == []
    state, said = apply_in_olex2(tmp_path, monkeypatch, atoms, ["hadd 43 C1"])
    assert riding(state) == [] and state.errors[0] == "hadd: code 43 does not fit C1"


def test_between_negative_parts_the_h_ride_in_part_0_not_split(tmp_path, monkeypatch):
    """macHAdd counts negative PARTs as PARTs to split by; the core leaves them alone (one
    group on all the bonds, in the pivot's PART). Plain `hadd 23 C1` places two H in PART -1
    and two in PART -2, each group on one bond, which ValidateHGroups then deletes (AFIX 23
    wants two); the named form gives the two PART 0 H of the .res. Where no named atom has
    the group's occupancy (hadd takes the first one's) the plain form stays and the plugin
    says what Olex2 placed."""
    answer = core_answer(NEGATIVE, {"C1": 2})
    assert answer["hfix"] == [[23, ["C1"]]]
    assert named(answer["commands"]) == named(["hadd -23 C1 C2 C3 -a=23 -p=0"])
    state, said = apply_in_olex2(tmp_path, monkeypatch, NEGATIVE, answer["commands"])
    assert riding(state) == [("C1", 0, 1.0, 23)] * 2 and said == []
    state, said = apply_in_olex2(tmp_path, monkeypatch, NEGATIVE, ["hadd 23 C1"])
    assert riding(state) == [] and said == [
        "Olex2's hadd did not give the H asked for: C1 got 0 H, not 2"
    ]
    assert "Pivot atom C1 has wrong connectivity" in state.errors[0]  # ValidateHGroups
    half = [a[:4] + (0.5, a[5]) if len(a) > 4 else a for a in NEGATIVE]
    assert core_answer(half, {"C1": 2})["commands"] == ["hadd 23 C1"]


def test_beside_a_covalent_disorder_the_plain_hadd_stays(tmp_path, monkeypatch):
    """The usual split: the core's per-PART groups are what macHAdd makes itself (each PART's
    H at its first neighbour's occupancy, a free variable carried over by Vars.GetParam/
    SetParam), so `hadd 23 C61` is sent as before."""
    disordered = [
        ("C60", "C", (0.10, 0.10, 0.10), 0.04),
        ("C61", "C", (0.252, 0.10, 0.10), 0.04),
        ("C62A", "C", (0.302, 0.2435, 0.10), 0.05, 0.6, 1),
        ("C62B", "C", (0.302, 0.10, 0.2435), 0.05, 0.4, 2),
    ]
    scaled = [a[:2] + (tuple(c * 10.0 / A for c in a[2]),) + a[3:] for a in disordered]
    answer = core_answer(scaled, {"C61": 2})
    assert [c for c in answer["commands"] if c.startswith("hadd")] == ["hadd 23 C61"]


def test_olex2s_hadd_with_a_negative_code_rides_on_the_atoms_named(tmp_path, monkeypatch):
    """xmacro.cpp macHAdd, Hfix < 0: the first atom is the pivot, the rest its environment;
    PART and occupancy of the second atom, `-p` overriding the PART, AFIX `-a` (3 if not
    given); fewer than two atoms is an error (False through olx)."""
    state, _ = open_in_double(
        tmp_path, monkeypatch, Snapshot(NEGATIVE), NEGATIVE, z=1, interpreter=""
    )
    olx = sys.modules["olx"]
    assert olx.HAdd("-23", "#c0") is False and riding(state) == []
    assert olx.HAdd("-23", "#c0", "#c1", "#c2") is True
    assert riding(state) == [("C1", -1, 1.0, 3)] * 2


def test_on_a_mirror_the_named_form_names_no_image_and_a_first_atom_off_the_mirror(
    tmp_path, monkeypatch
):
    """Olex2 takes each named atom where the asymmetric unit has it and gives the H the first
    one's occupancy as it holds it (macHAdd, Hfix < 0). C3 of a Cp across a mirror is bonded
    to its own image: `hadd -43 C3 C2 C3` would name the pivot as its neighbour, so C3 keeps
    the plain form (which places no H beside the metal: reported); C2 names C3, off the
    mirror, first (C1 on it holds 0.5 in Olex2: `hadd -43 C2 C1 C3` gave an H at 0.5)."""
    answer = core_answer(CP_MIRROR, {"C1": 1, "C2": 1, "C3": 1}, PM)
    assert answer["hfix"] == [[43, ["C1", "C2", "C3"]]]
    hadd = [c for c in answer["commands"] if c.startswith("hadd")]
    assert hadd == ["hadd 43 C1 C3", "hadd -43 C2 C3 C1 -a=43 -p=0"]
    state, said = apply_in_olex2(tmp_path, monkeypatch, CP_MIRROR, answer["commands"], PM)
    assert riding(state) == [("C2", 0, 1.0, 43)]
    assert said == [
        "Olex2's hadd did not give the H asked for: C1 got 0 H, not 1; C3 got 0 H, not 1"
    ]


def test_where_no_named_atom_has_the_h_occupancy_in_olex2_the_plain_form_stays():
    """C1 between two atoms on inversion centres (each 0.5 in Olex2) and bonded to Fe1: no
    atom to name first would give its H occupancy 1, so `hadd 43 C1` is sent (Olex2 places no
    H beside the metal, which the plugin reports) rather than an H at 0.5."""
    a, b = 5.0, 12.0
    atoms = [
        ("C1", "C", (1.25 / a, 0.63 / b, 0.0), 0.04, 1.0, 0),
        ("C2", "C", (0.0, 0.0, 0.0), 0.04, 0.5, 0),
        ("C3", "C", (0.5, 0.0, 0.0), 0.04, 0.5, 0),
        ("Fe1", "Fe", (1.25 / a, 0.63 / b, 2.0 / b), 0.03, 1.0, 0),
    ]
    answer = core_answer(atoms, {"C1": 1}, ["x,y,z", "-x,-y,-z"], (a, b, b, 90.0, 90.0, 90.0))
    assert answer["hfix"] == [[43, ["C1"]]]
    assert [c for c in answer["commands"] if c.startswith("hadd")] == ["hadd 43 C1"]


def test_olex2s_named_hadd_places_the_h_from_the_named_atoms_where_the_unit_has_them(
    tmp_path, monkeypatch
):
    """macHAdd, Hfix < 0 (AE.Add(a.CAtom(), a.GetMatrix(), a.crd())): the H of a CH goes
    0.93 Å from the pivot on the outer bisector of the two named atoms (congen.cpp
    Generate_1), at the first one's occupancy as Olex2 holds it; the pivot named as its own
    neighbour is a bond of length 0, which FixAtom survives with no H."""
    state, _ = open_in_double(
        tmp_path, monkeypatch, Snapshot(CP_MIRROR, PM), CP_MIRROR, z=1, interpreter=""
    )
    olx = sys.modules["olx"]
    assert olx.HAdd("-43", "C3", "C2", "C3", a="43", p="0") is True and riding(state) == []
    assert olx.HAdd("-43", "C2", "C1", "C3", a="43", p="0") is True
    assert riding(state) == [("C2", 0, 0.5, 43)]
    h = next(x for x in state.live() if x.type == "H")
    c1, c2, c3 = (np.array(state.cartesian(x[2])) for x in CP_MIRROR[:3])
    xh = np.array(state.cartesian(h.crd)) - c2
    assert np.linalg.norm(xh) == pytest.approx(0.93)
    assert abs(xh[2]) < 1e-9  # in the ring's plane
    u1, u3 = (c - c2 for c in (c1, c3))
    cosines = [xh @ u / np.linalg.norm(xh) / np.linalg.norm(u) for u in (u1, u3)]
    assert cosines[0] == pytest.approx(cosines[1]) and cosines[0] < -0.5
