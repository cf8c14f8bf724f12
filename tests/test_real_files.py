"""Conventions met in sessions 18 and 19's sweeps of real files from other labs and programs
(benchmarks/real_files_sweep.py; docs/benchmarks.md, 'Real files from other labs'). Each test
writes a few lines in the layout of the real file it names; the real files are not kept here."""

import io
import json

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest
from cctbx import xray

from crystalx_core.cli import main
from crystalx_core.errors import InputError
from crystalx_core.io import load
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import parse_shelx
from tests.conftest import BENCHMARK

# richardicooper/crystals precomp/all/demo/Bruce/shelxs.ins
# @ ce42008cfed6ed23f5fcd230e09419f2e05543f3
# (CRYSTALS writes its H as fixed coordinates, 10 added), cut to one atom and two H
FIXED_COORDINATES = (
    "TITL Foxman     in p -1\n"
    "CELL  0.71073   7.28550  12.39540  16.47080  98.32998  90.80698  99.24500\n"
    "ZERR    2 0.0004 0.0007 0.0008 0.0030 0.0030 0.0030\n"
    "LATT   1\n"
    "SFAC C H\n"
    "UNIT    56.   86.\n"
    "C9          1   0.88322  -0.07490   0.08631  11.00000   0.02171\n"
    "H91         2  10.91726   9.99716  10.07547  11.00000   0.02183\n"
    "H101        2  11.00090   9.85269   9.98881  11.00000   0.02294\n"
)


def test_a_fixed_coordinate_below_zero_keeps_its_sign():
    """SHELX fixes a parameter by adding 10: a fixed y of -0.00284 is written 9.99716 (x - 10,
    as iotbx.shelx decodes it, scitbx.math.divmod: m = 1, p = -0.00284). The reader gave
    +0.00284, moving each such H across its ring's plane (H101's y: 0.147 instead of -0.147,
    3.7 Å off along b of 12.4 Å)."""
    structure = parse_shelx(FIXED_COORDINATES, "shelxs.ins").to_structure()
    by_label = {s.label: s.frac for s in structure.sites}
    assert by_label["H91"] == pytest.approx((0.91726, -0.00284, 0.07547))
    assert by_label["H101"] == pytest.approx((1.00090, -0.14731, -0.01119))
    theirs = xray.structure.from_shelx(file=io.StringIO(FIXED_COORDINATES), strictly_shelxl=False)
    for sc in theirs.scatterers():
        assert by_label[sc.label] == pytest.approx(sc.site, abs=1e-6), sc.label


@pytest.mark.parametrize(
    "code, value", [(10.0, 0.0), (10.5, 0.5), (9.99716, -0.00284), (5.5, -4.5), (14.5, 4.5)]
)
def test_a_fixed_parameter_is_its_code_less_ten(code, value):
    """SHELXL manual, atom lists: 'To fix any atom parameter, add 10'; iotbx.shelx decodes m, p
    = scitbx.math.divmod(code, 10) and fixes p for m = 1, a p below zero included."""
    from scitbx.math import divmod as shelx_divmod

    from crystalx_core.io.shelx_read import decode_parameter

    assert decode_parameter(code, [1.0], "x", "x.ins", 1) == pytest.approx(value)
    assert shelx_divmod(code, 10) == pytest.approx((1, value))


def test_a_fixed_code_below_zero_is_refused_naming_both_readings(tmp_path, capsys):
    """-(10 + p): SHELXL fixes it at 0 (iotbx.shelx parsers.decode_variables, m == -1, 'ShelXL
    does indeed behave so': here iotbx reads -10.5 as 0), while its writer surely meant -p (no
    program writes one: SHELXL and iotbx write 10 + p). It was read as -0.5, a model SHELXL
    would not refine; now the job stops on that line, naming both readings and what to write."""
    from crystalx_core.io.shelx_read import decode_parameter

    with pytest.raises(InputError, match=r"x\.ins:1: coordinate -10\.5: SHELXL fixes .* at 0"):
        decode_parameter(-10.5, [1.0], "coordinate", "x.ins", 1)
    text = FIXED_COORDINATES.replace("0.88322", "-10.50000")
    theirs = xray.structure.from_shelx(file=io.StringIO(text))
    assert {sc.label: sc.site for sc in theirs.scatterers()}["C9"][0] == 0.0
    ins = tmp_path / "shelxs.ins"
    ins.write_text(text)
    assert main(["assign", str(ins), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "shelxs.ins:7" in err and "write 9.5 to fix -0.5, or 10 to fix 0" in err
    assert "Traceback" not in err


def test_a_fixed_coordinate_moved_below_zero_is_written_as_shelxl_reads_it():
    """A fixed coordinate moved by whole cells (a model with |x| >= 5 elsewhere, _lattice_shift)
    to below zero is written 10 + x (-3.7 as 6.3), as iotbx.shelx writes a fixed value
    (fvar_encoding: 10 + c) and decodes it (m = 1, p = x). It was written -13.7, which
    SHELXL reads as 0: iotbx.shelx parsers.decode_variables, m == -1, 'ShelXL does indeed
    behave so'; the atom would have moved 3.7 cells in the user's next refinement."""
    from dataclasses import replace

    from crystalx_core.io.shelx_write import render_with_sites

    shelx = parse_shelx(FIXED_COORDINATES.replace("0.88322", "10.30000"), "shelxs.ins")
    structure = shelx.to_structure()
    far = [
        replace(s, frac=(s.frac[0] + 5, *s.frac[1:])) if s.label != "C9" else s
        for s in structure.sites
    ]  # H91, H101 beyond x = 5: the model moves 4 cells back
    written = render_with_sites(shelx, replace(structure, sites=far))
    c9 = next(line.split() for line in written.splitlines() if line.startswith("C9"))
    assert float(c9[2]) == pytest.approx(6.3)  # fixed, at -3.7
    theirs = xray.structure.from_shelx(file=io.StringIO(written))  # SHELXL's reading
    assert {sc.label: sc.site for sc in theirs.scatterers()}["C9"][0] == pytest.approx(-3.7)
    ours = {s.label: s.frac for s in parse_shelx(written, "x.res").to_structure().sites}
    assert ours["C9"][0] == pytest.approx(-3.7)


# richardicooper/crystals precomp/all/demo/chargeflip/chargeflip/CCDC677069/CCDC677069.ins
# @ e28238a1eada5dd3758e18ebd3fc9f0dfded5d02 (an .ins for a charge-flipping demo), whole
HKLF_GLUED = (
    "TITL ger2c in C2/m \n"
    "REM C2/m\n"
    "CELL 1.54184  19.0547   5.9001  23.5604  90.0000  94.4109  90.0000\n"
    "ZERR   10.00   0.0002   0.0001   0.0003   0.0000   0.0010   0.0000\n"
    "LATT  7\n"
    "SYMM -x, y,-z \n"
    "SFAC C  O P N\n"
    "UNIT 120.00 100.00 20.00 10.00\n"
    "TREF\n"
    "HKLF4\n"
    "END\n"
)


def test_an_instruction_glued_to_its_number_is_read_as_shelx_reads_it():
    """SHELX takes an instruction by its first four letters, so 'HKLF4' is HKLF 4 (iotbx.shelx's
    lexer reads ('HKLF', (4.0,))). It was refused: 'HKLF needs an integer, got '''."""
    shelx = parse_shelx(HKLF_GLUED, "CCDC677069.ins")
    assert shelx.hklf is not None and shelx.hklf.code == 4
    assert shelx.to_structure().cell == pytest.approx((19.0547, 5.9001, 23.5604, 90, 94.4109, 90))


# PyPI pycifrw 5.0.1 (jamesrhester/pycifrw) tests/multi-image-test.cif: an imgCIF (CIF 2, DDLm
# names) giving _diffrn_radiation_wavelength.id and a loop with _diffrn_radiation.wavelength_id;
# here with a cell and two atoms in the same dialect
CIF2_TWO_NAMES_ONE_ALIAS = """#\\#CIF_2.0
data_Merged_scans
_diffrn.id                              DS1
_diffrn_radiation_wavelength.id         L1
loop_
  _diffrn_radiation.wavelength_id
  _diffrn_radiation.diffrn_id
  _diffrn_radiation_wavelength.wavelength
         L1        DS1       0.711955
_cell.length_a 7.0
_cell.length_b 8.0
_cell.length_c 9.0
_cell.angle_alpha 90
_cell.angle_beta 90
_cell.angle_gamma 90
_space_group.name_H-M_alt 'P 1'
loop_
  _space_group_symop.operation_xyz
  'x,y,z'
loop_
  _atom_site.label
  _atom_site.type_symbol
  _atom_site.fract_x
  _atom_site.fract_y
  _atom_site.fract_z
  _atom_site.U_iso_or_equiv
  C1 C 0.10 0.20 0.30 0.02
  O1 O 0.25 0.20 0.30 0.03
"""


def test_two_dotted_names_with_one_ddl1_alias_are_not_a_duplicate_tag(tmp_path):
    """_diffrn_radiation.wavelength_id and _diffrn_radiation_wavelength.id both join to
    _diffrn_radiation_wavelength_id when the dot becomes '_': the CIF was refused as
    'duplicate tag'. Such a pair now stays under its DDLm names; the structure is read."""
    path = tmp_path / "merged.cif"
    path.write_text(CIF2_TWO_NAMES_ONE_ALIAS)
    entry = read_cif(path)
    assert [s.label for s in entry.structure.sites] == ["C1", "O1"]
    assert entry.structure.cell == pytest.approx((7, 8, 9, 90, 90, 90))
    assert load(path).structure.sites[1].element == "O"


def _fragment_of(name: str, labels: list[str]) -> str:
    """A SHELX file holding `labels` alone of the benchmark's published `name` under its whole
    UNIT, as dkratzert/DSR's CSD fragment exports are written (pictures/pyrazole-CUJWEK.res @
    387e9f36: one pyrazole of a Ru tris(pyrazolyl)borate under the complex's UNIT; benzene-
    UGEDEQ.res: the benzene of an iodide salt), each atom isotropic at 0.05, no HKLF."""
    lines = (BENCHMARK / name / "published.res").read_text().splitlines()
    header = [
        line
        for line in lines
        if line.split()[:1]
        and line.split()[0].upper() in ("TITL", "CELL", "ZERR", "LATT", "SYMM", "SFAC", "UNIT")
    ]
    atoms = []
    for line in lines:
        words = line.split()
        if words[:1] and words[0] in labels:
            atoms.append(f"{words[0]} {words[1]} {words[2]} {words[3]} {words[4]} 11.00000 0.05000")
    assert len(atoms) == len(labels)
    return "\n".join(header + ["FVAR 1.00"] + atoms + ["END"]) + "\n"


@pytest.mark.parametrize(
    "name, labels, absent",
    [
        # a phenyl ring of the Ni complex, under UNIT C H N P Cl Ni
        ("SXF_I43d", ["C6", "C7", "C8", "C9", "C10", "C11"], {"Ni", "P", "Cl"}),
        # one alternative's N-C chain of the phosphazene salt, under UNIT C H N P Cl
        ("FC_p31c", ["N1", "C1", "C2", "C3"], {"P", "Cl"}),
    ],
)
def test_a_fragment_is_not_given_every_element_of_its_unit(
    shared_data, tmp_path, name, labels, absent
):
    """A fragment of the asymmetric unit under the whole structure's UNIT (DSR's exports: 5 of
    CUJWEK's 27 atoms, 6 of UGEDEQ's 17). The rule that gives each SFAC element an atom put
    CUJWEK's Ru, P and B on three of the pyrazole's atoms, UGEDEQ's I on a benzene C. An
    element is now given a site only where the sites more likely than not hold one of its
    atoms (a Poisson estimate from the share of the asymmetric unit they hold); a complete
    model is covered as before (tests/test_assign_model.py)."""
    path = tmp_path / f"{name}.res"
    path.write_text(_fragment_of(name, labels))
    assert main(["assign", str(path), "--json", "--quiet"]) == 0
    result = json.loads((tmp_path / f"{name}_crystalx.json").read_text())
    elements = {a["element"] for a in result["atoms"]}
    assert not elements & absent, elements
    assert len(result["atoms"]) == len(labels)


# PyPI dans-diffraction 3.4.0 (DanPorter/Dans_Diffraction) Dans_Diffraction/Structures/
# NaCoO2_stripe_supercell.cif, as Dans_Diffraction's writecif writes it: its first 13 lines
# and a cell
UNQUOTED_WORDS = """#----------------------------------------------------------------------
#   Crystal Structure: NaCoO2_stripe_supercell
#----------------------------------------------------------------------
# CIF created in Dans_Diffraction
# Original cif:
# Na0.8CoO2_P63mmc.cif
# Comments:
# Na0.8CoO2 Stripe Supercell. P = [[3, 0, 0], [4, 5, 0], [0, 0, 1]]

data_WRITECIF
_chemical_name_mineral                   ?
_chemical_name_common                    ?
_pd_phase_name                           Na0.8CoO2_P63mmc supercell
_chemical_formula_sum                    Na0.8CoO2
_cell_length_a                           8.550000
"""


def test_a_value_of_several_words_without_quotes_is_named_as_such(tmp_path):
    """gemmi says only 'parse error' at line 13; the message now says what is wrong there (a
    value with a space, unquoted: not CIF, which gemmi and we refuse alike) and what to do."""
    path = tmp_path / "supercell.cif"
    path.write_text(UNQUOTED_WORDS)
    with pytest.raises(InputError) as refused:
        read_cif(path)
    message = str(refused.value)
    assert f"{path}:13:" in message and "_pd_phase_name" in message
    assert "Na0.8CoO2_P63mmc supercell" in message and "quotes" in message
    assert "\n" not in message


# PyPI cryspy 0.18.0, cryspy/procedure_simulation/crystal_Ho2Ti2O7.rcif (pyrochlore; the
# origin is named by _space_group_IT_coordinate_system_code, no operator list), cut to its cell,
# symbol and sites
ORIGIN_CHOICE_TWO = (
    "data_ho2ti2o7\n"
    "_cell_length_a 10.268610\n_cell_length_b 10.268610\n_cell_length_c 10.268610\n"
    "_cell_angle_alpha 90.0\n_cell_angle_beta 90.0\n_cell_angle_gamma 90.0\n"
    '_space_group_name_H-M_alt "F d -3 m"\n'
    "_space_group_IT_coordinate_system_code 2\n"
    "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
    "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
    "  Ho   Ho3+   0.500000   0.500000   0.500000\n"
    "  Ti   Ti3+   0.000000   0.000000   0.000000\n"
    "  O1    O2-   0.329600   0.125000   0.125000\n"
    "  O2    O2-   0.375000   0.375000   0.375000\n"
)


def _shortest(structure, one: str, other: str) -> float:
    """Shortest distance (Å) from site ONE to any image of site OTHER under the read symmetry."""
    import numpy as np

    sites = {s.label: np.array(s.frac) for s in structure.sites}
    orth = np.array(structure.orthogonalisation)
    best = float("inf")
    for rotation, translation in structure.symmetry_matrices():
        image = np.array(rotation) @ sites[other] + np.array(translation)
        delta = image - sites[one]
        delta -= np.round(delta)
        best = min(best, float(np.linalg.norm(orth @ delta)))
    return best


@pytest.mark.parametrize(
    "tag", ["_space_group_IT_coordinate_system_code", "_space_group.IT_coordinate_system_code"]
)
def test_the_origin_choice_a_cif_names_is_the_one_read(tmp_path, tag):
    """cif_core's _space_group_IT_coordinate_system_code ('1', '2'; 'H', 'R') says which
    setting an H-M symbol means; gemmi's lookup of the bare symbol gives origin choice 1. Read
    at origin 1, cryspy's pyrochlore put its O 0.47 Å apart and Ti 2.22 Å from O2 (a TiO8 like
    the Ho's), and the model swapped Ho and Ti; at origin 2 Ti has its six O at 1.99 Å."""
    path = tmp_path / "crystal_Ho2Ti2O7.cif"
    path.write_text(ORIGIN_CHOICE_TWO.replace("_space_group_IT_coordinate_system_code", tag))
    structure = read_cif(path).structure
    assert _shortest(structure, "Ti", "O1") == pytest.approx(1.99, abs=0.01)
    assert _shortest(structure, "Ti", "O2") > 4.0
    assert _shortest(structure, "O1", "O2") > 2.5
    first = tmp_path / "origin1.cif"
    first.write_text(ORIGIN_CHOICE_TWO.replace("code 2", "code 1"))
    assert _shortest(read_cif(first).structure, "O1", "O2") < 1.0


def test_an_operator_list_outranks_the_setting_code(tmp_path):
    """The CIF's own operators are the symmetry wherever they form a group; the setting code
    only chooses among the settings a bare symbol leaves open. Origin-2 operators written
    beside a code of 1 (easydiffraction's scripts set '1' by default) keep the atoms at
    origin 2."""
    from cctbx import sgtbx

    ops = [str(op) for op in sgtbx.space_group_info("F d -3 m :2").group()]
    listed = "loop_\n_space_group_symop_operation_xyz\n" + "".join(f"'{op}'\n" for op in ops)
    path = tmp_path / "listed.cif"
    path.write_text(
        ORIGIN_CHOICE_TWO.replace("code 2", "code 1").replace(
            "loop_\n_atom_site_label", listed + "loop_\n_atom_site_label"
        )
    )
    entry = read_cif(path)
    assert _shortest(entry.structure, "O1", "O2") > 2.5
    assert _shortest(entry.structure, "Ti", "O1") == pytest.approx(1.99, abs=0.01)
    assert not entry.notes


@pytest.mark.parametrize(
    "symmetry", ["_space_group_name_H-M_alt 'R -3'", "_space_group_IT_number 148"]
)
@pytest.mark.parametrize(
    "cell, code, order",
    [("5 5 5 80 80 80", "H", 6), ("5 5 14 90 90 120", "R", 18), ("5 5 14 90 90 120", "H", 18)],
)
def test_an_r_groups_axes_are_the_cells(tmp_path, symmetry, cell, code, order):
    """An R group's axes are those of the cell the coordinates are given on (a = b = c, alpha =
    beta = gamma: rhombohedral, 6 operators; gamma 120: hexagonal, 18), gemmi's rule for a bare
    symbol, even where _space_group_IT_coordinate_system_code names the other: rhombohedral
    operators on a hexagonal cell are no symmetry of it."""
    a, b, c, alpha, beta, gamma = cell.split()
    path = tmp_path / "r.cif"
    path.write_text(
        f"data_r\n_cell_length_a {a}\n_cell_length_b {b}\n_cell_length_c {c}\n"
        f"_cell_angle_alpha {alpha}\n_cell_angle_beta {beta}\n_cell_angle_gamma {gamma}\n"
        f"{symmetry}\n_space_group_IT_coordinate_system_code {code}\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
        "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n  C1 C 0.1 0.2 0.3\n"
    )
    assert len(read_cif(path).structure.symops) == order


# PyPI cryspy 0.18.0, cryspy/procedure_simulation/crystal_URu0.96Rh0.04Si2.rcif (a magnetic
# CIF: operators with a time-reversal fourth component, centring in a loop of its own), cut to
# its cell, symmetry and three sites
MAGNETIC_OPERATORS = (
    "data_ururhsi\n"
    "_cell_length_a 12.426000\n_cell_length_b 4.142000\n_cell_length_c 9.624000\n"
    "_cell_angle_alpha 90.0\n_cell_angle_beta 90.0\n_cell_angle_gamma 90.0\n"
    "loop_\n_space_group_symop_magn_centering_xyz\n_space_group_symop_magn_centering_id\n"
    "              x,y,z,+1   1\n"
    "  x+1/2,y+1/2,z+1/2,+1   2\n"
    "loop_\n_space_group_symop_magn_operation_xyz\n_space_group_symop_magn_operation_id\n"
    "     x,y,z,+1   1\n   -x,-y,z,+1   2\n  -x,-y,-z,+1   3\n    x,y,-z,+1   4\n"
    "   x,-y,-z,-1   5\n   -x,y,-z,-1   6\n    -x,y,z,-1   7\n    x,-y,z,-1   8\n"
    "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
    "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\n"
    "   U_1   U3+   0.000000   0.000000   0.000000    1.0\n"
    "  Ru_1    Ru   0.500000   0.000000   0.250000   0.96\n"
    "  Si_1    Si   0.000000   0.000000   0.629000    1.0\n"
)


def test_a_magnetic_cif_is_read_by_the_spatial_part_of_its_operators(tmp_path):
    """magCIF (_space_group_symop_magn_operation.xyz, _space_group_symop_magn_centering.xyz)
    writes 'x,y,z,+1': the spatial operator, then time reversal (±1), which moves no atom. The
    atoms' space group is every operation with every centring (Immm here, order 16); the file
    was refused as having no usable symmetry."""
    from cctbx import sgtbx

    path = tmp_path / "crystal_URu0.96Rh0.04Si2.cif"
    path.write_text(MAGNETIC_OPERATORS)
    entry = read_cif(path)
    ops = entry.structure.symops
    assert len(ops) == 16
    group = sgtbx.space_group()
    for op in ops:
        group.expand_smx(sgtbx.rt_mx(op))
    assert str(sgtbx.space_group_info(group=group).type().lookup_symbol()) == "I m m m"
    assert any("magnetic" in note for note in entry.notes)


# PyPI easydiffraction 0.11.1, tmp/data/lbco.cif (CIF2 dotted names; a cubic cell given with
# two of its three angles), its first lines
CELL_WITHOUT_GAMMA = (
    "data_lbco\n\n"
    " _space_group.IT_coordinate_system_code  1\n"
    ' _space_group.name_H-M_alt  "P m -3 m"\n\n'
    " _cell.angle_alpha  90\n _cell.angle_beta  90\n"
    " _cell.length_a  3.88\n _cell.length_b  3.88\n _cell.length_c  3.88\n\n"
    " loop_\n _atom_site.fract_x\n _atom_site.fract_y\n _atom_site.fract_z\n _atom_site.label\n"
    " _atom_site.type_symbol\n 0.5 0.5 0.5 Co Co\n"
)


def test_a_cell_without_an_angle_names_the_angle(tmp_path):
    """A cell missing one parameter was refused as having 'no unit cell (_cell_length_a ...
    _cell_angle_gamma)' though five were given; the message now names the one not given, on
    the cell's first line. (Not read as 90: gemmi reads no cell at all then, a (1, 1, 1)
    cube.)"""
    path = tmp_path / "lbco.cif"
    path.write_text(CELL_WITHOUT_GAMMA)
    with pytest.raises(InputError) as caught:
        read_cif(path)
    assert "no value for _cell_angle_gamma (" in str(caught.value)
    assert "_cell_length_a" not in str(caught.value).split("(")[0]
    assert caught.value.line == 6  # the cell's first line


# PyPI pyxtal 1.1.5, pyxtal/database/cifs/MPWO.cif (written by pymatgen: the sum is the cell's
# contents, Z counts the reduced formula): its header and tag order, here with rock salt's
# cell and two sites; the same layout as every pymatgen CIF of PyPI mofchecker 0.9.6's
# tests/test_files
PER_CELL_SUM = (
    "# generated using pymatgen\ndata_NaCl\n_symmetry_space_group_name_H-M   'F m -3 m'\n"
    "_cell_length_a   5.64\n_cell_length_b   5.64\n_cell_length_c   5.64\n"
    "_cell_angle_alpha   90.0\n_cell_angle_beta   90.0\n_cell_angle_gamma   90.0\n"
    "_symmetry_Int_Tables_number   225\n_chemical_formula_structural   NaCl\n"
    "_chemical_formula_sum   'Na4 Cl4'\n_cell_formula_units_Z   4\n"
    "loop_\n _atom_site_type_symbol\n _atom_site_label\n _atom_site_symmetry_multiplicity\n"
    " _atom_site_fract_x\n _atom_site_fract_y\n _atom_site_fract_z\n _atom_site_occupancy\n"
    "  Na  Na0  4  0.0  0.0  0.0  1\n  Cl  Cl1  4  0.5  0.5  0.5  1\n"
)


def test_a_sum_written_per_cell_is_no_disagreement(tmp_path):
    """pymatgen writes _chemical_formula_sum as the cell's contents beside Z formula units of
    the reduced formula, where CIF core means one formula unit: every such file was told
    '_chemical_formula_sum x Z gives Na 16, Cl 16 per cell, the atom sites Na 4, Cl 4'. A sum
    the sites match as written says nothing; a sum x Z that differs still does."""
    from crystalx_core.io.cif import formula_note

    path = tmp_path / "MPWO.cif"
    path.write_text(PER_CELL_SUM)
    assert formula_note(read_cif(path).structure) == ""
    path.write_text(PER_CELL_SUM.replace("'Na4 Cl4'", "'Na2 Cl2'"))
    assert "x Z gives Na 8, Cl 8 per cell" in formula_note(read_cif(path).structure)


# dans-diffraction 3.4.0 (PyPI sdist) Dans_Diffraction/Structures/Na0.8CoO2_P63mmc.cif, written
# by VESTA: no formula; its cell, group by name, atom loop as written (operators and the Uij loop
# left out). Na1 (0.2) and Na2 (0.6) are the two sites the Na share between the CoO2 layers
NA_COBALTATE = """data_VESTA_phase_1

_pd_phase_name                         ''
_cell_length_a                         2.85000
_cell_length_b                         2.85000
_cell_length_c                         10.80000
_cell_angle_alpha                      90
_cell_angle_beta                       90
_cell_angle_gamma                      120
_symmetry_space_group_name_H-M         'P 63/m m c'
_symmetry_Int_Tables_number            194

loop_
   _atom_site_label
   _atom_site_occupancy
   _atom_site_fract_x
   _atom_site_fract_y
   _atom_site_fract_z
   _atom_site_adp_type
   _atom_site_U_iso_or_equiv
   _atom_site_type_symbol
   Co1        1.0     0.000000      0.000000      0.000000     Uiso  0.004500 Co
   O1         1.0     0.333333     -0.333333      0.0908(5)    Uiso  0.004956 O
   Na1        0.2000  0.000000      0.000000      0.250000     Uiso  0.040333 Na
   Na2        0.6000  0.666667      0.333333      0.250000     Uiso  0.011889 Na
"""


def test_a_partly_occupied_alkali_site_stays_the_alkali(tmp_path, capsys):
    """Na0.8CoO2's Na2 (0.6 occupied) became O: the first guess the heavy model reads
    (baseline._hand_out) counted each site whole, so Na1 alone (2 of the cell's 1.6 Na) used up
    the Na and Na2 was guessed O, which the model followed (O 0.60, Na 0.26). Each site now
    counts for what it holds (multiplicity × occupancy), as UNIT and the formula fit count it."""
    from crystalx_core.assign.baseline import assign_baseline

    path = tmp_path / "Na0.8CoO2_P63mmc.cif"
    path.write_text(NA_COBALTATE)
    structure = read_cif(path).structure
    guessed = {s.label: s.element for s in assign_baseline(structure).sites}
    assert guessed == {"Co1": "Co", "O1": "O", "Na1": "Na", "Na2": "Na"}
    assert main(["assign", str(path), "--out", str(tmp_path) + "/", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {a["label"]: a["element"] for a in report["atoms"]} == guessed
    assert [a["h_count"] for a in report["atoms"]] == [0, 0, 0, 0]
