"""Conventions met in real files of other labs (session 10's survey of public repositories):
each test reproduces one in a small file written here and names the file it was seen in."""

import json
import re
from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.io.cif import _not_xray
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites

# dkratzert/ShelXFile tests/resources/test_bedelone_inline.res (SHELXL 2019), cut to two atoms
BEDE_LONE = (
    "TITL test_bede_lone_inline.res in P2(1)2(1)2(1)\n"
    "CELL  0.71073   5.9682   9.0435  18.3940   90.000   90.000   90.000\n"
    "ZERR    4.000   0.0001   0.0001   0.0003    0.000    0.000    0.000\n"
    "LATT -1\nSYMM 1/2-X, -Y, 1/2+Z\nSYMM -X, 1/2+Y, 1/2-Z\nSYMM 1/2+X, 1/2-Y, -Z\n"
    "SFAC C H O S\nUNIT 44 40 8 4\nL.S. 10\n"
    "FVAR       1.04075   0.39165   0.51366   0.62866\n"
    "S1    4    0.190322    0.680965    0.259571    11.00000    0.03991\n"
    "C8    1    0.363959    0.623727    0.327809    11.00000    0.03852\n"
    "\nBEDE S1 C8 1.708 20.874 30.112 40.382\nLONE S1 2 21.786 30.164 40.361 1.786 92.00\n"
    "\nHKLF 4\n\n"
    "L1      2    0.32950    0.63509    0.31426  !    0.18094    0.21368  S1\n\nEND\n"
)


def _rewritten(text: str, labels: dict[str, tuple[str, str]]) -> tuple[str, list[str]]:
    """The .res written after giving atoms a new (label, element), as a job does."""
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, label=labels[s.label][0], element=labels[s.label][1]) if s.label in labels else s
        for s in structure.sites
    ]
    notes: list[str] = []
    return render_with_sites(shelx, structure.with_sites(sites), notes=notes), notes


def test_bede_and_lone_follow_a_retyped_atom():
    """SHELXL 2019's BEDE (bonding density between two atoms) and LONE (lone pairs of an atom)
    name their atoms before their numbers; an S1 retyped to O1 kept 'BEDE S1 C8' and
    'LONE S1', which SHELXL stops on (no atom S1). Both now follow the atom, their numbers
    (free-variable codes such as 20.874) untouched; what SHELXL wrote after HKLF is kept."""
    out, _ = _rewritten(BEDE_LONE, {"S1": ("O1", "O")})
    lines = out.splitlines()
    assert "BEDE O1 C8 1.708 20.874 30.112 40.382" in lines
    assert "LONE O1 2 21.786 30.164 40.361 1.786 92.00" in lines
    assert not [ln for ln in lines if ln.startswith(("BEDE S1", "LONE S1"))]
    assert "L1      2    0.32950    0.63509    0.31426  !    0.18094    0.21368  S1" in lines


# materialsproject/pymatgen tests/files/cif/Cod_2100513.cif (COD 2100513, a GSAS2CIF file of
# neutron powder data, BT-1 at NIST), cut to its cell, symmetry and atoms
NEUTRON_CIF = """data_2100513
_chemical_formula_sum            'Al Ca2 Nb O6'
_symmetry_space_group_name_H-M   'P 1 21/n 1'
_audit_creation_method           'from EXP file using GSAS2CIF'
_cell_angle_alpha                90.0
_cell_angle_beta                 89.970(4)
_cell_angle_gamma                90.0
_cell_formula_units_Z            2
_cell_length_a                   5.37706(9)
_cell_length_b                   5.41557(9)
_cell_length_c                   7.62550(13)
_diffrn_radiation_probe          {probe}
_diffrn_radiation_type           {kind}
_diffrn_radiation_wavelength     1.5403
loop_
_symmetry_equiv_pos_site_id
_symmetry_equiv_pos_as_xyz
1 +x,+y,+z
2 -x+1/2,+y+1/2,-z+1/2
-1 -x,-y,-z
-2 +x+1/2,-y+1/2,+z+1/2
loop_
_atom_site_type_symbol
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_thermal_displace_type
_atom_site_occupancy
CA Ca 0.5059(4) 0.5309(2) 0.2485(8) 0.0116(3) Uiso 1.0
AL Al1 0.0 0.5 0.0 0.00365(19) Uiso 0.941(8)
NB Nb1 0.0 0.5 0.0 0.00365(19) Uiso 0.059(8)
AL Al2 0.5 0.0 0.0 0.00365(19) Uiso 0.059(8)
NB Nb2 0.5 0.0 0.0 0.00365(19) Uiso 0.941(8)
O O1 0.2092(6) 0.2158(7) -0.0340(5) 0.0063(8) Uiso 1.0
O O2 0.2824(6) 0.7130(8) -0.0338(6) 0.0091(8) Uiso 1.0
O O3 0.4333(2) -0.01305(19) 0.2529(6) 0.0085(3) Uiso 1.0
"""
HKL = "   1   0   0  100.00    1.00\n   0   1   1  200.00    2.00\n   0   0   0    0.00    0.00\n"


@pytest.mark.parametrize(
    "probe, kind, line",
    [
        ("neutron", "neutron", 12),
        ("?", "neutron", 13),
        (".", "'fixed wavelength neutron'", 13),
        ("electron", "?", 12),
    ],
)
def test_neutron_data_a_cif_declares_are_not_refined_as_x_ray_data(
    tmp_path, capsys, probe, kind, line
):
    """GSAS and Jana write neutron CIFs at wavelengths an X-ray tube could have (1.5403 Å),
    so only _diffrn_radiation_probe (CIF core: x-ray, neutron, electron, gamma) or the older
    _diffrn_radiation_type says what they are. `assign --hkl` refined such data with X-ray
    form factors; now it stops on that line, as a .res's NEUT does, and writes nothing. The
    atoms are still assigned without --hkl."""
    cif = tmp_path / "x.cif"
    cif.write_text(NEUTRON_CIF.format(probe=probe, kind=kind))
    (tmp_path / "x.hkl").write_text(HKL)
    args = ["assign", str(cif), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main([*args, "--hkl", str(tmp_path / "x.hkl")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"crystalx: error: {cif}:{line}: _diffrn_radiation_")
    assert "not X-ray data; CrystalX refines X-ray data only" in err and err.count("\n") == 1
    # SHELXL's NEUT is for neutrons only; electron data go back to the program that wrote them
    neutron = "neutron" in probe + kind
    assert ("in SHELXL with NEUT, or in the program that wrote it)" in err) == neutron
    assert err.endswith("(refine this one in the program that wrote it)\n") != neutron
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.cif", "x.hkl"]
    assert main(args) == 0
    notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
    wanted = "add NEUT before" if neutron else "give SHELXL electron form factors"
    assert any(
        f"not X-ray data: the .res written is set up for X-rays ({wanted}" in n for n in notes
    )


@pytest.mark.parametrize("tag", ["_diffrn_radiation.probe", "_diffrn_radiation.type"])
def test_the_cif2_dotted_probe_tags_say_neutron_too(tag):
    """CIF2/DDLm files (and the dotted space-group tags read elsewhere) write the category
    and attribute with a dot: _diffrn_radiation.probe neutron was read as X-ray data."""
    text = NEUTRON_CIF.format(probe="?", kind="?").replace(
        "_diffrn_radiation_wavelength", f"{tag} neutron\n_diffrn_radiation_wavelength"
    )
    block = gemmi.cif.read_string(text).sole_block()
    assert _not_xray(block) == (tag, "neutron")


def test_a_neutron_cif_carrying_its_reflections_is_not_told_to_add_them(tmp_path):
    """A CIF with its own reflections (_shelx_hkl_file) gets the note 'add --hkl x.cif to
    refine against them'; for neutron data, which `--hkl` refuses, that note led nowhere."""
    cif = tmp_path / "x.cif"
    embedded = "_shelx_hkl_file\n;\n" + HKL + ";\n"
    cif.write_text(NEUTRON_CIF.format(probe="neutron", kind="?") + embedded)
    args = ["assign", str(cif), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
    assert any("not X-ray data" in n for n in notes)
    assert not any("add --hkl" in n for n in notes)
    cif.write_text(NEUTRON_CIF.format(probe="x-ray", kind="?") + embedded)
    assert main(args) == 0
    notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
    assert any("carries its reflections (_shelx_hkl_file): add --hkl" in n for n in notes)


def test_an_x_ray_cif_saying_so_is_let_through_to_refinement(tmp_path):
    """'x-ray' (or a tube's 'MoK\\a' in _diffrn_radiation_type) is X-ray data: the check
    refuses nothing else, and the reflection format (asked before --hkl reads a file) comes
    back where the neutron CIF's is refused."""
    from crystalx_core.errors import InputError
    from crystalx_core.io import load

    cif = tmp_path / "x.cif"
    for probe, kind in (("x-ray", "neutron"), ("?", "'MoK\\a'"), ("?", "synchrotron")):
        cif.write_text(NEUTRON_CIF.format(probe=probe, kind=kind))
        assert load(cif).reflection_format() is None  # no .res embedded: HKLF 4 is assumed
    cif.write_text(NEUTRON_CIF.format(probe="neutron", kind="?"))
    with pytest.raises(InputError, match="not X-ray data"):
        load(cif).reflection_format()


# the superspace group and operators of COD's modulated entry 4331458 as Jmol's CIF reader
# quotes them (org/jmol/adapter/readers/cif, a comment); cell and atoms made up here
MODULATED = """data_ssg
_cell_length_a 7.7
_cell_length_b 7.7
_cell_length_c 5.1
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_cell_modulation_dimension 2
_space_group_ssg_name_WJJ        P-42_1m(a,a,0)00s(-a,a,0)000
{average}loop_
_space_group_symop_ssg_id
_space_group_symop_ssg_operation_algebraic
1 x1,x2,x3,x4,x5
2 -x1,-x2,x3,-x4,-x5
3 x2,-x1,-x3,x5,-x4
4 -x2,x1,-x3,-x5,x4
5 -x1+1/2,x2+1/2,-x3,x5+1/2,x4+1/2
6 x1+1/2,-x2+1/2,-x3,-x5+1/2,-x4+1/2
7 -x2+1/2,-x1+1/2,x3,-x4+1/2,x5+1/2
8 x2+1/2,x1+1/2,x3,x4+1/2,-x5+1/2
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
Ca1 Ca 0.3320 0.1680 0.5070 0.01
Si1 Si 0 0 0 0.01
O1 O 0.0800 0.1850 0.7850 0.01
O2 O 0.1400 0.3600 0.2600 0.01
"""
AVERAGE = (
    "loop_\n_space_group_symop_operation_xyz\nx,y,z\n-x,-y,z\ny,-x,-z\n-y,x,-z\n"
    "-x+1/2,y+1/2,-z\nx+1/2,-y+1/2,-z\n-y+1/2,-x+1/2,z\ny+1/2,x+1/2,z\n"
)


def test_a_modulated_structure_is_read_as_its_average_structure(tmp_path, capsys):
    """Jana2006 and the COD's modulated entries give (3+d)-dimensional operators (x1,x2,x3,x4)
    in _space_group_symop_ssg_operation_algebraic. With only those, the reader said 'the
    operator list is not a group ...' on the data_ line. A superspace operator's first three
    components involve x1..x3 alone and make the 3D group of the average structure: that is
    read, with a note, as where the CIF gives the 3D operators too. Components that do not
    read so are refused on the operators' line."""
    from crystalx_core.io.cif import read_cif
    from crystalx_core.symmetry import space_group_from_operators

    cif = tmp_path / "x.cif"
    args = ["assign", str(cif), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    for average in ("", AVERAGE):
        cif.write_text(MODULATED.format(average=average))
        assert main(args) == 0
        notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
        assert (
            "a modulated structure (_cell_modulation_dimension 2): its average structure is "
            "read (3D operators, mean positions)" in notes
        )
        assert any(n.startswith("symmetry from the superspace operators") for n in notes) == (
            not average
        )
        group = space_group_from_operators(read_cif(cif).structure.symops)
        assert str(group.info()) == "P -4 21 m"
    cif.write_text(MODULATED.format(average="").replace("2 -x1,-x2,x3,", "2 -x1,-x2,x4,"))
    assert main(args) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {cif}:12: superspace operators whose first three components are no "
        "3D group: give the CIF of its average structure (_space_group_symop_operation_xyz)\n"
    )


# a small CIF of our own: two atoms and a ring centroid PLATON would add (calc_flag dum)
DUMMY_CIF = """data_dummy
_chemical_formula_sum 'C6 H6'
_cell_length_a 7.4
_cell_length_b 9.4
_cell_length_c 6.9
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_space_group_name_H-M_alt 'P b c a'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
_atom_site_calc_flag
C1 C -0.0569 0.1387 -0.0054 0.05 d
C2 C -0.1335 0.0460 0.1264 0.05 d
C3 C 0.0774 -0.0925 0.1318 0.05 d
{dummy}
"""


def test_a_dummy_site_is_no_atom(tmp_path):
    """cif_core.dic, _atom_site_calc_flag: 'dum' marks a dummy site with meaningless
    coordinates (a ring centroid, Cg1, as PLATON names it), with no element ('.'). The whole
    CIF was refused ('site Cg1: unknown element'); the dummy is now left out, with a note."""
    cif = tmp_path / "x.cif"
    cif.write_text(DUMMY_CIF.format(dummy="Cg1 . 0 0 0 ? dum"))
    args = ["assign", str(cif), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    result = json.loads((tmp_path / "x_crystalx.json").read_text())
    assert [a["label"] for a in result["atoms"]] == ["C1", "C2", "C3"]
    assert "dummy site Cg1 (_atom_site_calc_flag dum) left out: no atom" in result["notes"]


def test_a_dummy_site_sharing_an_atoms_label_leaves_the_atom(tmp_path):
    """The dummy is found by its row, not its label: the COD's placeholder rows ('H+', '?')
    and hand-edited files repeat labels, and a dummy labelled as an atom took the atom with
    it (C3 was lost)."""
    cif = tmp_path / "x.cif"
    cif.write_text(DUMMY_CIF.format(dummy="C3 . 0 0 0 ? dum"))
    args = ["assign", str(cif), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    result = json.loads((tmp_path / "x_crystalx.json").read_text())
    assert [a["label"] for a in result["atoms"]] == ["C1", "C2", "C3"]
    assert "dummy site C3 (_atom_site_calc_flag dum) left out: no atom" in result["notes"]


# Olex2's sample 'water' (sadbon, P2(1)/c) as AK-Kleemiss/olex2-release-tests keeps it
# (sample_data/water/water.ins), cut to the Mn, a water on it (AFIX 7) and the free water
# (AFIX 6: the O opens a rigid group with its H), UNIT made the cut's; Olex2 ends its lines
# with a blank, added back where the file is written
OLEX2_WATER = """TITL sadbon in P2(1)/c
CELL 0.71073 7.9387 16.1296 7.7557 90 99.691 90
ZERR 2 0.0016 0.0032 0.0016 0 0.03 0
LATT 1
SYMM -X,0.5+Y,0.5-Z
SFAC C H Mn N O S
UNIT 0 16 2 0 8 0

L.S. 10
PLAN  5
TEMP -123
BOND$H
CONF
fmap 2
acta
WGHT 0.0432 1.2108
FVAR 0.21597
REM <olex2.extras>
REM <HklSrc "%.\\\\water.hkl">
REM </olex2.extras>

Mn1   3     0.00000  0.50000  0.00000  10.50000  0.01226  0.01274  0.01342 =
 -0.00045  0.00098 -0.00116
O4    5     0.09438  0.39909  0.17448  11.00000  0.01733  0.01621  0.01745 =
 -0.00067  0.00056 -0.00042
AFIX 7
H4a   2     0.20507  0.39632  0.18479  11.00000 -1.50000
H4b   2     0.04953  0.35267  0.13193  11.00000 -1.50000
AFIX 0

AFIX 6
O10   5    -0.00178  0.11228  0.00465  11.00000  0.02042  0.01773  0.01952 =
 0.00112  0.00533  0.00242
H10a  2     0.02664  0.10093 -0.09631  11.00000 -1.50000
H10b  2    -0.03971  0.16291  0.00389  11.00000 -1.50000
AFIX 0
HKLF 4

END
"""


def test_water_hydrogens_are_written_with_their_restraints_and_no_empty_rigid_group(tmp_path):
    """The job places a water's H without a riding model and refines them with DFIX/DANG, but
    the .res it wrote had neither AFIX nor restraints for them (SHELXL would refine them
    freely), and kept Olex2's AFIX 6 before the free water's O with its H gone: a rigid group
    of one atom. The restraints refined with are now written before the atoms, and the O
    leaves the group it no longer shares, with a note."""
    ins = tmp_path / "water.ins"
    ins.write_text(OLEX2_WATER.replace("\n", " \n"))
    args = ["assign", str(ins), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    text = (tmp_path / "water_crystalx.res").read_text()
    lines = text.splitlines()
    for pivot in ("O4", "O10"):
        (dfix,) = [ln for ln in lines if ln.startswith(f"DFIX 0.84 {pivot} ")]
        labels = dfix.split()[3::2]
        assert len(labels) == 2 and f"DANG 1.36 {labels[0]} {labels[1]}" in lines
        assert all(any(ln.startswith(label + " ") for ln in lines) for label in labels)
    assert lines.index([ln for ln in lines if ln.startswith("DFIX")][0]) < lines.index(
        [ln for ln in lines if ln.startswith("O4 ")][0]
    )
    assert "AFIX 6" not in text and "AFIX 7" not in text
    notes = json.loads((tmp_path / "water_crystalx.json").read_text())["notes"]
    assert any(n.startswith("AFIX 6 (line ") and "O10 written without it" in n for n in notes)
    reread = parse_shelx(text, "water_crystalx.res").to_structure()
    assert sum(s.element == "H" for s in reread.sites) == 4


def test_labels_that_are_an_element_symbol_alone_or_with_letters_are_kept():
    """Olex2's sample malbac (AK-Kleemiss/olex2-release-tests sample_data/malbac/malbac.ins)
    names four atoms by their symbols alone: Pd, P, Cl, O; waters are often OW1. Though each
    kept its element, the job renamed them Pd1, P1, Cl1, O1 (a label 'of that element's
    symbol and a number' only was kept), against 'atoms that keep their element keep their
    labels'. A label that reads as another element's (CL1 on a carbon) is still replaced."""
    from crystalx_core.assign.labels import element_labels

    text = (
        "TITL t\nCELL 0.71078 10.551 14.251 9.551 99.77 105.1 104.77\nZERR 2 0 0 0 0 0 0\n"
        "LATT 1\nSFAC C H Cl N O P Pd\nUNIT 4 0 2 0 4 2 2\nFVAR 1\n"
        "Pd 7 0.277390 0.170040 0.000058 11 0.04\nP 6 0.189507 0.260234 0.136119 11 0.04\n"
        "Cl 3 0.494992 0.271210 0.140547 11 0.05\nO 5 0.347897 0.082437 -0.139285 11 0.05\n"
        "OW1 5 0.6 0.5 0.5 11 0.05\nCL1 1 0.256589 0.273637 0.336615 11 0.04\n"
        "C2 1 0.002945 0.203955 0.087399 11 0.04\nHKLF 4\nEND\n"
    )
    structure = parse_shelx(text, "malbac.res").to_structure()
    elements = {k: s.element for k, s in enumerate(structure.sites)}
    labels = element_labels(structure, elements)
    assert [labels[k] for k in sorted(labels)] == ["Pd", "P", "Cl", "O", "OW1", "C1", "C2"]


def test_the_restraints_of_a_water_in_a_residue_name_it_by_its_residue(tmp_path):
    """A water in RESI 3 HOH (as SHELXL files keep solvent): its DFIX/DANG, written before the
    atom list (residue 0), name O1_3 and its H as SHELXL resolves them from anywhere."""
    res = tmp_path / "w.res"
    res.write_text(
        "TITL w\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
        "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 16 8\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
        "O2 3 0.22 0.2 0.3 11 0.03\nRESI 3 HOH\nO1 3 0.6 0.6 0.6 11 0.04\nRESI 0\nHKLF 4\nEND\n"
    )
    args = ["assign", str(res), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    lines = (tmp_path / "w_crystalx.res").read_text().splitlines()
    assert "DFIX 0.84 O1_3 H1A_3 O1_3 H1B_3" in lines and "DANG 1.36 H1A_3 H1B_3" in lines
    assert lines.index("RESI 3 HOH") < lines.index([ln for ln in lines if ln[:4] == "H1A "][0])


@pytest.mark.parametrize("given, written", [("8 0 8", "8 8 8"), ("8 16 8", "8 16 8")])
def test_a_unit_without_h_is_written_with_the_model_h(tmp_path, capsys, given, written):
    """A UNIT with H 0 (a formula typed without H; a Pauling File CIF's formula without its
    water H, session 11): the job placed riding H and wrote UNIT H 0 beside them, so SHELXL
    would take F(000), density, mu and its CIF's formula without H. A 0 becomes the model's
    count per cell (water's 2 H x 4), with a note; a count the user gave stays."""
    res = tmp_path / "w.res"
    res.write_text(
        "TITL w\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
        f"SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT {given}\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
        "O2 3 0.22 0.2 0.3 11 0.03\nO1 3 0.6 0.6 0.6 11 0.04\nHKLF 4\nEND\n"
    )
    assert main(["assign", str(res), "--method", "baseline", "--hydrogens", "rules"]) == 0
    lines = (tmp_path / "w_crystalx.res").read_text().splitlines()
    assert f"UNIT {written}" in lines
    said = "note: UNIT gave no H: written with the model's H 8 per cell" in capsys.readouterr().out
    assert said == (given != written)


# a salt with an O bonded to nothing but the metal, which the rules take for water (2 H)
SALT_INS = """TITL salt
CELL 0.71073 4.4 4.4 4.4 90 90 90
ZERR 1 0 0 0 0 0 0
LATT -1
SFAC {sfac}
UNIT {unit}
FVAR 1
NA1 1 0 0 0 11 0.02
CL1 2 0.5 0.5 0.5 11 0.02
O1 3 0.5 0 0 11 0.02
HKLF 4
END
"""


def _h_placed(path) -> tuple[int, list[str]]:
    args = ["assign", str(path), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0
    report = json.loads(path.with_name(path.stem + "_crystalx.json").read_text())
    return sum(a["h_count"] for a in report["atoms"]), report["notes"]


def test_a_declared_composition_without_h_gets_no_h(tmp_path):
    """pymatgen's Cod_2100513.cif (Ca2AlNbO6, _chemical_formula_sum 'Al Ca2 Nb O6') got water
    H on each of its oxides' O (the rules: an O with no covalent partner is water). The
    crystallographer's formula says there are none: none are placed, with a note. Without the
    formula its O get none either, now from the bond valence their Nb, Al and Ca give them
    (baseline.metal_oxygen_room), and without that note. A .ins gets the H its geometry allows
    whatever its SFAC and UNIT say: a solution's file lists what the solution found (see the
    sucrose test below)."""
    cif = tmp_path / "x.cif"
    cif.write_text(NEUTRON_CIF.format(probe="?", kind="?"))
    count, notes = _h_placed(cif)
    assert count == 0 and "_chemical_formula_sum 'Al Ca2 Nb O6' has no H: no H placed" in notes
    cif.write_text(NEUTRON_CIF.format(probe="?", kind="?").replace("'Al Ca2 Nb O6'", "?"))
    count, notes = _h_placed(cif)
    assert count == 0 and not [n for n in notes if n.endswith("no H placed")]
    ins = tmp_path / "p.ins"
    for sfac, unit in (("Na Cl O", "1 1 1"), ("Na Cl O H", "1 1 1 0"), ("Na Cl O H", "1 1 1 2")):
        ins.write_text(SALT_INS.format(sfac=sfac, unit=unit))
        count, notes = _h_placed(ins)
        assert count > 0 and not [n for n in notes if n.endswith("no H placed")]


def test_a_solution_whose_sfac_lists_no_h_still_gets_its_h(tmp_path, shared_data):
    """SHELXT's sucrose solution (benchmark FC_sucrose: 'REM Formula found by SHELXT: C12 O11')
    is given here as such a file: no H atoms, SFAC C O, UNIT 24 22. That is what the solution
    found, not the compound's formula: its C and O get H."""
    text = (shared_data / "benchmark" / "FC_sucrose" / "published.res").read_text()
    assert "SFAC C H O\nUNIT 24 44 22\n" in text  # the published file, whose O are SFAC 3
    lines = []
    for line in text.replace("SFAC C H O\nUNIT 24 44 22\n", "SFAC C O\nUNIT 24 22\n").splitlines():
        atom = re.match(r"([A-Za-z]\w*)(\s+)([123])(\s)", line)
        if atom and atom.group(1).upper().startswith("H") and atom.group(3) == "2":
            continue  # an H atom
        if atom and atom.group(1).upper().startswith("O") and atom.group(3) == "3":
            line = line[: atom.start(3)] + "2" + line[atom.end(3) :]
        lines.append(line)
    res = tmp_path / "s.res"
    res.write_text("\n".join(lines) + "\n")
    count, notes = _h_placed(res)
    assert count >= 20 and not [n for n in notes if n.endswith("no H placed")]


# project-gemmi/gemmi tests/4003024.cif (COD 4003024, CsSnCl3:In, Chem. Mater. 31, 4999; public
# domain): its _shelx_res_file (SHELXL-2016/6 via Olex2 1.2), cut before HKLF. Sn and In share
# one site as SHELXL users model substitution: each in a PART of its own, EADP tying their U.
CSSNCL3_RES = (
    "TITL mo_2_MQX_98_298K_0m in Pm-3m #221\nCELL 0.71073 5.5592 5.5592 5.5592 90 90 90\n"
    "ZERR 1 0.0009 0.0009 0.0009 0 0 0\nLATT 1\n"
    + "".join(
        f"SYMM {op}\n"
        for op in (
            "-Y,+X,+Z -X,-Y,+Z +Y,-X,+Z +X,-Z,+Y +X,-Y,-Z +X,+Z,-Y +Z,+Y,-X -X,+Y,-Z -Z,+Y,+X "
            "+Z,+X,+Y +Y,+Z,+X -Y,-Z,+X +Z,-X,-Y -Y,+Z,-X -Z,-X,+Y -Z,+X,-Y +Y,-Z,-X +Y,+X,-Z "
            "-Y,-X,-Z -X,+Z,+Y -X,-Z,-Y +Z,-Y,+X -Z,-Y,-X"
        ).split()
    )
    + "SFAC Cl Sn In Cs\nUNIT 3 0.9 0.067 1\nEADP Sn2 In\n\nL.S. 4 0 0\nPLAN  20\n"
    "fmap 2 53\nacta\nWGHT    0.000000    0.170500\nEXTI    0.082247\nFVAR       0.48254\n"
    "CS1   4    0.000000    0.000000    0.000000    10.02083    0.08600    0.08600 =\n"
    "         0.08600    0.00000    0.00000    0.00000\n"
    "PART 1\nSN2   2    0.500000    0.500000    0.500000    10.01875    0.03450\nPART 0\n"
    "CL1   1    0.000000    0.500000    0.500000    10.06250    0.10301    0.15602 =\n"
    "         0.15602    0.00000    0.00000    0.00000\n"
    "PART 2\nIN    3    0.500000    0.500000    0.500000    10.00140    0.03450\nHKLF 4\nEND\n"
)


def test_the_atoms_of_a_mixed_site_keep_each_its_own_part(tmp_path):
    """Sn2 (PART 1) and In (PART 2) at one position are one mixed site to the job; the .res
    written put In straight after Sn2 under PART 1, so SHELXL would have read both as present
    together (and In's PART 2 was gone). Each atom now gets its own PART line, the file's."""
    (tmp_path / "x.res").write_text(CSSNCL3_RES)
    args = ["assign", str(tmp_path / "x.res"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == 0
    lines = (tmp_path / "x_crystalx.res").read_text().splitlines()
    atoms = [ln.split()[0] for ln in lines if re.match(r"(PART|[A-Z]+\d*\s+\d\s)", ln)]
    at = atoms.index("IN")
    assert atoms[at - 3 : at + 2] == ["PART", "SN2", "PART", "IN", "PART"]
    assert [ln for ln in lines if ln.startswith("PART")] == ["PART 1", "PART 2", "PART 0"]


def test_the_element_table_counts_the_cell_as_unit_does(tmp_path, capsys):
    """Every atom of CsSnCl3:In sits on a special position and In shares Sn's site: counted as
    whole atoms (and In as none) the table compared 1 Cl with UNIT's 3 / 48 = 0.06. Counted by
    occupancy and site multiplicity, the cell holds what UNIT says: Cl 3, Sn 0.9, In 0.067, Cs 1."""
    (tmp_path / "x.res").write_text(CSSNCL3_RES)
    args = ["assign", str(tmp_path / "x.res"), "--method", "baseline", "--hydrogens", "rules"]
    assert main([*args, "--json"]) == 0
    rows = {row["element"]: row for row in json.loads(capsys.readouterr().out)["elements"]}
    assert {el: row["assigned"] for el, row in rows.items()} == {"Cl": 1, "Sn": 1, "In": 1, "Cs": 1}
    for el, row in rows.items():
        assert row["in_cell"] == pytest.approx(row["unit"], abs=0.001), el
    assert main(args + ["--out", str(tmp_path / "again")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "In            1      0.07   0.067" in table


# dkratzert/ShelXFile tests/resources/restraint_tests/eqiv_symmetry_atom_undefined.res, cut to
# its cell, symmetry and two atoms: a 2-fold along c (SYMM 1/2-X, 1/2-Y, Z) on a cell whose
# beta is 105.5 degrees
METRIC_RES = (
    "TITL fo7360 in P2(1)/c\nCELL  0.71073   9.9199   9.5808  18.1079   90.000  105.506   90.000\n"
    "ZERR    4.00   0.0012   0.0011   0.0022   0.000   0.003   0.000\nLATT 1\n"
    "SYMM 1/2-X, 1/2-Y, Z\nSFAC C  H  N O\nUNIT 88 80 8 4\nFVAR       0.15916\n"
    "O1    4    0.560600    0.373727    0.162013    11.00000    0.02436\n"
    "C1    1    0.498013    0.502539    0.142184    11.00000    0.02805\nHKLF 4\nEND\n"
)


def test_a_cell_its_symmetry_cannot_have_is_refused_naming_the_line(tmp_path, capsys):
    """cctbx asserts on a cell without its group's metric; the job caught that deep in a later
    step and said so without a line. The readers now ask at once and name the cell's line
    (a typo there is the usual cause), a .res its SYMM line too."""
    (tmp_path / "x.res").write_text(METRIC_RES)
    args = ["assign", str(tmp_path / "x.res"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"crystalx: error: {tmp_path / 'x.res'}:2: cell 9.9199 9.5808 18.1079")
    assert err.endswith("space group P 1 1 2/n (the group from SYMM, line 5)\n")
    assert err.count("\n") == 1
    cif = NEUTRON_CIF.format(probe="x-ray", kind="?").replace("89.970(4)", "95.0")
    (tmp_path / "y.cif").write_text(
        cif.replace("'P 1 21/n 1'", "'P 4/n'").replace(
            "loop_\n_symmetry_equiv_pos_site_id\n_symmetry_equiv_pos_as_xyz\n1 +x,+y,+z\n"
            "2 -x+1/2,+y+1/2,-z+1/2\n-1 -x,-y,-z\n-2 +x+1/2,-y+1/2,+z+1/2\n",
            "",
        )
    )
    assert main(["assign", str(tmp_path / "y.cif"), "--quiet", "--method", "baseline"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"crystalx: error: {tmp_path / 'y.cif'}:5: data_2100513: cell")
    assert "metric symmetry of space group P 4/n" in err and err.count("\n") == 1


# COD 1011240, hematite (Pauling & Hendricks, J. Am. Chem. Soc. 47, 781, 1925; public domain), as
# quoted in a test of a Rust CIF reader found with the search tool: its rhombohedral cell and
# atoms, symmetry given as an H-M name only (COD's original symbol is 'R -3 c R'; its operators
# and Hall symbol left out, as older files and hand-written ones have it)
HEMATITE_CIF = """data_1011240
_chemical_formula_sum            'Fe2 O3'
_space_group_IT_number           167
_symmetry_space_group_name_H-M   'R -3 c'
_cell_angle_alpha                55.28
_cell_angle_beta                 55.28
_cell_angle_gamma                55.28
_cell_formula_units_Z            2
_cell_length_a                   5.43
_cell_length_b                   5.43
_cell_length_c                   5.43
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Fe1 Fe3+ 0.105(1) 0.105(1) 0.105(1) 1.
O1 O2- 0.292(7) -0.292(7) 0. 0.5
"""


@pytest.mark.parametrize("symbol", ["'R -3 c'", "?"])  # the name, or the number 167 alone
def test_an_r_group_named_alone_on_a_rhombohedral_cell_is_read_on_its_axes(
    tmp_path, capsys, symbol
):
    """'R -3 c' (or 167) without operators was read on hexagonal axes, ITA's default, whatever
    the cell: a rhombohedral one (a = b = c, alpha = beta = gamma) was then refused as a cell
    the group cannot have. The cell now says which axes: R -3 c :R here, :H on a hexagonal cell."""
    from cctbx import sgtbx

    from crystalx_core.io.cif import read_cif
    from crystalx_core.symmetry import space_group_from_operators

    text = HEMATITE_CIF.replace("'R -3 c'", symbol)
    (tmp_path / "x.cif").write_text(text)
    entry = read_cif(tmp_path / "x.cif")
    group = space_group_from_operators(entry.structure.symops)
    assert str(sgtbx.space_group_info(group=group)) == "R -3 c :R" and not entry.metric
    args = ["assign", str(tmp_path / "x.cif"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == 0
    res = (tmp_path / "x_crystalx.res").read_text()
    assert "LATT 1\nSYMM Z,X,Y\n" in res and "UNIT 4 6\n" in res
    hexagonal = re.sub(r"(_cell_angle_(?:alpha|beta))\s+55.28", r"\1 90", text)
    hexagonal = hexagonal.replace("_cell_angle_gamma                55.28", "_cell_angle_gamma 120")
    (tmp_path / "h.cif").write_text(hexagonal)
    group = space_group_from_operators(read_cif(tmp_path / "h.cif").structure.symops)
    assert str(sgtbx.space_group_info(group=group)) == "R -3 c :H"


def test_the_audit_and_the_service_hold_to_a_formula_without_h(tmp_path):
    """The rule above held only for `assign`: `crystalx audit` of the same Cod_2100513 CIF
    proposed water H on its oxide O (each flagged as an H error), and the service, asked with
    the same formula (protocol 2's snapshot "formula"), gave them in `assign` and placed the
    plan's H in `apply-plan`. All three paths now pass their counts through
    contents.held_to_formula: no H, with the note; without the formula the rules' H stay."""
    from crystalx_core.audit import audit
    from crystalx_core.io.cif import read_cif
    from crystalx_core.service import PROTOCOL, reply_to

    cif = tmp_path / "x.cif"
    cif.write_text(NEUTRON_CIF.format(probe="?", kind="?"))
    published = read_cif(cif).structure
    result = audit(published, method="baseline", hydrogens="rules")
    oxygens = [a for a in result.atoms if a.published == "O"]
    assert oxygens and all(a.proposed_h == 0 and not a.hydrogen_flag for a in oxygens)
    assert "_chemical_formula_sum 'Al Ca2 Nb O6' has no H: no H placed" in result.notes

    snapshot = {
        "cell": list(published.cell),
        "symops": published.symops,
        "sfac": published.sfac,
        "unit": published.unit,
        "sites": [
            {"label": s.label, "element": s.element, "frac": list(s.frac)} for s in published.sites
        ],
        "formula": "Al Ca2 Nb O6",
    }
    plan = {
        "sites": [
            {
                "label": s["label"],
                "element": s["element"],
                "h_count": 2 if s["element"] == "O" else 0,
            }
            for s in snapshot["sites"]
        ]
    }

    def ask(method, params):
        line = json.dumps({"protocol": PROTOCOL, "id": 1, "method": method, "params": params})
        return reply_to(line.encode())[0]["result"]

    options = {"method": "baseline", "hydrogens": "rules"}
    noted = "_chemical_formula_sum 'Al Ca2 Nb O6' has no H: no H placed"
    warned = "_chemical_formula_sum 'Al Ca2 Nb O6' has no H, yet the plan gives H to O"
    for formula, placed in (("Al Ca2 Nb O6", False), (None, True), ("Not given", True)):
        snapshot["formula"] = formula
        answered = ask("assign", {"structure": snapshot, "options": options})
        assert (noted in answered["job_notes"]) is not placed
        # a reviewed plan's H stand: the user asked for them; against the formula, a warning
        planned = ask("apply-plan", {"structure": snapshot, "plan": plan})
        assert sum(s["h_count"] for s in planned["sites"]) == 2 * len(oxygens)
        assert any(n.startswith(warned) for n in planned["job_notes"]) is not placed


@pytest.mark.parametrize(
    "text, counts",
    [
        ("C10 H20 Cl N O3", {"C": 10, "H": 20, "Cl": 1, "N": 1, "O": 3}),
        ("C10H20O", {"C": 10, "H": 20, "O": 1}),
        ("Al Ca2 Nb O6", {"Al": 1, "Ca": 2, "Nb": 1, "O": 6}),
        ("C12 H8 N2, C20 H14 O2", {"C": 32, "H": 22, "N": 2, "O": 2}),  # two moieties
        ("Not given", {}),  # not nobelium without H
        ("Water", {}),
        ("Xx2 O", {}),
        ("?", {}),
    ],
)
def test_only_a_formula_of_element_symbols_is_read_as_one(text, counts):
    """contents.formula_counts: text that is not element symbols with counts throughout is no
    formula (a client's free text would otherwise take every H off as a formula without H)."""
    from crystalx_core.contents import formula_counts

    assert formula_counts(text) == counts


def test_a_real_electron_diffraction_cif_is_refused_for_what_it_is(tmp_path, capsys, shared_data):
    """A Jana2006/Dyngo dynamical refinement of 3D-ED data (cif-tools' carbamazepine, line 105
    `_diffrn_radiation_probe electron`, 0.02508 Å): `assign X.cif --hkl X.cif` said only that
    0.025 Å is not X-ray, without the line, what the data are or where to refine them; the probe
    is read first now, as a crystallographer would read the file."""
    cif = shared_data / "corpus" / "ciftools_jana2006_carbamazepine_carbamazepine_dynamical.cif"
    args = ["assign", str(cif), "--hkl", str(cif), "--quiet", "--out", str(tmp_path / "x")]
    assert main(args) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err == (
        f"crystalx: error: {cif}:105: _diffrn_radiation_probe electron: not X-ray data; "
        "CrystalX refines X-ray data only (refine this one in the program that wrote it)\n"
    )
    assert list(tmp_path.iterdir()) == []
