"""CIF reading on every real structure in shared/data, and clear errors on broken files."""

import csv
import json
import re

import gemmi
import pytest
from tests.conftest import BENCHMARK, CORPUS

from crystalx_core.contents import cell_counts
from crystalx_core.errors import InputError
from crystalx_core.io import load
from crystalx_core.io.cif import read_cif

BENCHMARK_IDS = sorted(p.name for p in BENCHMARK.glob("*") if (p / "model.cif").is_file())
CORPUS_ROWS = (
    list(csv.DictReader((CORPUS / "INDEX.tsv").open(), delimiter="\t"))
    if (CORPUS / "INDEX.tsv").is_file()
    else []
)


def _formula(text: str) -> dict[str, float]:
    return {el: float(n or 1) for el, n in re.findall(r"([A-Z][a-z]?)([0-9.]*)", text)}


def _atoms(structure) -> list:
    """Every atom, those sharing a mixed site included."""
    return [atom for site in structure.sites for atom in site.with_mixed]


def _non_h(structure) -> int:
    return sum(atom.element not in ("H", "D") for atom in _atoms(structure))


@pytest.mark.parametrize("entry", BENCHMARK_IDS)
def test_benchmark_model_reads(entry):
    folder = BENCHMARK / entry
    source = json.loads((folder / "source.json").read_text())
    cif = read_cif(folder / "model.cif")
    structure = cif.structure

    assert cif.block_name == source["paths"]["block"]
    assert structure.cell == pytest.approx(tuple(source["cell"]), abs=1e-3)
    assert _non_h(structure) == source["n_atoms_nonH"]
    assert len(structure.sites) - _non_h(structure) == source["n_H"]
    assert structure.wavelength == pytest.approx(source["wavelength"])
    assert cif.published_r1 == source["published_R1"]
    # cell contents from the sites reproduce the authors' own _chemical_formula_sum
    given = _formula(source["formula_sum_as_given"])
    per_formula_unit = {el: n / source["Z"] for el, n in zip(structure.sfac, structure.unit)}
    assert per_formula_unit == pytest.approx(given, abs=0.01)
    assert structure.sfac[0] == "C" and structure.sfac[1] == "H"


@pytest.mark.parametrize("entry", BENCHMARK_IDS)
def test_embedded_shelx_files(entry):
    folder = BENCHMARK / entry
    source = json.loads((folder / "source.json").read_text())
    cif = read_cif(folder / "model.cif")
    if source["paths"].get("res"):
        published = (folder / "published.res").read_bytes().decode()
        assert cif.shelx_res_text.replace("\r\n", "\n") == published.replace("\r\n", "\n")
    else:
        assert cif.shelx_res_text is None
    embedded_hkl = any("_shelx_hkl_file" in p for p in source["paths"]["hkl"])
    assert (cif.shelx_hkl_text is not None) == embedded_hkl
    if embedded_hkl and entry != "XH_xylitol":  # xylitol's data.hkl was reformatted (README)
        assert cif.shelx_hkl_text == (folder / "data.hkl").read_text()


# INDEX.tsv types this entry's hydroxyl H (HO1, HO3) as holmium, as gemmi reads their labels;
# they are H (test_labels_read_as_elements_follow_the_formula)
HOLMIUM_FROM_LABELS = {"codtools_2003526-r-factor-with-esd.cif": 2}
# INDEX.tsv counts as an H the placeholder these COD entries give for an H+ whose position was
# not determined ('H1 H1+ 6 c -1. -1. -1. 1. 0 dum': _atom_site_calc_flag dum, cif_core.dic's
# dummy site with meaningless coordinates; occupancy an H count); it is no atom
DUMMY_H = {
    "codtools_1000451.cif": 1,
    "codtools_1001031.cif": 1,
    "codtools_1010246.cif": 1,
    "codtools_1100015.cif": 1,
}
# cod-tools' test of a misspelt tag (`__atom_site_fract_y`): no y coordinates, so no structure
REFUSED = {
    "codtools_4303187-multiple-underscores.cif": (
        "166: the atom_site loop has no _atom_site_fract_y$"
    )
}


@pytest.mark.parametrize("row", CORPUS_ROWS, ids=[r["file"] for r in CORPUS_ROWS])
def test_corpus_entry_reads(row):
    if row["file"] in REFUSED:
        with pytest.raises(InputError, match=REFUSED[row["file"]]):
            read_cif(CORPUS / row["file"])
        return
    structure = read_cif(CORPUS / row["file"]).structure
    misread = HOLMIUM_FROM_LABELS.get(row["file"], 0)
    dummies = DUMMY_H.get(row["file"], 0)
    n_h = int(row["n_H"]) + misread - dummies
    assert _non_h(structure) == int(row["n_nonH"]) - misread
    assert len(_atoms(structure)) - _non_h(structure) == n_h
    elements = set(row["elements"].split(",")) - ({"Ho"} if misread else set())
    elements -= set() if n_h else {"H"}
    assert {atom.element for atom in _atoms(structure)} == elements
    assert structure.volume == pytest.approx(float(row["volume"]), abs=0.05)
    assert structure.space_group_order == len(set(structure.symops))


def test_unit_matches_the_cifs_own_site_symmetry_orders(shared_data):
    """Where the CIF states each site's symmetry order, the sites' count (what UNIT falls back
    on without a formula: contents.cell_counts) is Σ occupancy × order / that."""
    checked = 0
    for path in sorted(CORPUS.glob("*.cif")) + sorted(BENCHMARK.glob("*/model.cif")):
        block = gemmi.cif.read(str(path))[0]
        orders = block.find_values("_atom_site_site_symmetry_order")
        if not orders or any(gemmi.cif.as_string(v) in ("?", ".") for v in orders):
            continue
        structure = read_cif(path).structure
        expected: dict[str, float] = {}
        in_file_order = [
            atom for site in structure.sites for atom in (site, *site.mixed)
        ]  # partners follow
        for site, order in zip(in_file_order, orders):
            share = structure.space_group_order / int(gemmi.cif.as_string(order))
            expected[site.element] = expected.get(site.element, 0.0) + site.occupancy * share
        assert cell_counts(structure) == pytest.approx(expected, abs=1e-3), path
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    "entry", [e for e in BENCHMARK_IDS if (BENCHMARK / e / "published.res").is_file()]
)
def test_unit_matches_the_published_res(entry):
    """SFAC/UNIT counted from the CIF's sites are what the authors gave SHELXL."""
    from_cif = read_cif(BENCHMARK / entry / "model.cif").structure
    from_res = load(BENCHMARK / entry / "published.res").structure
    assert dict(zip(from_res.sfac, from_res.unit)) == pytest.approx(
        dict(zip(from_cif.sfac, from_cif.unit)), abs=0.05
    )


def test_load_dispatches_by_suffix(shared_data, tmp_path):
    cif = load(BENCHMARK / "FC_sucrose" / "model.cif")
    assert (
        len(cif.structure.sites) == 45
        and cif.structure.space_group_order == 2
        and cif.shelx is None
    )
    res = load(BENCHMARK / "FC_sucrose" / "published.res")
    assert (
        len(res.structure.sites) == 45
        and res.shelx is not None
        and res.embedded_reflections() is None
    )
    other = tmp_path / "model.xyz"
    other.write_text("3\n")
    with pytest.raises(InputError, match="unsupported file type"):
        load(other)


# --- broken input -------------------------------------------------------------------------
GOOD_BLOCK = """data_test
_cell_length_a 10.0
_cell_length_b 11.0
_cell_length_c 12.0
_cell_angle_alpha 90
_cell_angle_beta 100
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 21/c'
loop_
_symmetry_equiv_pos_as_xyz
x,y,z
-x,y+1/2,-z+1/2
-x,-y,-z
x,-y+1/2,z+1/2
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_occupancy
_atom_site_disorder_group
C1 C 0.1 0.2 0.3 0.02 1 .
O1 O 0.2 0.2 0.3 0.03 1 .
Cu1 Cu 0 0 0 0.01 1 1
"""


def _write(tmp_path, text: str, name: str = "x.cif"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_block_reads(tmp_path):
    cif = read_cif(_write(tmp_path, GOOD_BLOCK))
    structure = cif.structure
    assert structure.space_group_order == 4
    assert [s.label for s in structure.sites] == ["C1", "O1", "Cu1"]
    assert [s.line for s in structure.sites] == [24, 25, 26]
    assert [s.part for s in structure.sites] == [0, 0, 1]
    assert structure.sfac == ["C", "Cu", "O"]
    assert structure.unit == [4.0, 2.0, 4.0]  # Cu on an inversion centre
    assert cif.shelx_res_text is None and cif.published_r1 is None
    assert structure.wavelength == 0.71073


def test_broken_symop_list_falls_back_to_the_symbol(tmp_path):
    text = GOOD_BLOCK.replace("x,-y+1/2,z+1/2", "x,-y,z+1/3")  # not a group with the others
    assert read_cif(_write(tmp_path, text)).structure.space_group_order == 4
    no_symbol = text.replace("_symmetry_space_group_name_H-M 'P 21/c'", "")
    with pytest.raises(InputError, match="no usable symmetry") as error:
        read_cif(_write(tmp_path, no_symbol))
    assert error.value.line == 10  # the operator loop


# Lists short of the named group, as real writers leave them: only the identity beside the
# group's symbol (gemmi's SmallStructure.check_spacegroup, project-gemmi/gemmi
# include/gemmi/small.hpp, says "space group from H-M symbol (P 21/c) differs: P 1 21/c 1" of
# such a file and reads the list), the non-inversion half of a centrosymmetric group (NRCVAX),
# a C-centred group without its centring (TEXSAN). cif_core wants "a complete set of
# coordinate representatives" (_space_group_symop_operation_xyz): where the atoms are the
# named group's asymmetric unit, the named group is the structure's.
SHORT = "x.cif line 8: the H-M symbol 'P 21/c' names P 1 21/c 1 (4 operators), the operators "
# GOOD_BLOCK's P 21/c cell as formula x Z: C4 O4 Cu2, Cu on an inversion centre
STATED = "_chemical_formula_sum 'C2 O2 Cu'\n_cell_formula_units_Z 2\n"


@pytest.mark.parametrize(
    "ops, listed, by_list",
    [
        (["x,y,z"], "P 1 (1 operator", 3),
        # the screw axis of P 21/c's non-inversion half lies at z = 1/4: cctbx names the shift
        (["x,y,z", "-x,y+1/2,-z+1/2"], "P 1 21 1 (a,b,c-1/4) (2 operators", 6),
    ],
)
def test_a_list_short_of_the_symbol_s_group_yields_to_it(tmp_path, ops, listed, by_list):
    text = GOOD_BLOCK.replace("-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2\n", "")
    text = text.replace("x,y,z\n", "\n".join(ops) + "\n") + STATED
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == 4
    assert cif.structure.unit == [4.0, 2.0, 4.0]  # as the full list gives (test_good_block_reads)
    assert cif.notes == (
        f"{SHORT}listed on line 10 make {listed}, a subgroup); _chemical_formula_sum x Z gives 10 "
        f"non-H atoms per cell, the H-M symbol 'P 21/c' 10, the list {by_list}: the H-M symbol "
        "'P 21/c' is read",
    )


def test_a_c_centred_list_without_its_centring_yields_to_the_symbol(tmp_path):
    text = GOOD_BLOCK.replace("'P 21/c'", "'C 2/c'").replace(
        "-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2", "-x,y,-z+1/2\n-x,-y,-z\nx,-y,z+1/2"
    )
    cif = read_cif(_write(tmp_path, text + STATED.replace(" 2\n", " 4\n")))
    assert cif.structure.space_group_order == 8
    assert cif.notes == (
        "x.cif line 8: the H-M symbol 'C 2/c' names C 1 2/c 1 (8 operators), the operators "
        "listed on line 10 make P 1 2/c 1 (4 operators, a subgroup); _chemical_formula_sum x Z "
        "gives 20 non-H atoms per cell, the H-M symbol 'C 2/c' 20, the list 10: the H-M symbol "
        "'C 2/c' is read",
    )


def test_a_list_short_of_the_number_s_group_names_the_number(tmp_path):
    text = GOOD_BLOCK.replace(
        "_symmetry_space_group_name_H-M 'P 21/c'", "_symmetry_Int_Tables_number 14"
    ).replace("-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2\n", "")
    cif = read_cif(_write(tmp_path, text + STATED))
    assert cif.structure.space_group_order == 4
    assert cif.notes == (
        "x.cif line 8: the space-group number 14 names P 1 21/c 1 (4 operators), the operators "
        "listed on line 10 make P 1 (1 operator, a subgroup); _chemical_formula_sum x Z gives "
        "10 non-H atoms per cell, the space-group number 14 10, the list 3: the space-group "
        "number 14 is read",
    )


def test_a_cell_expanded_to_its_listed_operators_keeps_them(tmp_path):
    """The atoms of the whole P 21/c cell with x,y,z alone beside the group's symbol, as a
    writer that expands to P1 and keeps the symbol leaves them: formula x Z counts the list's
    cell, and the list is the structure's."""
    from cctbx import sgtbx

    rows = GOOD_BLOCK.split("C1 C ")[0]
    for label, xyz in (("C1", (0.1, 0.2, 0.3)), ("O1", (0.2, 0.2, 0.3)), ("Cu1", (0, 0, 0))):
        images = {
            tuple(round(c % 1, 4) for c in sgtbx.rt_mx(op) * xyz)
            for op in ("x,y,z", "-x,y+1/2,-z+1/2", "-x,-y,-z", "x,-y+1/2,z+1/2")
        }
        for k, (x, y, z) in enumerate(sorted(images)):
            rows += f"{label}{'abcd'[k]} {label[:-1]} {x} {y} {z} 0.02 1 .\n"
    text = rows.replace("-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2\n", "") + STATED
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == 1 and len(cif.structure.sites) == 10
    assert cif.notes == (
        f"{SHORT}listed on line 10 make P 1 (1 operator, a subgroup); _chemical_formula_sum x Z "
        "gives 10 non-H atoms per cell, the H-M symbol 'P 21/c' 36, the list 10: the list is "
        "read",
    )


# COD 4021477 (P 1, Z 1, 'C10 H17 N O', x,y,z alone) with its symbol made 'P -1', and COD
# 7151730 (P 21, Z 4 with two molecules in the asymmetric unit) with its made 'P 21/m': a right
# list beside a wrong symbol of a larger group. _chemical_formula_sum x Z counts the list's cell.
P1_ATOMS = """_chemical_formula_sum 'C2 H3 N O'
_cell_formula_units_Z {z}
_cell_length_a 6.2686
_cell_length_b 8.196
_cell_length_c 6.084
_cell_angle_alpha 111.81
_cell_angle_beta 101.01
_cell_angle_gamma 110.62
_symmetry_space_group_name_H-M '{symbol}'
loop_
_symmetry_equiv_pos_as_xyz
{ops}
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
C1 C 0.2214 0.3958 0.1376 0.04
C2 C 0.3561 0.1412 0.3119 0.04
N1 N 0.5123 0.0870 0.2290 0.04
O1 O 0.0825 0.4211 0.2050 0.05
"""


@pytest.mark.parametrize(
    "symbol, ops, z, order",
    [
        ("P -1", "'   +x,   +y,   +z'", 1, 1),  # COD 4021477's own list, its symbol made 'P -1'
        ("P 21/m", "'x, y, z'\n'-x, y+1/2, -z'", 2, 2),  # COD 7151730's, its made 'P 21/m'
    ],
)
def test_a_right_list_beside_a_larger_group_s_symbol_keeps_the_list(
    tmp_path, symbol, ops, z, order
):
    text = "data_x\n" + P1_ATOMS.format(z=z, symbol=symbol, ops=ops)
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == order
    assert sum(cif.structure.unit) == 4 * z  # formula x Z: C2 N O per unit, H not modelled
    assert cif.notes[0].endswith(
        f"_chemical_formula_sum x Z gives {4 * z} non-H atoms per cell, the H-M symbol "
        f"'{symbol}' {8 * z}, the list {4 * z}: the list is read"
    )


def test_a_short_list_without_formula_and_z_is_read_as_listed(tmp_path):
    """cif_core's list is the authority; where nothing in the file weighs the two readings, the
    list is read and the note says the symbol names a larger group."""
    text = GOOD_BLOCK.replace("-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2\n", "")
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == 1
    assert cif.notes == (
        f"{SHORT}listed on line 10 make P 1 (1 operator, a subgroup); no "
        "_chemical_formula_sum and _cell_formula_units_Z to weigh them: the list is read "
        "(cif_core: the list is the structure's)",
    )


def test_a_list_of_another_group_than_the_symbol_s_is_read_with_a_note(tmp_path):
    text = GOOD_BLOCK.replace("'P 21/c'", "'P -1'")
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == 4
    assert cif.notes == (
        "x.cif line 8: the H-M symbol 'P -1' names P -1 (2 operators), the operators listed on "
        "line 10 make P 1 21/c 1 (4 operators): the list is read",
    )


@pytest.mark.parametrize(
    "name, order",
    [
        ("codtools_2001925.cif", 4),  # Acta C: x,y,z, x-1,y-1,z, x-1,y,z beside '-P 2yn'
        ("sfarchiv2_2004899.cif", 8),  # NRCVAX: P m c n's non-inversion half
        ("sfarchiv2_2004978.cif", 8),  # TEXSAN: C 2/c's operators each twice, no centring
    ],
)
def test_real_cifs_with_short_lists_hold_their_formula_times_z(shared_data, name, order):
    cif = read_cif(CORPUS / name)
    structure = cif.structure
    assert structure.space_group_order == order
    counted = dict(zip(structure.sfac, structure.unit))
    assert counted["H"] == structure.formula["H"] * structure.formula_units
    assert "_chemical_formula_sum x Z gives" in cif.notes[0]
    assert cif.notes[0].endswith(" is read") and "the list is read" not in cif.notes[0]


@pytest.mark.parametrize(
    "symbol, ops",
    [
        # a P1-expanded cell: pyxtal's write_cif(sym_num=...) writes 'P1', number 1 and x,y,z
        # (MaterSim/PyXtal pyxtal/io.py)
        ("_symmetry_space_group_name_H-M 'P 1'", ["x,y,z"]),
        ("_symmetry_space_group_name_H-M 'P1'\n_symmetry_Int_Tables_number 1", ["x,y,z"]),
        # the group's own operators in another order
        (
            "_symmetry_space_group_name_H-M 'P 21/c'",
            ["-x,-y,-z", "x,-y+1/2,z+1/2", "x,y,z", "-x,y+1/2,-z+1/2"],
        ),
        # P 21/n's operators beside the symbol of its type, as many CIFs of P 21/n are written
        (
            "_symmetry_space_group_name_H-M 'P 21/c'",
            ["x,y,z", "-x+1/2,y+1/2,-z+1/2", "-x,-y,-z", "x+1/2,-y+1/2,z+1/2"],
        ),
        (
            "_symmetry_Int_Tables_number 14",
            ["x,y,z", "-x+1/2,y+1/2,-z+1/2", "-x,-y,-z", "x+1/2,-y+1/2,z+1/2"],
        ),
    ],
)
def test_a_list_that_is_the_named_group_gets_no_note(tmp_path, symbol, ops):
    text = GOOD_BLOCK.replace("_symmetry_space_group_name_H-M 'P 21/c'", symbol).replace(
        "x,y,z\n-x,y+1/2,-z+1/2\n-x,-y,-z\nx,-y+1/2,z+1/2\n", "\n".join(ops) + "\n"
    )
    cif = read_cif(_write(tmp_path, text))
    assert cif.structure.space_group_order == len(ops)
    assert cif.notes == ()


def test_occupancy_within_three_su_of_its_range_reads(tmp_path):
    """cif_core.dic: the value 'must lie in ... -3u =< x =< 1 + 3u'; a refined 1.02(1) is a full
    site and -0.01(1) an empty one, read at the edge they pass; '?' and '.' are its default 1."""
    text = GOOD_BLOCK.replace("0.02 1 .", "0.02 1.02(1) .").replace("0.03 1 .", "0.03 -0.01(1) .")
    sites = read_cif(_write(tmp_path, text)).structure.sites
    assert [s.occupancy for s in sites] == [1.0, 0.0, 1.0]
    text = GOOD_BLOCK.replace("0.02 1 .", "0.02 ? .").replace("0.03 1 .", "0.03 . .")
    assert [s.occupancy for s in read_cif(_write(tmp_path, text)).structure.sites] == [1, 1, 1]


@pytest.mark.parametrize(
    "text, message, line",
    [
        (GOOD_BLOCK.replace("C1 C 0.1 0.2 0.3 0.02 1 .", "C1 C 0.1 0.2"), "CIF syntax error", 15),
        ("# no blocks here\n", "no data block", None),
        (GOOD_BLOCK.replace("_cell_length_b 11.0\n", ""), "no unit cell", 2),
        (GOOD_BLOCK.split("loop_\n_atom_site_label")[0], "no atom sites", 1),
        (GOOD_BLOCK.replace("O1 O 0.2", "O1 Xx 0.2"), "unknown element", 25),
        (GOOD_BLOCK.replace("O1 O 0.2 0.2 0.3", "O1 O 0.2 ? 0.3"), "coordinates", 25),
        (
            GOOD_BLOCK.replace("_atom_site_fract_z\n", "")
            .replace(" 0.3 ", " ")
            .replace("0 0 0 ", "0 0 "),
            "broken.cif:18: the atom_site loop has no _atom_site_fract_z$",
            18,
        ),
        (
            GOOD_BLOCK.replace("0.03 1 .", "0.03 -1 ."),
            r"broken.cif:25: site O1: occupancy -1 is negative$",
            25,
        ),
        # CIF core _atom_site_occupancy is the fraction of the site filled, -3u <= x <= 1 + 3u
        # (cif_core.dic); SHELX's site factor 11.0 pasted in is no such fraction
        (GOOD_BLOCK.replace("0.03 1 .", "0.03 11.0 ."), "site O1: occupancy 11.0 is above 1", 25),
        (GOOD_BLOCK.replace("0.03 1 .", "0.03 1.5(1) ."), "occupancy 1.5\\(1\\) is above 1", 25),
        # gemmi reads these as 1 without a word
        (GOOD_BLOCK.replace("0.03 1 .", "0.03 nan ."), "site O1: occupancy 'nan' is not a", 25),
        (GOOD_BLOCK.replace("0.03 1 .", "0.03 full ."), "site O1: occupancy 'full' is not a", 25),
    ],
)
def test_broken_cif_gives_input_error_with_file_and_line(tmp_path, text, message, line):
    path = _write(tmp_path, text, "broken.cif")
    with pytest.raises(InputError, match=message) as error:
        read_cif(path)
    assert error.value.path == str(path)
    assert error.value.line == line
    assert "\n" not in str(error.value) and str(error.value).startswith(str(path))


def test_missing_file_and_block(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_cif(tmp_path / "absent.cif")
    with pytest.raises(InputError, match="no data block 'other'.*test"):
        read_cif(_write(tmp_path, GOOD_BLOCK), block="other")


def test_default_block_is_the_first_with_atom_sites(tmp_path):
    path = _write(tmp_path, "data_global\n_journal_year 2020\n" + GOOD_BLOCK)
    cif = read_cif(path)
    assert cif.block_name == "test" and [s.line for s in cif.structure.sites] == [26, 27, 28]


def test_ueq_from_anisotropic_u_when_uiso_is_missing(shared_data, tmp_path):
    source = BENCHMARK / "FC_sucrose" / "model.cif"
    text = source.read_text().replace("0.37832(2) 0.00733(3) Uani", "0.37832(2) ? Uani")
    o1 = read_cif(_write(tmp_path, text)).structure.sites[0]
    assert o1.label == "O1" and o1.line == 173
    assert o1.u_iso == pytest.approx(0.00733, abs=2e-5)
    # the CIF loop is U11 U22 U33 U23 U13 U12, as SHELX orders them
    assert o1.u_aniso == pytest.approx((0.00891, 0.00643, 0.00757, -0.00003, 0.00378, -0.00028))


def test_a_cif_with_u_in_the_wrong_units_gets_an_input_error_when_written(tmp_path):
    """COD 2000642 gives U in 10⁻⁴ Å² without saying so (U11 = 457): writing it as SHELX
    would make a free-variable code of it, so the job stops with the file and the line."""
    from crystalx_core.io.shelx_write import new_ins_text

    path = _write(tmp_path, GOOD_BLOCK.replace("O1 O 0.2 0.2 0.3 0.03", "O1 O 0.2 0.2 0.3 457"))
    structure = read_cif(path).structure
    with pytest.raises(InputError, match="O1: displacement parameter 457 .* not physical") as error:
        new_ins_text(structure)
    assert error.value.path == str(path) and error.value.line == 25


def test_labels_read_as_elements_follow_the_formula(shared_data, tmp_path):
    """COD 2003526 has no _atom_site_type_symbol; its hydroxyl H are HO1 and HO3, which gemmi
    reads as holmium. The formula (C10 H20 Cl N O3) has H and no Ho: they are H. With Ho in
    the formula the same labels stay holmium."""
    path = CORPUS / "codtools_2003526-r-factor-with-esd.cif"
    structure = read_cif(path).structure
    elements = {s.label: s.element for s in structure.sites}
    assert elements["HO1"] == elements["HO3"] == "H" and "Ho" not in structure.sfac
    assert structure.sfac == ["C", "H", "Cl", "N", "O"]
    holmium = tmp_path / "holmium.cif"
    holmium.write_text(path.read_text().replace("'C10 H20 Cl N O3'", "'C10 H18 Cl Ho2 N O3'"))
    assert {s.label: s.element for s in read_cif(holmium).structure.sites}["HO1"] == "Ho"


def test_a_cif_of_electron_data_refuses_to_refine_naming_the_wavelength(tmp_path, shared_data):
    """The same check as a .res's CELL (io.hkl.xray_problem), on the CIF's own wavelength."""
    text = (BENCHMARK / "XH_alanine" / "model.cif").read_text()
    path = tmp_path / "ed.cif"
    path.write_text(
        re.sub(
            r"_diffrn_radiation_wavelength\s+0\.71073", "_diffrn_radiation_wavelength 0.0251", text
        )
    )
    loaded = load(path)
    assert loaded.structure.wavelength == 0.0251
    with pytest.raises(InputError) as caught:
        loaded.reflection_format()
    assert str(caught.value) == (
        f"{path}: _diffrn_radiation_wavelength: wavelength 0.0251 Å is not X-ray; "
        "CrystalX refines X-ray data"
    )
