"""SHELX .ins/.res reading and writing on every real file we have, and bad input at the door."""

import json
from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import pytest
from cctbx import sgtbx

from crystalx_core.errors import InputError
from crystalx_core.io.shelx_read import AtomLine, is_end_line, parse_shelx, read_shelx
from crystalx_core.io.shelx_write import hfix_lines, new_ins_text, render_with_sites
from crystalx_core.structure import Site, Structure
from crystalx_core.symmetry import full_operator_list, space_group_from_operators
from tests.conftest import BENCHMARK, CORPUS

RES_ENTRIES = sorted(p.parent.name for p in BENCHMARK.glob("*/published.res"))
ALL_ENTRIES = sorted(p.parent.name for p in BENCHMARK.glob("*/source.json"))
EMBEDDED_RES = sorted(
    p.name for p in CORPUS.glob("*.cif") if "_shelx_res_file" in p.read_text(encoding="latin-1")
)


def _source(entry):
    return json.loads((BENCHMARK / entry / "source.json").read_text())


def _embedded(cif_path, tag):
    return gemmi.cif.as_string(gemmi.cif.read(str(cif_path)).sole_block().find_value(tag))


def _non_h_atoms(structure):
    return [s for s in structure.sites if not s.is_peak and s.element not in ("H", "D")]


def _assert_same_sites(expected, found, tol=1e-5):
    assert [s.label for s in found] == [s.label for s in expected]
    for a, b in zip(expected, found):
        assert b.element == a.element, a.label
        assert max(abs(x - y) for x, y in zip(a.frac, b.frac)) < tol, a.label
        assert abs(a.occupancy - b.occupancy) < 1e-4, a.label
        assert abs(a.u_iso - b.u_iso) < 1e-5, a.label
        assert (b.afix, b.part) == (a.afix, a.part), a.label
        assert (b.u_aniso is None) == (a.u_aniso is None), a.label


def _normalised(text, skip=("AFIX 0", "PART 0")):
    """Lines with their blanks collapsed, without the group closers a rewrite may move."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [line for line in lines if line not in skip]


# --- real files --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", RES_ENTRIES)
def test_published_res_round_trip_and_contents(shared_data, entry):
    path = BENCHMARK / entry / "published.res"
    shelx = read_shelx(path)
    assert shelx.render().encode(shelx.encoding) == path.read_bytes()

    source = _source(entry)
    structure = shelx.to_structure()
    assert structure.cell == pytest.approx(source["cell"], abs=1e-3)
    assert structure.wavelength == pytest.approx(source["wavelength"], abs=1e-4)
    order = sgtbx.space_group_info(source["space_group"]["number"]).group().order_z()
    assert structure.space_group_order == order
    # the CIF's atom sites were written from this .res, disordered parts included
    assert len(_non_h_atoms(structure)) == source["n_atoms_nonH"]
    assert sum(1 for s in structure.sites if s.element in ("H", "D")) == source["n_H"]
    assert not structure.peaks  # the Q-peaks of a refined .res come after END
    assert [s.line for s in structure.sites] == [a.number for a in shelx.atoms]
    for site in structure.sites:
        assert 0 < site.occupancy <= 1 + 1e-4, site.label
        assert site.u_iso > -0.01, site.label  # XH_xylitol H4 and H11 refined to Uiso < 0


@pytest.mark.parametrize("name", EMBEDDED_RES)
def test_embedded_res_round_trip(shared_data, name):
    cif = CORPUS / name
    text = _embedded(cif, "_shelx_res_file")
    shelx = parse_shelx(text, str(cif))
    assert shelx.render() == text
    block = gemmi.cif.read(str(cif)).sole_block()
    cell = [
        gemmi.cif.as_number(block.find_value(tag))
        for tag in (
            "_cell_length_a",
            "_cell_length_b",
            "_cell_length_c",
            "_cell_angle_alpha",
            "_cell_angle_beta",
            "_cell_angle_gamma",
        )
    ]
    structure = shelx.to_structure()
    assert structure.cell == pytest.approx(cell, abs=1e-3)
    assert _non_h_atoms(structure)


def test_riding_hydrogens_afix_part_and_free_variables(shared_data):
    shelx = read_shelx(BENCHMARK / "FC_p21c" / "published.res")
    sites = shelx.to_structure().sites
    k = next(k for k, s in enumerate(sites) if s.label == "H34")  # AFIX 43, Uiso -1.20000
    parent = next(s for s in reversed(sites[:k]) if s.element != "H")
    assert sites[k].element == "H" and sites[k].afix == 43
    assert sites[k].u_iso == pytest.approx(1.2 * parent.u_iso)

    fv2, fv3 = shelx.fvars[1:3]  # O1 four more times in RESI CCF3/CF3 with sof 21/-21/31/-31
    o1 = [s for s in sites if s.label.split("_")[0] == "O1"]
    assert sorted(s.occupancy for s in o1 if s.part) == pytest.approx(
        sorted([fv2, 1 - fv2, fv3, 1 - fv3])
    )
    assert [(s.label, s.part) for s in o1] == [
        ("O1", 0),
        ("O1_1", 1),
        ("O1_2", 2),
        ("O1_3", 1),
        ("O1_4", 2),
    ]


def test_residues_give_unique_addresses_and_are_written_back_as_they_were(shared_data):
    """FC_p21c repeats O1, C1..C4 and F1..F9 in four RESI blocks ('RESI 1 CCF3' and 'RESI CCF3 4'
    orders both); each atom gets its SHELX address (C2_3), unique in the structure, and the
    .res written back has the bare labels under the same RESI lines (PART lines, which the
    writer regenerates, may swap places with a RESI line: SHELXL reads both orders alike)."""
    path = BENCHMARK / "FC_p21c" / "published.res"
    shelx = read_shelx(path)
    structure = shelx.to_structure()
    labels = [s.label for s in structure.sites]
    assert len(set(labels)) == len(labels)
    assert {"C2", "C2_1", "C2_2", "C2_3", "C2_4"} <= set(labels)

    def atoms_and_residues(text):
        return [
            line.split()[0] if not line.startswith("RESI") else line.strip()
            for line in text.splitlines()
            if line[:1].isalpha() and line.split()[0].upper() not in ("PART", "AFIX")
        ]

    written = render_with_sites(shelx, structure, keep_peaks=True)
    assert atoms_and_residues(written) == atoms_and_residues(path.read_text())
    fresh = new_ins_text(structure)  # residues last, one RESI line each: smtbx reads it so too
    assert [line for line in fresh.splitlines() if line.startswith("RESI")] == [
        f"RESI {n} RES" for n in range(1, 5)
    ]
    back = parse_shelx(fresh, "fresh.ins").to_structure()
    assert sorted(s.label for s in back.sites) == sorted(s.label for s in structure.atoms)


def test_special_positions_give_chemical_occupancy(shared_data):
    """XH_urea: every atom sits on a special position with SHELX sof 0.25 or 0.5."""
    shelx = read_shelx(BENCHMARK / "XH_urea" / "published.res")
    assert sorted({a.sof for a in shelx.atoms}) == [0.25, 0.5]
    assert all(s.occupancy == pytest.approx(1.0) for s in shelx.to_structure().sites)


@pytest.mark.parametrize("entry", RES_ENTRIES)
def test_render_with_unchanged_sites_keeps_the_file(shared_data, entry):
    shelx = read_shelx(BENCHMARK / entry / "published.res")
    structure = shelx.to_structure()
    text = render_with_sites(shelx, structure, keep_peaks=True)
    assert _normalised(text) == _normalised(shelx.render())
    _assert_same_sites(structure.sites, parse_shelx(text).to_structure().sites)


@pytest.mark.parametrize("entry", ["FC_p21c", "SXF_I43d", "XH_xylitol"])
def test_render_with_relabelled_sites(shared_data, entry):
    shelx = read_shelx(BENCHMARK / entry / "published.res")
    structure = shelx.to_structure()
    sites = []
    for site in structure.sites:
        if site.element == "H":
            continue
        sites.append(replace(site, label="Z" + site.label[-3:]) if site.element == "O" else site)
        if site.element == "C" and not site.part:  # a new riding H after every ordered C
            sites.append(
                Site(
                    label="H" + site.label[-3:],
                    element="H",
                    frac=site.frac,
                    u_iso=1.2 * site.u_iso,
                    afix=13,
                )
            )
    carriers = [s.label for s in sites if s.element == "C" and not s.part]  # H written
    bare = [s.label for s in sites if s.element != "H" and s.label not in carriers]
    groups = [(13, bare * 6), (137, carriers)]
    text = render_with_sites(shelx, structure.with_sites(sites), hfix_groups=groups)

    lines = text.splitlines()
    assert any(line.startswith("Z") for line in lines)
    hfix = [k for k, line in enumerate(lines) if line.startswith("HFIX")]
    # the atoms whose H are written get no HFIX, as in SHELXL's .res: only HFIX 13 is left
    assert len(hfix) == 1 and lines[hfix[0] + 1].startswith(" ")  # wrapped with ' =' lines
    assert lines[hfix[0]].startswith("HFIX 13 ")
    original = set(shelx.render().splitlines())
    assert all(len(line) <= 80 for line in lines if line not in original)

    # every instruction outside the atom list, in order; AFIX/PART are regenerated
    kept = [
        line.text
        for line in shelx.lines
        if not isinstance(line, AtomLine) and line.keyword not in ("AFIX", "PART")
    ]
    position = 0
    for chunk in kept:
        position = text.index(chunk, position) + len(chunk)

    back = parse_shelx(text).to_structure()
    _assert_same_sites(sites, back.sites)
    assert back.sfac == structure.sfac and back.unit == structure.unit


def test_render_rewrites_sfac_and_unit_when_they_change(shared_data):
    shelx = read_shelx(BENCHMARK / "FC_sucrose" / "published.res")
    structure = shelx.to_structure()
    changed = replace(structure, sfac=["C", "H", "N", "O"], unit=[24, 44, 2, 20])
    sites = [replace(s, element="N") if s.label == "O1" else s for s in structure.sites]
    text = render_with_sites(shelx, changed.with_sites(sites))
    assert "SFAC C H N O\nUNIT 24 44 2 20\n" in text
    back = parse_shelx(text).to_structure()
    assert back.sfac == ["C", "H", "N", "O"] and back.sites[0].element == "N"
    _assert_same_sites(sites, back.sites)


def _structure_from_cif(path):
    """A Structure from a benchmark model.cif, independently of crystalx_core.io.cif."""
    small = gemmi.read_small_structure(str(path))
    ops = list(small.symops) or [op.triplet() for op in small.spacegroup.operations()]
    symops = full_operator_list(space_group_from_operators(ops))
    sites = [
        Site(
            label=s.label,
            element=s.element.name,
            frac=tuple(s.fract.tolist()),
            occupancy=s.occ,
            u_iso=s.u_iso if s.u_iso > 0 else 0.05,
            part=s.disorder_group,
        )
        for s in small.sites
    ]
    sfac = sorted({s.element for s in sites}, key=lambda el: (el != "C", el != "H", el))
    unit = [float(len(symops) * sum(s.occupancy for s in sites if s.element == el)) for el in sfac]
    c = small.cell
    return Structure(
        cell=(c.a, c.b, c.c, c.alpha, c.beta, c.gamma),
        symops=symops,
        sites=sites,
        sfac=sfac,
        unit=unit,
        title=path.parent.name,
    )


@pytest.mark.parametrize("entry", ALL_ENTRIES)
def test_new_ins_text_round_trip(shared_data, entry):
    res = BENCHMARK / entry / "published.res"
    structure = (
        read_shelx(res).to_structure()
        if res.exists()
        else _structure_from_cif(BENCHMARK / entry / "model.cif")
    )
    text = new_ins_text(structure)
    back = parse_shelx(text, "new.ins").to_structure()
    assert back.cell == pytest.approx(structure.cell, abs=1e-6)
    assert sorted(back.symops) == sorted(structure.symops)
    assert back.sfac == structure.sfac
    assert back.unit == pytest.approx(structure.unit, abs=1e-6)
    assert back.wavelength == pytest.approx(structure.wavelength)
    _assert_same_sites(structure.atoms, back.sites, tol=1e-6)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert parse_shelx(new_ins_text(structure.with_sites([]))).to_structure().sites == []


def test_new_ins_text_writes_peaks_only_when_asked():
    structure = Structure(
        cell=(5, 6, 7, 90, 100, 90),
        symops=["x,y,z", "-x,y+1/2,-z"],
        sfac=["C"],
        unit=[4],
        sites=[
            Site("C1", "C", (0.1, 0.2, 0.3)),
            Site("Q1", None, (0.4, 0.5, 0.6), peak_height=2.5),
        ],
    )
    assert [s.label for s in parse_shelx(new_ins_text(structure)).to_structure().sites] == ["C1"]
    back = parse_shelx(new_ins_text(structure, ["L.S. 4"], keep_peaks=True)).to_structure()
    assert back.sites[1].is_peak and back.sites[1].peak_height == pytest.approx(2.5)


# --- small files: parsing rules ------------------------------------------------------------

HEADER = (
    "TITL test\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 8 4\n"
)


def test_continuation_comments_fragments_and_trailer():
    text = (
        HEADER + "REM a remark ending in =\n"
        "FVAR 1.0 0.7\nFRAG 17 1 1 1 90 90 90\nC1 1 0 0 0\nFEND\n"
        "O1 3 0.1 0.2 0.3 21.0 0.02 0.03 = ! comment\n"
        "   0.04 0.001 0.002 0.003\n"
        "PART 1 -21\nC2 1 10.5 0.25 -0.1 ! no sof: PART gives -21\nPART 0\n"
        "AFIX 23\nH2A 2 0.1 0.1 0.1 11 -1.5\nAFIX 0\n"
        "FOOB 1.5 2 3 4 5 is not an atom\n"
        "HKLF 4\nEND\nQ1 1 0.5 0.5 0.5 11 0.05 1.2\n"
    )
    shelx = parse_shelx(text)
    assert shelx.render() == text
    sites = shelx.to_structure().sites
    assert [s.label for s in sites] == ["O1", "C2", "H2A"]  # FRAG atoms and post-END peaks left out
    o1, c2, h2a = sites
    assert o1.occupancy == pytest.approx(0.7)
    assert o1.u_aniso == (0.02, 0.03, 0.04, 0.001, 0.002, 0.003)
    assert c2.frac == (0.5, 0.25, -0.1) and c2.occupancy == pytest.approx(0.3) and c2.part == 1
    assert h2a.afix == 23 and h2a.u_iso == pytest.approx(1.5 * c2.u_iso)
    # HKLF ends the instructions (SHELXL reads the reflections next): END and the peak after it
    assert [line.kind for line in shelx.lines][-3:] == ["instruction", "trailer", "trailer"]
    assert shelx.lines[-4].kind == "unknown"


def test_long_form_sfac_q_peaks_and_crlf():
    text = (
        HEADER.replace(
            "SFAC C H O\nUNIT 8 8 4\n",
            "SFAC C H\nSFAC Cl 9.5 1.0 7.4 0.5 6.2 26 1.6 68 -9.6 =\n"
            "   0.15 0.16 11.3 1.0 35.45\nUNIT 8 8 4\n",
        )
        + "CL1 3 0.1 0.2 0.3 11 0.03\nQ1 1 0.2 0.3 0.4 11 0.05 1.75\nHKLF 4\nEND\n"
    )
    text = text.replace("\n", "\r\n")
    shelx = parse_shelx(text)
    assert shelx.render() == text and shelx.newline == "\r\n"
    assert shelx.sfac == ["C", "H", "Cl"] and "Cl" in shelx.sfac_long
    cl1, q1 = shelx.to_structure().sites
    assert cl1.element == "Cl" and q1.is_peak and q1.peak_height == 1.75
    rewritten = render_with_sites(shelx, shelx.to_structure(), keep_peaks=True)
    assert "\r\n" in rewritten and "\n" not in rewritten.replace("\r\n", "")
    assert parse_shelx(rewritten).to_structure().sites[1].peak_height == 1.75


def test_utf8_and_latin1_files_are_written_back_byte_for_byte(tmp_path):
    for encoding, title in (("utf-8", "Zürich ü"), ("latin-1", "Zürich ü")):
        path = tmp_path / f"{encoding}.ins"
        path.write_bytes((HEADER.replace("test", title) + "HKLF 4\nEND\n").encode(encoding))
        shelx = read_shelx(path)
        assert shelx.encoding == encoding and shelx.title == title
        assert shelx.render().encode(shelx.encoding) == path.read_bytes()


# --- bad input ---------------------------------------------------------------------------

ATOM = "C1 1 0.1 0.2 0.3 11.0 0.05\n"
BAD_SHELX = {
    "missing_cell": (HEADER.replace("CELL 0.71073 10 11 12 90 95 90\n", "") + ATOM, 7, "CELL"),
    "no_cell_no_atoms": ("TITL x\nHKLF 4\nEND\n", 3, "CELL"),
    "short_cell": (HEADER.replace("90 95 90", "90 95"), 2, "six cell parameters"),
    "text_in_cell": (HEADER.replace("11 12", "11 abc"), 2, "expected numbers"),
    "absurd_cell": (HEADER.replace("10 11 12", "10 11 1200"), 2, "CELL: cell edges"),
    "flat_cell": (HEADER.replace("90 95 90", "120 120 120"), 2, "no volume"),
    "truncated": (HEADER + "C1 1 0.1 0.2 0.3 11 0.02 0.02 =\n", 8, "truncated"),
    "unknown_element": (HEADER.replace("SFAC C H O", "SFAC C H Xq"), 6, "Xq"),
    "sfac_index": (HEADER + "C1 9 0.1 0.2 0.3 11 0.05\n", 8, "SFAC index 9"),
    "nan_coordinate": (HEADER + "C1 1 0.1 nan 0.3 11 0.05\n", 8, "NaN"),
    "text_coordinate": (HEADER + "C1 1 0.1 0.2x 0.3 11 0.05\n", 8, "expected numbers"),
    "no_sfac": (HEADER.replace("SFAC C H O\nUNIT 8 8 4\n", "") + ATOM, 6, "SFAC"),
    "unit_count": (HEADER.replace("UNIT 8 8 4", "UNIT 8 8"), 7, "UNIT gives 2"),
    "free_variable": (
        HEADER + "FVAR 1.0\nC1 1 0.1 0.2 0.3 31.0 0.05\n",
        9,
        "sof 31 refers to free variable 3, but FVAR defines 1..1 only",
    ),
    "free_variable_negative_sof": (
        HEADER + "FVAR 1.0 0.6\nC1 1 0.1 0.2 0.3 11.0 0.05\nO1 3 0.25 0.2 0.3 -31.0 0.05\n",
        10,
        "sof -31 refers to free variable 3, but FVAR defines 1..2 only",
    ),
    "free_variable_uiso": (
        HEADER + "FVAR 1.0 0.6\nC1 1 0.1 0.2 0.3 11.0 41.5\n",
        9,
        "Uiso 41.5 refers to free variable 4, but FVAR defines 1..2 only",
    ),
    "part_sof_without_fvar": (  # PART n sof with no FVAR at all: the atoms take the PART's sof
        HEADER + "PART 1 21\nC1 1 0.1 0.2 0.3\nPART 2 -21\nO1 3 0.15 0.2 0.3\nPART 0\n",
        9,
        "sof 21 (PART on line 8) refers to free variable 2, but no FVAR comes before it",
    ),
    "riding_first": (HEADER + "H1 2 0.1 0.2 0.3 11.0 -1.2\n", 8, "riding"),
    "bad_symm": (HEADER.replace("1/2-Z", "1/2-Q"), 5, "symmetry operator"),
    "not_a_group": (HEADER.replace("-X, 1/2+Y, 1/2-Z", "Y, Y, Z"), 5, "space group"),
    "bad_translation": (HEADER.replace("1/2+Y", "1/5+Y"), 5, "symmetry operator"),
    "bad_latt": (HEADER.replace("LATT 1", "LATT 9"), 4, "LATT"),
    "wavelength_zero": (
        HEADER.replace("CELL 0.71073", "CELL 0.0"),
        2,
        "CELL: wavelength 0 Å must be in (0, 10] (CELL gives the wavelength first, then a b c "
        "alpha beta gamma)",
    ),
    "negative_unit": (
        HEADER.replace("UNIT 8 8 4", "UNIT 8 -8 4"),
        7,
        "UNIT: negative atom count in '8 -8 4'",
    ),
    "temp_huge": (
        HEADER + "TEMP 1e300\n",
        8,
        "TEMP 1e+300 °C is outside -273.15..1500 °C (SHELX gives it in °C)",
    ),
    "temp_below_zero_kelvin": (
        HEADER + "TEMP -500\n",
        8,
        "TEMP -500 °C is outside -273.15..1500 °C",
    ),
    "negative_sof": (
        HEADER + "C1 1 0.1 0.2 0.3 -1.0 0.05\n",
        8,
        "atom C1: occupancy (sof) -1 is negative",
    ),
    "negative_uiso": (
        HEADER + "C1 1 0.1 0.2 0.3 11.0 -0.2\n",
        8,
        "atom C1: Uiso -0.2 Å² is negative (riding H take -0.5..-5)",
    ),
    "short_hklf_matrix": (
        HEADER + "HKLF 4 1 1 0 0 0 1\n",
        8,
        "HKLF n s r11..r33: the matrix needs nine numbers",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SHELX))
def test_bad_shelx_input_names_file_and_line(tmp_path, case):
    text, line, fragment = BAD_SHELX[case]
    path = tmp_path / f"{case}.ins"
    path.write_text(text)
    before = path.read_bytes()
    with pytest.raises(InputError) as caught:
        read_shelx(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message
    assert caught.value.line == line
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "data", [bytes(range(256)) * 8, b"\x89PNG\r\n\x1a\n" + b"\xff" * 500, b"\x8b\xf3\xa0" * 100]
)
def test_binary_garbage_is_an_input_error(tmp_path, data):
    path = tmp_path / "garbage.res"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_shelx(path)
    assert str(path) in str(caught.value) and caught.value.line >= 1
    assert path.read_bytes() == data


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_shelx(tmp_path / "nothing.ins")


def test_a_label_repeated_within_a_residue_is_a_one_line_error(shared_data, tmp_path):
    path = tmp_path / "twice.res"
    path.write_text(
        (BENCHMARK / "FC_sucrose" / "published.res").read_text().replace("\nC2 ", "\nC1 ", 1)
    )
    with pytest.raises(InputError, match=r"atom C1 repeats the label of line \d+"):
        read_shelx(path)


REFUSED = {
    "hklf6": (
        "BASF 0.3\nHKLF 6\n",
        "HKLF",
        9,
        "HKLF: twin data (HKLF 6 components); CrystalX refines",
    ),
    "hklf5_twin": (
        "TWIN 1 0 0 0 -1 0 0 0 -1\nBASF 0.3\nHKLF 5\n",
        "TWIN",
        8,
        "TWIN with HKLF 5 data: not refined here (Olex2 adds the TWIN law's components",
    ),
    "hklf2": (
        "HKLF 2\n",
        "HKLF",
        8,
        "HKLF: Laue data with a wavelength per reflection; CrystalX refines",
    ),
    "neut": ("NEUT\nHKLF 4\n", "NEUT", 8, "NEUT: neutron scattering lengths; CrystalX refines"),
    "neutron_sfac": (
        "HKLF 4\n",
        "SFAC",
        7,
        "SFAC O gives a scattering length, not X-ray form factor coefficients "
        "(neutron data); CrystalX refines X-ray data only",
    ),
    "electrons": (
        "HKLF 4\n",
        "CELL",
        2,
        "CELL: wavelength 0.0251 Å is not X-ray; CrystalX refines X-ray data",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_data_crystalx_cannot_refine_is_refused_naming_the_instruction(case):
    """Twins, Laue and neutron data are never read as HKLF 4 without a word."""
    extra, keyword, line, message = REFUSED[case]
    header = HEADER
    if case == "neutron_sfac":  # a1..b4 zero, c = the coherent scattering length (fm / 10)
        header = header.replace(
            "SFAC C H O\n", "SFAC C H\nSFAC O 0 0 0 0 0 0 0 0 0.5803 0 0 0.0002 0.66 16.0\n"
        )
    if case == "electrons":  # 200 kV electrons: the same cards, another wavelength
        header = header.replace("CELL 0.71073", "CELL 0.0251")
    shelx = parse_shelx(header + extra + "END\n", "x.ins")
    with pytest.raises(InputError) as caught:
        shelx.reflection_format()
    assert str(caught.value).startswith(f"x.ins:{line}: {message}"), str(caught.value)
    assert keyword in str(caught.value)


def test_hklf_4_and_3_with_scale_matrix_and_basf_are_read_as_written():
    shelx = parse_shelx(HEADER + "BASF 0.9\nHKLF -3 2 0 1 0 1 0 0 0 0 -1\nEND\n", "x.ins")
    hklf = shelx.reflection_format()
    assert (hklf.code, hklf.scale, hklf.matrix) == (3, 2.0, ((0, 1, 0), (1, 0, 0), (0, 0, -1)))
    assert hklf.notes == (
        "BASF (line 8): batch scale factors are not refined; every batch shares one scale",
    )
    plain = parse_shelx(HEADER + "HKLF 4 1 1 0 0 0 1 0 0 0 1\nEND\n").reflection_format()
    assert (plain.code, plain.scale, plain.matrix, plain.notes) == (4, 1.0, None, ())
    assert parse_shelx(HEADER + "END\n").reflection_format().code == 4


def test_values_shelxl_accepts_are_kept():
    """A slightly negative Uiso (a real refinement's non-positive-definite atom), TEMP -273 and a
    zero UNIT count are read; they are not typos."""
    text = (
        HEADER.replace("UNIT 8 8 4", "UNIT 8 0 4")
        + "TEMP -273\nC1 1 0.1 0.2 0.3 11.0 -0.01\nHKLF 4\nEND\n"
    )
    structure = parse_shelx(text).to_structure()
    assert structure.temperature_c == -273 and structure.unit == [8, 0, 4]
    assert structure.sites[0].u_iso == -0.01


def test_hfix_lines_wrap_within_80_columns_and_read_back():
    labels = [f"C{i}" for i in range(1, 31)] + [f"C{i}A" for i in range(100, 110)]
    groups = [(43, labels), (137, ["C5", "C6"])]
    lines = hfix_lines(groups)
    assert len(labels) == 40 and len(lines) > 2
    assert all(len(line) <= 80 for line in lines)
    instructions, pending = [], ""
    for line in lines:
        if pending:
            assert line.startswith(" ")
        pending += line
        if line.endswith(" ="):
            pending = pending[:-2]
        else:
            instructions.append(pending.split())
            pending = ""
    assert instructions == [["HFIX", "43", *labels], ["HFIX", "137", "C5", "C6"]]


def test_a_refined_result_drops_what_shelxl_wrote_after_end(shared_data):
    """SHELXL writes its R1 summary's WGHT and the Q peaks of its map after END, which Olex2
    shows: after our refinement they describe another model, so the file ends at END; an
    assignment without refinement keeps them (the model is the file's)."""
    shelx = read_shelx(BENCHMARK / "XH_alanine" / "published.res")
    structure = shelx.to_structure()
    refined = render_with_sites(shelx, structure, refined=True)
    assert refined.rstrip().endswith("END") and "Q20" not in refined and "HKLF 4" in refined
    assert "Q20" in render_with_sites(shelx, structure)


def test_end_is_the_keyword_in_the_first_column():
    """The reader and the writer tell END alike: an indented END continues the line before."""
    assert is_end_line("END\n") and is_end_line("end")
    assert not is_end_line(" END") and not is_end_line("ENDO 1 0.1 0.2 0.3 11 0.03")
