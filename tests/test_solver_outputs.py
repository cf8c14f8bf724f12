"""The files a user hands `crystalx assign` right after solving (session 15's survey): SHELXT
solutions as Olex2 saves them, SHELXL .res files from an Olex2 folder, Olex2's own .ins. Each
test reproduces a convention seen in a real file and names it; the files stay outside the
repository (a few lines transcribed, or a small cut where the licence allows)."""

import json
from dataclasses import replace

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core import element_evidence, hydrogen_data
from crystalx_core.batch import find_inputs
from crystalx_core.cli import main
from crystalx_core.crystallography import refine
from crystalx_core.crystallography.convert import (
    anomalous_scattering,
    set_dispersion,
    to_xray_structure,
)
from crystalx_core.hydrogen_data import HydrogenFits
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites
from crystalx_core.repeated_atoms import without_repeated_atoms
from crystalx_core.service import PROTOCOL, reply_to

# OldFedot/LogBooker test_data/Olex2/dom1_mC.res (commit b82531f3; no licence given, so only
# the lines of its conventions are transcribed): a SHELXL-2018/3 .res of a SHELXT solution
# that Olex2 refined. SHELXL continues TITL with indented lines (comments to SHELXL), writes
# WGHT and the Q peaks of its difference map after END, and Olex2 appends indented REM lines.
SHELXL_AFTER_SHELXT = (
    "TITL dom1_mc_a.res in C2/m\n"
    "    dom1_mc.res\n"
    "    created by SHELXL-2018/3 at 13:15:26 on 21-Jun-2023\n"
    "REM Old TITL dom1_mc_a.res in C2/m\n"
    "REM SHELXT solution in C2/m: R1 0.185, Rweak 0.014, Alpha 0.046\n"
    "REM Formula found by SHELXT: Cl8 Fe3\n"
    "CELL 0.2903 9.5434 2.9127 11.1936 90 115.832 90\n"
    "ZERR 2 0.0023 0.0012 0.0053 0 0.042 0\n"
    "LATT 7\nSYMM -X,+Y,-Z\nSFAC Cl Fe\n"
    "DISP Cl 0.0044 0.0253 56.6422\nDISP Fe 0.057 0.1523 285.2598\nUNIT 16 6\n\n"
    "L.S. 10\nPLAN  5\n"
    "REM <olex2.extras>\nREM <HklSrc \"%.\\\\dom1_mC.hkl\">\nREM </olex2.extras>\n\n"
    "WGHT    0.200000\nFVAR       0.62670\n"
    "FE01  2    0.500000    1.000000    0.500000    10.25000    0.00904    0.01839 =\n"
    "         0.00522    0.00000   -0.00272    0.00000\n"
    "CL03  1    0.151763    0.000000    0.043119    10.50000    0.01136    0.01080 =\n"
    "         0.01367    0.00000    0.00256    0.00000\n"
    "HKLF 4\n\n\n\n\nREM  dom1_mc_a.res in C2/m\n"
    "REM R1 = 0.1629 for 285 Fo > 4sig(Fo) and 0.1818 for all 353 data\n\n"
    "END  \n     \nWGHT      0.2000      0.0000 \n\n"
    "REM Highest difference peak  3.851,  deepest hole -3.702,  1-sigma level  0.817\n"
    "Q1    1   0.4704  0.5000  0.5525  10.50000  0.05    3.85\n\n"
    "  REM The information below was added by Olex2.\n  REM R1_all = 0.1818\n"
)


def test_a_shelxl_res_of_a_shelxt_solution_reads_as_shelxl_reads_it():
    """The indented lines after TITL are comments, not a continued title or atoms; the Q peak
    after END describes the old model's difference map and is no site; Olex2's HklSrc names
    the reflections; the sof 10.25/10.5 of atoms on special positions give whole atoms."""
    shelx = parse_shelx(SHELXL_AFTER_SHELXT, "dom1_mC.res")
    structure = shelx.to_structure()
    assert shelx.title == "dom1_mc_a.res in C2/m"
    assert [(s.label, s.element) for s in structure.sites] == [("FE01", "Fe"), ("CL03", "Cl")]
    assert [round(s.occupancy, 3) for s in structure.sites] == [1.0, 1.0]
    assert structure.wavelength == 0.2903
    assert shelx.hkl_source().name == "dom1_mC.hkl"


def _retyped(text: str, elements: dict[str, str]) -> str:
    """The .res written after giving atoms another element under the same number, as a job
    labels a retyped atom (C12 -> Cl12)."""
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, element=elements[s.label], label=elements[s.label] + s.label[1:])
        if s.label in elements
        else s
        for s in structure.sites
    ]
    return render_with_sites(shelx, structure.with_sites(sites), notes=[])


def test_an_instruction_that_names_retyped_atoms_stays_within_80_columns():
    """A restraint line as SHELXL and Olex2 wrap them (to 79 columns, then ' =' and an indented
    line) grew past 80 when the atoms it names were retyped to a longer symbol (C -> Cl): SHELXL
    reads 80 columns of a line, so the last names and the '=' that continued the instruction
    were lost. The line is now split with '=' continuations, every name kept in order."""
    atoms = "".join(
        f"C{k}    1    0.{k:02d}0000    0.100000    0.200000    11.00000    0.05000\n"
        for k in range(10, 22)
    )
    sadi = (
        "SADI 0.02 C10 C11 C11 C12 C12 C13 C13 C14 C14 C15 C15 C16 C16 C17 C17 C18 =\n"
        "   C18 C19 C19 C20 C20 C21 ! chain\n"
    )
    text = (
        "TITL t\nCELL 0.71073 10 10 10 90 90 90\nZERR 1 0 0 0 0 0 0\nLATT 1\n"
        "SFAC C Cl\nUNIT 12 12\n" + sadi + "FVAR 1\n" + atoms + "HKLF 4\nEND\n"
    )
    assert max(len(line) for line in text.splitlines()) <= 80
    out = _retyped(text, {f"C{k}": "Cl" for k in range(10, 22)})
    assert max(len(line) for line in out.splitlines()) <= 80
    sadi_lines = [ln for ln in parse_shelx(out, "y.res").lines if ln.keyword == "SADI"]
    expected = " ".join(f"Cl{k} Cl{k + 1}" for k in range(10, 21))
    assert [" ".join(ln.fields) for ln in sadi_lines] == ["0.02 " + expected]
    assert "! chain" in out


@pytest.mark.parametrize("continuation", ["   ! " + "x" * 85, " " * 85], ids=["comment", "blank"])
def test_a_continuation_past_80_columns_without_names_stays_as_it_is(continuation):
    """A renamed instruction continued on a line over 80 columns that holds only a '!' comment
    or spaces (no name to move) is written with that line as it was; the job stopped with a
    traceback there."""
    atoms = "".join(
        f"C{k}    1    0.{k:02d}0000    0.100000    0.200000    11.00000    0.05000\n"
        for k in range(10, 14)
    )
    text = (
        "TITL t\nCELL 0.71073 10 10 10 90 90 90\nZERR 1 0 0 0 0 0 0\nLATT 1\nSFAC C Cl\n"
        f"UNIT 12 12\nSADI 0.02 C10 C11 C12 C13 =\n{continuation}\nFVAR 1\n{atoms}HKLF 4\nEND\n"
    )
    out = _retyped(text, {"C10": "Cl"})
    assert f"SADI 0.02 Cl10 C11 C12 C13 =\n{continuation}\nFVAR 1\n" in out


def test_the_dispersion_a_file_gives_is_what_the_refinement_uses():
    """SHELXT and Olex2 write DISP for each element at a wavelength other than Mo's or Cu's
    (0.2903 Å here), and SHELXL refines with those f' and f'' instead of its own tables; the
    job took cctbx's tables for the wavelength and only said so. Now every scatterer of an
    element with a DISP gets its values; one without (H, added by the job) the tables'."""
    structure = parse_shelx(SHELXL_AFTER_SHELXT, "dom1_mC.res").to_structure()
    assert structure.dispersion == {"Cl": (0.0044, 0.0253), "Fe": (0.057, 0.1523)}
    h = replace(structure.sites[1], label="H1", element="H", frac=(0.2, 0.1, 0.1), u_aniso=None)
    xs = to_xray_structure(structure.with_sites([*structure.sites, h]))
    set_dispersion(xs, structure.wavelength, structure.dispersion)
    values = {sc.label: (round(sc.fp, 4), round(sc.fdp, 4)) for sc in xs.scatterers()}
    assert values["FE01"] == (0.057, 0.1523) and values["CL03"] == (0.0044, 0.0253)
    assert values["H1"] == tuple(round(v, 4) for v in anomalous_scattering("H", 0.2903))


def test_a_real_files_dispersion_reaches_the_refinement_and_the_evidence(
    shared_data, tmp_path, monkeypatch, capsys
):
    """XH_urea's SHELXL .res (0.5996 Å) gives DISP for C, H, N and O, away from the tables' values
    (O 0.007/0.004 against 0.0041/0.0042). The refinement of `assign --hkl`, its element evidence
    and the H fits on the same reflections each compute with the file's pairs, every time: the
    real set_dispersion runs, and what it gave the scatterers is recorded."""
    folder = shared_data / "benchmark" / "XH_urea"
    (tmp_path / "urea.res").write_text((folder / "published.res").read_text())
    (tmp_path / "urea.hkl").write_text((folder / "data.hkl").read_text())
    seen: dict[str, dict[str, set]] = {}

    def recorded(module):
        def set_dispersion_recorded(xs, wavelength, given=None, merge=2):
            set_dispersion(xs, wavelength, given, merge)
            for sc in xs.scatterers():
                seen.setdefault(module, {}).setdefault(sc.scattering_type, set()).add(
                    (sc.fp, sc.fdp)
                )

        return set_dispersion_recorded

    for module in (refine, element_evidence, hydrogen_data):
        monkeypatch.setattr(module, "set_dispersion", recorded(module.__name__))
    args = ["assign", str(tmp_path / "urea.res"), "--hkl", str(tmp_path / "urea.hkl")]
    assert main([*args, "--method", "baseline", "--json"]) == 0
    capsys.readouterr()
    structure = parse_shelx((tmp_path / "urea.res").read_text(), "urea.res").to_structure()
    fits = HydrogenFits(structure, read_hkl(tmp_path / "urea.hkl"))
    assert len(fits.f_heavy) == len(fits.observed)
    given = {"C": {(0.002, 0.001)}, "N": {(0.004, 0.002)}, "O": {(0.007, 0.004)}}
    assert seen["crystalx_core.crystallography.refine"] == {**given, "H": {(0.0, 0.0)}}
    assert seen["crystalx_core.element_evidence"] == {**given, "H": {(0.0, 0.0)}}
    assert seen["crystalx_core.hydrogen_data"] == given  # the non-H atoms' Fc


DISP_HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C\n"
)
DISP_ATOMS = "FVAR 1\nFE1 2 0.1 0.2 0.3 11 0.03\nC1 1 0.3 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
# XPREP's long form: SFAC E a1 b1 a2 b2 a3 b3 a4 b4 c f' f'' mu r wt (SHELXL manual, SFAC), here
# with International Tables' Gaussian coefficients of Fe and its f' f'' at Mo Kα
SFAC_FE = (
    "SFAC Fe 11.7695 4.7611 7.3573 0.3072 3.5222 15.3535 2.3045 76.8805 =\n"
    "    1.0369 0.3463 0.8444 302.6 1.17 55.847\n"
)


def test_a_disp_without_both_values_leaves_the_element_to_the_tables_with_a_note():
    """`DISP Fe 0.3` gives f' alone: Fe keeps the tables' pair rather than an f'' of 0 the file
    never gave, and the job says so where it refines, naming the line (it said nothing)."""
    shelx = parse_shelx(DISP_HEADER + "SFAC Fe\nDISP Fe 0.3\nUNIT 8 4\n" + DISP_ATOMS, "t.res")
    assert shelx.to_structure().dispersion == {}
    assert shelx.reflection_format().notes == (
        "DISP Fe (line 8): f' and f'' not both given; the tables' values used",
    )


@pytest.mark.parametrize(
    "disp, expected, note",
    [
        ("", (0.3463, 0.8444), "its f' and f'' are used"),
        ("DISP Fe 0.35 0.85\n", (0.35, 0.85), "the f' and f'' of DISP (line 9) are used"),
        ("DISP Fe 0.35\n", (0.3463, 0.8444), "its f' and f'' are used"),
    ],
    ids=["sfac-alone", "disp-after", "partial-disp-after"],
)
def test_a_long_form_sfac_gives_its_dispersion_unless_a_disp_does(disp, expected, note):
    """SHELXL takes f' and f'' from a long-form SFAC (after its Gaussian coefficients) and a DISP
    for the element after it replaces them; the job refined with the tables' values and said only
    that the coefficients were not used. Now the SFAC's or DISP's are used, and the SFAC note says
    which."""
    text = DISP_HEADER + SFAC_FE + disp + "UNIT 8 4\n" + DISP_ATOMS
    shelx = parse_shelx(text, "t.res")
    assert shelx.to_structure().dispersion == {"Fe": expected}
    sfac_note = next(n for n in shelx.reflection_format().notes if n.startswith("SFAC Fe"))
    assert sfac_note == (
        "SFAC Fe (line 7): the standard form factor of Fe is used, not the Gaussian "
        f"coefficients given; {note}"
    )


# dkratzert/DSR pictures/octane-ccdc_EXPORTED.res (commit 957355c3; Beerware licence, as its
# sources say), cut to its crystal data, atoms and three instructions: ShelXle's export of CSD
# OCTANE01 (P-1, the molecule on an inversion centre), which lists the whole molecule, C5-C8
# on the images of C4-C1 through 1/2, 1/2, 1/2
OCTANE_EXPORT = (
    "TITL 'OCTANE01'@ octane-ccdc.res\nCELL  0.71073 4.1947 4.7518 10.998 85.11 83.77 74.26\n"
    "ZERR 2 0.0009 0.0012 0.003 0.02 0.02 0.02\nSYMM  -x, -y, -z\nSFAC C H \nUNIT 8 18\n"
    "FVAR 1.00 1 \n"
    "C3    1   0.640600   0.343900   0.661230   1.00000   0.05000\n"
    "C4    1   0.516400   0.567900   0.558310   1.00000   0.05000\n"
    "C5    1   0.483600   0.432100   0.441690   1.00000   0.05000\n"
    "C6    1   0.359400   0.656100   0.338770   1.00000   0.05000\n"
    "C7    1   0.326600   0.520800   0.222240   1.00000   0.05000\n"
    "C8    1   0.199100   0.746600   0.120650   1.00000   0.05000\n"
    "C1    1   0.800900   0.253400   0.879350   1.00000   0.05000\n"
    "C2    1   0.673400   0.479200   0.777760   1.00000   0.05000\n"
    "EQIV $1  1-x, 1-y, 1-z\nBIND C4 C3\nBIND_$1 C4 C4\nHKLF 0 !don't refine this\nEND\n"
)


def test_an_atom_listed_again_on_a_symmetry_image_is_left_out_with_a_note(tmp_path, capsys):
    """Each of C5-C8 lies on the image of an earlier atom, both whole: every C took its twin's
    image as a bonded neighbour, and the job placed no H on octane (one note said an atom was
    missing). The later atom of each pair is left out, with a note naming the pairs, and the
    half molecule gets its 9 H (CH3, 3 CH2); instructions naming only kept atoms stay."""
    res = tmp_path / "octane.res"
    res.write_text(OCTANE_EXPORT)
    args = ["assign", str(res), "--method", "baseline", "--hydrogens", "rules", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(a["label"] for a in report["atoms"]) == ["C3", "C4", "C7", "C8"]
    assert sum(a["h_count"] for a in report["atoms"]) == 9
    assert any("C5 on C4, C6 on C3, C1 on C8, C2 on C7" in n for n in report["notes"])
    lines = (tmp_path / "octane_crystalx.res").read_text().splitlines()
    assert not [ln for ln in lines if ln.split()[:1] in (["C1"], ["C2"], ["C5"], ["C6"])]
    assert "BIND C4 C3" in lines and "BIND_$1 C4 C4" in lines


def test_in_olex2_the_repeat_note_asks_for_kill_there_not_fuse():
    """Through the service the structure is the user's Olex2 model, which the answer's commands
    leave holding both atoms of each pair: the note asks for `kill` there. Olex2 deleted any
    repeat within 0.01 Å of its twin when it loaded the file (xlib/unitcell.cpp
    TUnitCell::TSearchSymmEqTask::Run, run by TLattice::Init), so the model it sends holds
    them further apart (here 0.03 Å), where `fuse` (XLibMacros::macFuse: TLattice::Uniq, the
    same search) leaves them; main asked for `fuse`."""
    structure = parse_shelx(OCTANE_EXPORT, "octane.res").to_structure()
    twins = ("C5", "C6", "C7", "C8")
    structure = structure.with_sites(
        [
            replace(s, frac=(s.frac[0] + 0.008, *s.frac[1:])) if s.label in twins else s
            for s in structure.sites
        ]
    )
    snapshot = {
        "cell": list(structure.cell),
        "symops": structure.symops,
        "sfac": structure.sfac,
        "unit": structure.unit,
        "sites": [
            {"label": s.label, "element": s.element, "frac": list(s.frac), "u_iso": s.u_iso}
            for s in structure.sites
        ],
    }
    params = {"structure": snapshot, "options": {"method": "baseline", "hydrogens": "rules"}}
    request = {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": params}
    reply, _ = reply_to(json.dumps(request).encode())
    notes = reply["result"]["job_notes"]
    assert (
        "atoms the model holds twice, each a whole atom on an earlier one or its symmetry image "
        "(C5 on C4, C6 on C3, C1 on C8, C2 on C7): the later left out of this answer; `kill` "
        "them in Olex2 (with any H bonded to them), whose `fuse` merges only atoms within 0.01 Å"
    ) in notes
    assert sorted(site["label"] for site in reply["result"]["sites"]) == ["C3", "C4", "C7", "C8"]


DISORDER_HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C O\nUNIT 8 8\n"
)


@pytest.mark.parametrize(
    "atoms",
    [
        # PART 1/PART 2, or a split site on 21/-21; and two half atoms outside any PART
        "FVAR 1 0.5\nPART 1\nO1 2 0.1 0.2 0.3 21 0.03\nPART 2\nC1 1 0.1 0.2 0.3 -21 0.03\n"
        "PART 0\nO2 2 0.3 0.2 0.3 21 0.03\nO3 2 0.3 0.2 0.3 -21 0.03\n",
        # PART 1/PART 2 on independent free variables whose occupancies add up to over one
        "FVAR 1 0.5 0.55 0.52\nPART 1\nC1 1 0.1 0.2 0.3 31 0.03\n"
        "PART 2\nC2 1 0.1 0.2 0.305 41 0.03\nPART 0\n",
        # PART 1/PART 2 both left at 11.0 while the model is built
        "FVAR 1\nPART 1\nC1 1 0.1 0.2 0.3 11 0.03\nPART 2\nC2 1 0.1 0.2 0.305 11 0.03\nPART 0\n",
        # PART -1 about the inversion centre, C2 on C1's image, written 11 instead of 10.5
        "FVAR 1\nPART -1\nC1 1 0.1 0.2 0.3 11 0.03\nC2 1 -0.1 -0.2 -0.303 11 0.03\nPART 0\n",
    ],
    ids=["half-atoms", "free-variables", "parts-at-11", "negative-part-image"],
)
def test_disorder_alternatives_on_one_place_are_not_repeats(atoms):
    """Atoms on one place that the file declares alternatives (different non-zero PARTs, a
    negative PART against an image) or whose occupancies add up to one are a model's disorder,
    not an atom listed twice, whatever their occupancies: both stay. Our own data hold such
    pairs within 0.1 Å (FC_p31c N1/N1' 0.043 Å, FC_p21c F4_1/F6_2 0.094 Å)."""
    text = DISORDER_HEADER + atoms + "HKLF 4\nEND\n"
    for grouped in (True, False):  # as the job reads them (mixed sites), and atom by atom
        structure = parse_shelx(text, "t.res").to_structure(group_mixed=grouped)
        kept, note, _ = without_repeated_atoms(structure)
        assert kept.sites == structure.sites and note == ""


def test_a_whole_atom_again_on_an_image_in_the_same_part_is_a_repeat():
    """The PART rules spare alternatives only: the same grown image within one PART (or PART 0
    against PART 1) is the atom listed twice."""
    atoms = (
        "FVAR 1\nPART 1\nC1 1 0.1 0.2 0.3 11 0.03\nC2 1 -0.1 -0.2 -0.3 11 0.03\nPART 0\n"
        "C3 1 0.3 0.2 0.1 11 0.03\nPART 2\nC4 1 -0.3 -0.2 -0.1 11 0.03\nPART 0\n"
    )
    structure = parse_shelx(DISORDER_HEADER + atoms + "HKLF 4\nEND\n", "t.res").to_structure()
    kept, note, _ = without_repeated_atoms(structure)
    assert [s.label for s in kept.sites] == ["C1", "C3"]
    assert "(C2 on C1, C4 on C3)" in note


def test_shelxts_input_beside_its_solutions_is_named_not_run(tmp_path):
    """SHELXT writes the solutions of name.ins as name_a.res, name_b.res (shelx.uni-goettingen.de,
    SHELXT: 'outputs possible solutions to name_x.res'); a batch over that folder ran name.ins,
    which has no atoms, as a structure of its own and counted it failed. It is now named with the
    first solution read, and so is name_b.res, another solution of the same data (session 24:
    it was run as a second structure); an .ins with atoms beside a solution SHELXT did not
    mark stays a structure of its own."""
    header = "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    header += "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C O\nUNIT 8 8\n"
    atom = "C1 1 0.1 0.2 0.3 11 0.05\n"
    (tmp_path / "name.ins").write_text(header + "TREF\nHKLF 4\nEND\n")
    (tmp_path / "name_a.res").write_text(header + atom + "HKLF 4\nEND\n")
    (tmp_path / "name_b.res").write_text(header + atom + "HKLF 4\nEND\n")
    (tmp_path / "other.ins").write_text(header + atom + "HKLF 4\nEND\n")
    (tmp_path / "other_a.res").write_text(header + atom + "HKLF 4\nEND\n")
    items = {
        item.model.name: [p.name for p in item.left_out] for item in find_inputs(tmp_path).items
    }
    assert items == {
        "name_a.res": ["name.ins", "name_b.res"],
        "other.ins": [],
        "other_a.res": [],
    }


def test_only_an_ins_beside_solutions_is_read_to_find_inputs(tmp_path, monkeypatch):
    """Whether an .ins holds atoms matters only beside a solution of its name: a folder of
    lone .ins files (each its own structure) is not parsed twice to list it; of a crystal's
    files, each is parsed once at most (the solution: whether it holds atoms to be run)."""
    from crystalx_core.io import shelx_read

    header = "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSFAC C\nUNIT 8\n"
    (tmp_path / "name.ins").write_text(header + "TREF\nHKLF 4\nEND\n")
    (tmp_path / "name_a.res").write_text(header + "C1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\nEND\n")
    for lone in ("one.ins", "two.ins"):
        (tmp_path / lone).write_text(header + "C1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\nEND\n")
    read = []
    real = shelx_read.read_shelx
    monkeypatch.setattr(shelx_read, "read_shelx", lambda path: read.append(path.name) or real(path))
    names = [item.model.name for item in find_inputs(tmp_path).items]
    assert names == ["name_a.res", "one.ins", "two.ins"]
    assert read == ["name.ins", "name_a.res"]
