"""CIF dialects of other programs that gemmi's small-structure reader does not map by itself:
displacements as B or beta instead of U, and CIF2/DDLm dotted tags. Each test reads a real
file (cut) written in the form the program writes, checked against the same file in U / DDL1."""

import re

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest
from cctbx import adptbx, uctbx

from crystalx_core.cli import main
from crystalx_core.io.cif import _parse, read_cif

# COD 1101133 (Polyhedron 14, 611, 1995; public domain), cut to four atoms: triclinic, so every
# off-diagonal a*_i a*_j of the beta conversion counts
CELL = (8.148, 9.104, 11.854, 105.37, 95.31, 115.17)
HEAD = """data_1101133
_symmetry_space_group_name_H-M  'P -1'
_cell_length_a  8.148(3)
_cell_length_b  9.104(2)
_cell_length_c  11.854(3)
_cell_angle_alpha  105.37(1)
_cell_angle_beta  95.31(2)
_cell_angle_gamma  115.17(1)
_cell_formula_units_Z  1
loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_{iso}_iso_or_equiv
_atom_site_thermal_displace_type
Ni  0.50000  0.50000  0.50000  {Ni} U{ani}
N1  0.7319(3)  0.4183(2)  -0.0226(2)  {N1} U{ani}
C1  0.6115(4)  0.3860(4)  -0.1362(2)  {C1} U{ani}
H11  0.6391(4)  0.4995(4)  -0.1363(2)  {H11}  Uiso
loop_
_atom_site_aniso_label
_atom_site_aniso_{kind}_11
_atom_site_aniso_{kind}_22
_atom_site_aniso_{kind}_33
_atom_site_aniso_{kind}_12
_atom_site_aniso_{kind}_13
_atom_site_aniso_{kind}_23
"""
U_ISO = {"Ni": 0.0242, "N1": 0.0318, "C1": 0.046, "H11": 0.076}
U_CIF = {  # as published, U11 U22 U33 U12 U13 U23
    "Ni": (0.0231, 0.0186, 0.0278, 0.0080, 0.0039, 0.0070),
    "N1": (0.033, 0.034, 0.0269, 0.0170, 0.0012, 0.0079),
    "C1": (0.053, 0.050, 0.032, 0.027, -0.006, 0.009),
}


def _cif(kind: str) -> str:
    """The cut with its displacements as U, B (B = 8 pi^2 U, cctbx's adptbx.u_as_b) or beta
    (cctbx's adptbx.u_cif_as_beta), which is how FullProf writes them."""
    cell = uctbx.unit_cell(CELL)
    if kind == "U":
        iso, rows = {k: f"{u:.4f}" for k, u in U_ISO.items()}, U_CIF
    else:
        iso = {k: f"{adptbx.u_as_b(u):.4f}" for k, u in U_ISO.items()}
        if kind == "B":
            rows = {k: tuple(adptbx.u_as_b(x) for x in u) for k, u in U_CIF.items()}
        else:
            rows = {k: adptbx.u_cif_as_beta(cell, u) for k, u in U_CIF.items()}
    text = HEAD.format(iso="U" if kind == "U" else "B", kind=kind, ani="ani", **iso)
    if kind != "U":
        text = text.replace("Uani", "Bani").replace("Uiso", "Biso")
    return text + "".join(f"{k} " + " ".join(f"{x:.8f}" for x in v) + "\n" for k, v in rows.items())


@pytest.mark.parametrize("kind", ["B", "beta"])
def test_anisotropic_b_and_beta_are_read_as_the_u_they_stand_for(tmp_path, kind):
    """gemmi reads _atom_site_aniso_U_ alone: a CIF giving B^ij (CIF core: T =
    exp(-1/4 sum B^ij h_i h_j a*_i a*_j), B = 8 pi^2 U) or beta^ij (T = exp(-sum beta^ij h_i
    h_j), FullProf's form) had every atom read isotropic, without a word. Each atom now has the
    U the published file gives, to the digits written."""
    (tmp_path / "u.cif").write_text(_cif("U"))
    (tmp_path / "other.cif").write_text(_cif(kind))
    expected = {s.label: s for s in read_cif(tmp_path / "u.cif").structure.sites}
    read = {s.label: s for s in read_cif(tmp_path / "other.cif").structure.sites}
    assert set(read) == set(expected)
    for label, site in read.items():
        want = expected[label]
        assert (site.u_aniso is None) == (want.u_aniso is None), label
        if want.u_aniso is not None:
            assert site.u_aniso == pytest.approx(want.u_aniso, abs=1e-7), label
        assert site.u_iso == pytest.approx(want.u_iso, abs=1e-5), label


def test_an_anisotropic_b_row_with_unknown_values_leaves_its_atom_isotropic(tmp_path):
    """A '?' in a B row (COD's placeholder for a value not given) is no number: that atom stays
    with its isotropic B, the others are read anisotropic."""
    text = re.sub(r"(?m)^(N1) \S+", r"\1 ?", _cif("B"))
    (tmp_path / "x.cif").write_text(text)
    sites = {s.label: s for s in read_cif(tmp_path / "x.cif").structure.sites}
    assert sites["N1"].u_aniso is None
    assert sites["N1"].u_iso == pytest.approx(U_ISO["N1"], abs=1e-5)
    assert sites["Ni"].u_aniso is not None


# coreCIF 3 (DDLm) names of the tags above, as CIF2 files write them (the layout of the CIF2
# example saly2_all_aniso: symmetry operators several to a line, _symmetry.space_group_name_H-M)
DDLM = {
    "_symmetry_space_group_name_H-M": "_symmetry.space_group_name_H-M",
    "_cell_length_a": "_cell.length_a",
    "_cell_length_b": "_cell.length_b",
    "_cell_length_c": "_cell.length_c",
    "_cell_angle_alpha": "_cell.angle_alpha",
    "_cell_angle_beta": "_cell.angle_beta",
    "_cell_angle_gamma": "_cell.angle_gamma",
    "_cell_formula_units_Z": "_cell.formula_units_Z",
    "_atom_site_label": "_atom_site.label",
    "_atom_site_fract_x": "_atom_site.fract_x",
    "_atom_site_fract_y": "_atom_site.fract_y",
    "_atom_site_fract_z": "_atom_site.fract_z",
    "_atom_site_U_iso_or_equiv": "_atom_site.U_iso_or_equiv",
    "_atom_site_thermal_displace_type": "_atom_site.adp_type",
    "_atom_site_aniso_label": "_atom_site_aniso.label",
}


def _ddlm(text: str) -> str:
    for old, new in DDLM.items():
        text = re.sub(rf"(?m)^{re.escape(old)}(?=\s)", new, text)
    text = re.sub(r"(?m)^_atom_site_aniso_U_(\d\d)", r"_atom_site_aniso.U_\1", text)
    symops = "loop_\n_space_group_symop.operation_xyz\n  '+x,+y,+z'  '-x,-y,-z'\n"
    text = text.replace("loop_\n_atom_site.label", symops + "loop_\n_atom_site.label")
    return "#\\#CIF_2.0\n" + text.replace(
        "_cell.length_a", "_diffrn_radiation_wavelength.value 1.5418\n_cell.length_a"
    )


def test_cif2_dotted_tags_are_read_as_their_ddl1_names(tmp_path, capsys):
    """A CIF2/DDLm file (_cell.length_a, _atom_site.fract_x, _space_group_symop.operation_xyz)
    stopped with 'has no unit cell': gemmi's small-structure reader looks up the DDL1 names
    only. The same structure is now read from either, wavelength (DDLm
    _diffrn_radiation_wavelength.value, whose alias has no '_value') and U^ij included."""
    (tmp_path / "ddl1.cif").write_text(_cif("U"))
    (tmp_path / "ddlm.cif").write_text(_ddlm(_cif("U")))
    assert "_cell_length_a" not in (tmp_path / "ddlm.cif").read_text()
    ddl1 = read_cif(tmp_path / "ddl1.cif").structure
    ddlm = read_cif(tmp_path / "ddlm.cif").structure
    assert ddlm.cell == pytest.approx(ddl1.cell)
    assert sorted(ddlm.symops) == sorted(ddl1.symops)
    assert ddlm.wavelength == pytest.approx(1.5418)
    assert [(s.label, s.element, s.frac, s.u_aniso) for s in ddlm.sites] == [
        (s.label, s.element, s.frac, s.u_aniso) for s in ddl1.sites
    ]
    assert ddlm.sites[1].line == 23  # messages still name the file's own lines
    args = ["assign", str(tmp_path / "ddlm.cif"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == 0
    res = (tmp_path / "ddlm_crystalx.res").read_text()
    assert re.search(r"(?m)^Ni\s+\d+\s+0\.500000", res)


def test_dotted_text_in_values_and_text_fields_is_left_as_written(tmp_path):
    """Only tags are renamed: a quoted value or a text field holding a dotted word (a title,
    an embedded file) keeps it, on a dotted tag's own line too, where the tag follows a value
    that holds its name (the first occurrence on the line was renamed, not the tag)."""
    text = _ddlm(_cif("U")).replace(
        "data_1101133\n",
        "data_1101133\n_publ.section_title '_cell.length_a kept'\n"
        "_publ.section_comment\n;\n_atom_site.fract_x stays\n;\n",
    )
    text = text.replace(
        "_cell.length_b  9.104(2)", "_publ.contact_author 'x _cell.length_b y' _cell.length_b 9.104"
    )
    (tmp_path / "x.cif").write_text(text)
    entry = read_cif(tmp_path / "x.cif")
    assert entry.structure.cell[:2] == pytest.approx((8.148, 9.104))
    doc, _ = _parse(tmp_path / "x.cif")
    assert doc[0].find_value("_publ_section_title") == "'_cell.length_a kept'"
    assert doc[0].find_value("_publ_contact_author") == "'x _cell.length_b y'"
    assert "_atom_site.fract_x stays" in doc[0].find_value("_publ_section_comment")


def test_a_tag_written_without_a_value_is_read_as_unknown(tmp_path, capsys):
    """ICSD-for-WWW CIFs (e.g. StructureFinder's tests/test-data/ICSD/*.cif) write
    `_refine_ls_R_factor_all` with nothing after it, the next line a loop_: not CIF syntax,
    and gemmi stops on it, so the file got 'CIF syntax error ... has no value'. Such a tag is
    now read as '?' (unknown) with a note naming it, and the structure is read; the lines of
    messages stay the file's."""
    text = _cif("U").replace("_cell_formula_units_Z  1\n", "_refine_ls_R_factor_all   \n")
    text = text.replace("data_1101133\n", "data_1101133\n_chemical_formula_sum\n")
    (tmp_path / "x.cif").write_text(text)
    entry = read_cif(tmp_path / "x.cif")
    assert [s.label for s in entry.structure.sites] == ["Ni", "N1", "C1", "H11"]
    assert entry.structure.sites[1].line == 19
    assert any(
        "_chemical_formula_sum, _refine_ls_R_factor_all written with no value" in n
        for n in entry.notes
    )
    (tmp_path / "y.cif").write_text(text.replace("loop_\n_atom_site_label", "loop_\n"))
    args = ["assign", str(tmp_path / "y.cif"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == 2  # other syntax errors are still refused
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    "written",
    [
        "{text}_refine_ls_R_factor_all",
        "{text}_refine_ls_R_factor_all  \t",
        "_refine_ls_R_factor_all  # none\n{text}",
    ],
)
def test_a_last_or_commented_tag_without_a_value_is_read_as_unknown(tmp_path, written):
    """The same valueless tag as the file's last word with no newline after it (gemmi says
    'parse error' there, not 'has no value'), or followed by a comment, stopped as a syntax
    error; both are read as '?' now, like a valueless tag before a newline."""
    text = written.format(text=_cif("U").replace("data_1101133\n", ""))
    (tmp_path / "x.cif").write_bytes(b"data_1101133\n" + text.encode())
    entry = read_cif(tmp_path / "x.cif")
    assert [s.label for s in entry.structure.sites] == ["Ni", "N1", "C1", "H11"]
    assert any("_refine_ls_R_factor_all written with no value" in n for n in entry.notes)


def test_a_block_whose_atom_row_is_all_unknown_holds_no_structure(tmp_path, capsys):
    """SpringerMaterials' Pauling File CIFs (pymatgen's tests/files/cif/PF_sd_1601634.cif) follow
    the block with the atoms by blocks for the published and the reduced cell whose atom_site
    loop is one row of '?'. Those counted as structures: a batch failed each with 'site :
    unknown element'. They hold no atoms: the file is one structure, and --block on such a
    block says it has no atom sites."""
    from crystalx_core.io.cif import structure_block_names

    empty = "\ndata_published_cell\n" + HEAD.split("loop_")[0].split("\n", 1)[1].format(
        iso="U", kind="U", ani="ani", **U_ISO
    )
    empty += "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n"
    empty += "_atom_site_fract_z\n? ? ? ?\n"
    (tmp_path / "x.cif").write_text(_cif("U") + empty)
    assert structure_block_names(tmp_path / "x.cif") == []  # one structure: no block names
    args = ["assign", str(tmp_path / "x.cif"), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules", "--block", "published_cell"]) == 2
    err = capsys.readouterr().err
    assert "data_published_cell has no atom sites" in err and err.count("\n") == 1


@pytest.mark.parametrize("symbol, element", [("OH2", "O"), ("OH", "O"), ("NH4+", "N"), ("N", "N")])
def test_a_type_symbol_of_an_atom_with_its_h_is_that_atom(tmp_path, symbol, element):
    """SpringerMaterials' Pauling File types sites 'OH2' and 'OH' (pymatgen's
    tests/files/cif/PF_sd_1601634.cif: a water's and a hydroxide's O sharing a site, their H
    not located) and 'NH4' for an ammonium's N. 'OH2' stopped the job ('unknown element') and
    gemmi reads 'NH4+' as nihonium; each is now the atom it names, its H left to the H rules."""
    text = _cif("U").replace("_atom_site_thermal_displace_type\n", "_atom_site_type_symbol\n")
    text = re.sub(r"(?m)^(N1 .*) Uani$", rf"\1 {symbol}", text)
    for label, typed in (("Ni", "Ni"), ("C1", "C"), ("H11", "H")):
        text = re.sub(rf"(?m)^({label} .*) U(?:ani|iso)$", rf"\1 {typed}", text)
    (tmp_path / "x.cif").write_text(text)
    sites = {s.label: s.element for s in read_cif(tmp_path / "x.cif").structure.sites}
    assert sites == {"Ni": "Ni", "N1": element, "C1": "C", "H11": "H"}
