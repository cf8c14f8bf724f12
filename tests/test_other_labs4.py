"""Conventions met in session 21's fourth sweep of real files from other labs (/work/realdata4,
INDEX.tsv there): each test reproduces one in a few lines written here, in the convention of
the file named in its docstring."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.batch import find_inputs
from crystalx_core.errors import InputError
from crystalx_core.io import load
from crystalx_core.io.cif import read_cif
from crystalx_core.io.cif2_syntax import as_cif11

# COMCIFS/Structure_Prediction_Dictionary Examples/01_Org_MCPT_Minimal/structure_1.cif (a CIF
# 2.0 file: magic code, dotted tags, a list of file names, indented), its crystal cut to two
# atoms; a table and a triple-quoted text added in CIF 2.0's own syntax
CSP_CIF2 = """#\\#CIF_2.0
data_structure_1_step0
    _csp_data_block.class                                              "Theoretical Structure"
    _csp_data_block.additional_files   [ "csp_input.cif" "csp_workflows.cif" ]
    _csp_data_block.energies   { "lattice":-0.119  "ranks":[1 2
        3] }
    _csp_data_block.note    '''a note that
 runs over two lines'''
    _symmetry_space_group_name_H-M   'P 21/c'
    loop_
    _symmetry_equiv_pos_site_id
    _symmetry_equiv_pos_as_xyz
    1 x,y,z
    2 -x,1/2+y,1/2-z
    3 -x,-y,-z
    4 x,1/2-y,1/2+z
    _cell_length_a                   24.3977
    _cell_length_b                   9.81889
    _cell_length_c                   9.38206
    _cell_angle_alpha                90
    _cell_angle_beta                 93.0421
    _cell_angle_gamma                90
    loop_
    _atom_site_label
    _atom_site_type_symbol
    _atom_site_fract_x
    _atom_site_fract_y
    _atom_site_fract_z
    C00 C 0.19046 -0.109102 0.187213
    N00 N 0.305422 0.199543 0.121594
"""


def test_a_cif2_file_with_lists_tables_and_triple_quotes_is_read(tmp_path):
    """COMCIFS's structure-prediction examples are CIF 2.0: `additional_files [ "a" "b" ]`
    stopped the reader ('CIF syntax error ... CIF 2.0 syntax not read here'), a legal file
    refused. Lists, tables (nesting, over lines) and triple-quoted text are now read as one
    value each; the atoms come through with the lines they stand on in the file."""
    path = tmp_path / "structure_1.cif"
    path.write_text(CSP_CIF2)
    structure = read_cif(path).structure
    assert [(s.label, s.element) for s in structure.sites] == [("C00", "C"), ("N00", "N")]
    assert structure.cell[:3] == pytest.approx((24.3977, 9.81889, 9.38206))
    assert len(structure.symops) == 4
    assert [s.line for s in structure.sites] == [29, 30]


def test_cif2_compound_values_become_one_word_each_on_their_lines():
    """What gemmi is handed: a list in a loop row (Bilbao's magnetic CIFs, COMCIFS/spinCIF
    test/mcif/0.199_Mn3Sn.mcif: `k1 [0 0 0]`, which gemmi split into three values) is one
    quoted word; a value spanning lines leaves its lines, empty; quoted strings, text fields
    and comments are copied as written."""
    text = (
        "#\\#CIF_2.0\ndata_x\nloop_\n_parent_propagation_vector.id\n"
        "_parent_propagation_vector.kxkykz\nk1 [0 0 0]\n"
        "_t {'a':[1\n2]} # [not a list]\n_q 'it has [brackets]'\n;\n[text field]\n;\n_z 1\n"
    )
    out = as_cif11(text).by_line
    assert "k1 '[0 0 0]'" in out
    assert "_t \"{'a':[1 2]}\"\n # [not a list]" in out
    assert "_q 'it has [brackets]'\n;\n[text field]\n;\n_z 1\n" in out
    assert out.count("\n") == text.count("\n")


def test_an_mmcif_of_a_protein_is_refused_as_out_of_scope(tmp_path):
    """The PDB's mmCIF (project-gemmi/gemmi tests/5i55.cif: `_atom_site.Cartn_x` with
    group_PDB ATOM/HETATM rows and residues, a polymer entity) was refused with 'has no atom
    sites (_atom_site_fract_x loop)', which it has. It is named for what it is: a
    macromolecule's model, out of scope, at the line of its coordinates."""
    path = tmp_path / "5i55.cif"
    path.write_text(
        "data_5I55\nloop_\n_entity.id\n_entity.type\n1 polymer\n2 water\n"
        "_cell.length_a 29.460\n_cell.length_b 10.510\n_cell.length_c 29.710\n"
        "_cell.angle_alpha 90.000\n_cell.angle_beta 111.980\n_cell.angle_gamma 90.000\n"
        "_symmetry.space_group_name_H-M 'P 1 21 1'\n"
        "loop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n"
        "_atom_site.label_atom_id\n_atom_site.label_comp_id\n_atom_site.Cartn_x\n"
        "_atom_site.Cartn_y\n_atom_site.Cartn_z\n"
        "HETATM 1 N N MSE 3.333 3.447 27.186\nATOM 9 N N GLU 2.464 5.718 24.671\n"
    )
    with pytest.raises(InputError, match="macromolecular model in the PDB's mmCIF") as error:
        load(path)
    assert "out of its scope" in str(error.value)
    assert error.value.line == 20


def test_a_cif_with_cartesian_sites_only_says_so(tmp_path):
    """coreCIF allows _atom_site_Cartn_x without fractional coordinates; such a block was 'has
    no atom sites'. It is now told which coordinates it has and which CrystalX reads."""
    path = tmp_path / "cart.cif"
    path.write_text(
        "data_c\n_cell_length_a 5\n_cell_length_b 6\n_cell_length_c 7\n_cell_angle_alpha 90\n"
        "_cell_angle_beta 90\n_cell_angle_gamma 90\n_symmetry_space_group_name_H-M 'P 1'\n"
        "loop_\n_atom_site_label\n_atom_site_Cartn_x\n_atom_site_Cartn_y\n_atom_site_Cartn_z\n"
        "C1 1.0 2.0 3.0\n"
    )
    with pytest.raises(InputError, match="Cartesian coordinates only") as error:
        load(path)
    assert error.value.line == 11


def test_a_pdb_file_is_refused_as_a_macromolecular_model(tmp_path):
    """A PDB-format file (project-gemmi/gemmi tests/rnase_frag.pdb: CRYST1, ATOM records) was
    'unsupported file type'; the message now says what the format holds and that it is out
    of scope."""
    path = tmp_path / "rnase_frag.pdb"
    path.write_text(
        "CRYST1   64.897   78.323   38.792  90.00  90.00  90.00 P 21 21 21\n"
        "ATOM    636  N   GLY A  83      58.710  14.276   9.281  1.00 10.63      A    N  \n"
    )
    with pytest.raises(InputError, match="macromolecular models") as error:
        load(path)
    assert "out of its scope" in str(error.value)


def test_a_magnetic_mcif_is_read_for_its_atoms(tmp_path):
    """Bilbao's MAGNDATA writes magnetic structures as .mcif (COMCIFS/spinCIF
    test/mcif/0.199_Mn3Sn.mcif: CIF 2.0, magnetic operators 'x,y,z,+1', a moment loop): the
    same text as .cif was read, as .mcif refused as 'unsupported file type'. Read alike now,
    and a batch over the folder takes it."""
    path = tmp_path / "Mn3Sn.mcif"
    path.write_text(
        "#\\#CIF_2.0\ndata_5yOhtAoR\nloop_\n_parent_propagation_vector.id\n"
        "_parent_propagation_vector.kxkykz\nk1 [0 0 0]\n"
        "_cell_length_a 5.66500\n_cell_length_b 5.66500\n_cell_length_c 4.53100\n"
        "_cell_angle_alpha 90.00\n_cell_angle_beta 90.00\n_cell_angle_gamma 120.00\n"
        "loop_\n_space_group_symop_magn_operation.id\n_space_group_symop_magn_operation.xyz\n"
        "1 x,y,z,+1\n2 -x,-x+y,-z,+1\n3 -x,-y,-z,+1\n4 x,x-y,z,+1\n5 x,x-y,-z+1/2,-1\n"
        "6 -x,-y,z+1/2,-1\n7 -x,-x+y,z+1/2,-1\n8 x,y,-z+1/2,-1\n"
        "loop_\n_space_group_symop_magn_centering.id\n_space_group_symop_magn_centering.xyz\n"
        "1 x,y,z,+1\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
        "_atom_site_fract_y\n_atom_site_fract_z\nMn1_1 Mn 0.83880 0.67760 0.25000\n"
        "Mn1_2 Mn  0.32240 0.16120 0.25000\nSn1 Sn 0.333333 0.666667 0.25000\n"
    )
    structure = load(path).structure
    assert [s.element for s in structure.sites] == ["Mn", "Mn", "Sn"]
    assert len(structure.symops) == 8
    assert [item.model.name for item in find_inputs(str(tmp_path)).items] == ["Mn3Sn.mcif"]


def test_a_cif2_text_field_inside_a_list_is_one_element():
    """CIF 2.0 lets a ;-delimited text field be a list's element (Bernstein et al., J. Appl.
    Cryst. 49 (2016) 277, the list production takes any data value): a bracket or an apostrophe
    in its lines belongs to the text, not to the list."""
    text = "#\\#CIF_2.0\ndata_x\n_a [ 1\n;\nO'Brien ] [\n;\n 2 ]\n_b 2\n"
    out = as_cif11(text).by_line
    assert out.startswith("#\\#CIF_2.0\ndata_x\n_a \"[ 1 ; O'Brien ] [ ; 2 ]\"\n")
    assert out.endswith("\n_b 2\n") and out.count("\n") == text.count("\n")


def test_an_unclosed_cif2_list_is_named_at_the_line_it_opens(tmp_path):
    """A list never closed was left to gemmi, whose CIF 1.1 message ('several words ... needs a
    value with spaces in quotes') tells the user to quote it, wrong for CIF 2.0; it is named
    for what it is, at the line where it opens, though the file runs on."""
    path = tmp_path / "open_list.cif"
    path.write_text(CSP_CIF2.replace('"csp_workflows.cif" ]', '"csp_workflows.cif"'))
    with pytest.raises(InputError, match=r"CIF 2\.0 list '\[' opened on this line is never") as e:
        read_cif(path)
    assert e.value.line == 4


def test_a_multi_block_mcif_gives_a_batch_item_per_structure(tmp_path):
    """A .mcif of several magnetic structures (MAGNDATA writes one per file, COMCIFS/spinCIF
    test files may hold more) is split by block as a multi-block .cif is; it was read for its
    first block only."""
    block = CSP_CIF2.split("\n", 1)[1]
    path = tmp_path / "two.mcif"
    path.write_text("#\\#CIF_2.0\n" + block + block.replace("data_structure_1_step0", "data_b2"))
    items = find_inputs(str(tmp_path)).items
    assert [(item.model.name, item.block) for item in items] == [
        ("two.mcif", "structure_1_step0"),
        ("two.mcif", "b2"),
    ]
