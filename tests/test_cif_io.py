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
