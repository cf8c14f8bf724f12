"""A CIF's weighting scheme read from its text as SHELXL's WGHT, for the final refinement of a
CIF without an embedded .res (io.cif_weights; crystallography.weights.final_setup)."""

import json

import gemmi
import pytest

from crystalx_core.cli import main
from crystalx_core.crystallography.weights import Weighting, final_setup
from crystalx_core.io.cif_weights import DETAILS_TAG, SCHEME_TAG, cif_weighting, shelxl_wght
from crystalx_core.io.shelx_read import parse_shelx
from tests.conftest import BENCHMARK

THIRD = 1 / 3

# _refine_ls_weighting_details as found in ../shared/data (benchmark and corpus CIFs)
READ = [
    # SHELXL's own (benchmark CCTBX_cu3182/model.cif)
    (
        r"calc w=1/[\s^2^(Fo^2^)+(0.0414P)^2^+1.1870P] where P=(Fo^2^+2Fc^2^)/3",
        (0.0414, 1.187, 0.0, 0.0, 0.0, THIRD),
    ),
    # WGHT 0 0: SHELXL leaves the terms out
    (r"w=1/[\s^2^(Fo^2^)] where P=(Fo^2^+2Fc^2^)/3", (0.0, 0.0, 0.0, 0.0, 0.0, THIRD)),
    # no b term, spaces, the clause on its own line, as a text field
    (
        "\ncalc w = 1/[\\s^2^(F~o~^2^) + (0.0371P)^2^]\nwhere P = (F~o~^2^ + 2F~c~^2^)/3\n",
        (0.0371, 0.0, 0.0, 0.0, 0.0, THIRD),
    ),
    # CRYSTALS' 'Modified Sheldrick', max(Fo², 0) in P
    (
        r"Method= Modified Sheldrick w=1/[\s^2^(F^2^) + ( 0.05P)^2^ + 0.79P] ,where "
        r"P=(max(Fo^2^,0) + 2Fc^2^)/3",
        (0.05, 0.79, 0.0, 0.0, 0.0, THIRD),
    ),
    (
        r"w = 1/[\s^2^(Fo^2^)+(0.0441P)^2^] where P = [Max(F~o~^2^,0) + 2F~c~^2^]/3",
        (0.0441, 0.0, 0.0, 0.0, 0.0, THIRD),
    ),
    # SHELXL's WGHT f other than 1/3, P = f·Fo² + (1 − f)·Fc² (SHELXL manual, WGHT)
    (r"w=1/[\s^2^(Fo^2^)+(0.05P)^2^+0.2P] where P=0.5Fo^2^+0.5Fc^2^", (0.05, 0.2, 0, 0, 0, 0.5)),
    # P in the SHELXL manual's own order, P = [2Fc² + Max(Fo², 0)]/3 (WGHT)
    (
        r"w=1/[\s^2^(Fo^2^)+(0.05P)^2^+0.3P] where P=[2Fc^2^+Max(Fo^2^,0)]/3",
        (0.05, 0.3, 0.0, 0.0, 0.0, THIRD),
    ),
    # a*P written with its '*', no P clause (as in ChimeraX-Clipper's COD-drawn parser tests)
    (r"w=1/[\s^2^(F~o~^2^)+(0.0412*P)^2^+0.2563*P]", (0.0412, 0.2563, 0.0, 0.0, 0.0, THIRD)),
    # SHELXL-93 era: σ²(Fo²) written σ²(Fo)², beside SHELXL's P (corpus sfarchiv2_2004804, Fsqd)
    (
        r"w = 1/[\s^2^(F~o~)^2^ + (0.0715P)^2^ + 0.7135P] where P = [max(0,F~o~^2^) + 2F~c~^2^]/3",
        (0.0715, 0.7135, 0.0, 0.0, 0.0, THIRD),
    ),
    # ... and without its 'w =' (corpus codtools_2006998, SHELXL93, Fsqd)
    (
        "1/[\\s^2^(F~o~)^2^+(0.0106P)^2^]\nwhere P = [max(0,F~o~^2^)+2F~c~^2^]/3",
        (0.0106, 0.0, 0.0, 0.0, 0.0, THIRD),
    ),
    # the clause cut short on the scheme's one line (corpus codtools_2003335, Fsqd): SHELXL's
    # P, as for a form without the clause
    (r"calc w=1/[\s^2^(Fo^2^)+(0.0544P)^2^+0.0000P] wh", (0.0544, 0.0, 0.0, 0.0, 0.0, THIRD)),
    # w = 1/σ²(Fo²), WGHT 0 0, as other programs write it on Fo² (Fsqd): TEXSAN's F^2^~obs~
    # without brackets (corpus sfarchiv2_2004837), XD's w2 and s^2^ (corpus codtools_2104634)
    (r"w=1/\s^2^(F^2^~obs~)", (0.0, 0.0, 0.0, 0.0, 0.0, THIRD)),
    (r"calc w2 = 1/[s^2^(Fo^2^)]", (0.0, 0.0, 0.0, 0.0, 0.0, THIRD)),
]

NOT_READ = [
    r"w = 1/[\s^2^(F)+0.0005F^2^]",  # weights on F
    r"w = 4F~o~^2^/\s^2^(F~o~^2^)",
    "Method, part 1, Chebychev polynomial, (Watkin, 1994, Prince, 1982)",
    r"Method= Modified Sheldrick w=1/[\s^2^(F^2^) + ( 0.07P)^2^ +*****P] ,where P=(Fo^2^)/3",
    r"w = 1/[\s^2^(F~o~)^2^ + (0.0715P)^2^]",  # σ²(Fo)² with no P to say it is SHELXL's
    r"calc w1 = 1/[s^2^(Fo)]",  # XD on F (corpus codtools_2102846)
    r"w=1/\s^2^(Fo^2^)+(0.05P)^2^",  # no brackets: 1/σ² + (aP)², not SHELXL's weight
    r"w = 1/[\s^2^(F~o~)]",  # on F (corpus sfarchiv2_2004979)
    r"w=1/[\s^2^(Fo^2^)+(0.05P)^2^] where P=0.5Fo^2^+0.6Fc^2^",  # not SHELXL's P
    "sigma",
    "calc",
]


@pytest.mark.parametrize("text, wght", READ)
def test_shelxls_form_is_read_as_its_wght(text, wght):
    assert shelxl_wght(text) == pytest.approx(wght)


@pytest.mark.parametrize("text", NOT_READ)
def test_other_schemes_name_no_wght(text):
    assert shelxl_wght(text) is None


def _block(text: str):
    doc = gemmi.cif.read_string("data_x\n_cell_length_a 10\n" + text)
    return doc[0]


def test_a_cifs_scheme_weighs_the_final_refinement_unless_its_res_has_a_wght():
    """The details (or, in older CIFs, the scheme itself) give the WGHT; an embedded .res's
    WGHT line is the one refined with, and stays first."""
    line_of = {"_refine_ls_weighting_details": 4, "_refine_ls_weighting_scheme": 3}.get
    cif = cif_weighting(
        _block(
            "_refine_ls_weighting_scheme calc\n_refine_ls_weighting_details\n"
            "'w=1/[\\s^2^(Fo^2^)+(0.0269P)^2^+23.9134P] where P=(Fo^2^+2Fc^2^)/3'\n"
        ),
        line_of,
    )
    assert cif.wght == pytest.approx((0.0269, 23.9134, 0, 0, 0, THIRD)) and cif.line == 4
    setup = final_setup(None, cif)
    assert setup.weighting == Weighting(0.0269, 23.9134) and setup.note == ""
    assert setup.changes_refinement() and setup.extinction is None
    header = "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSFAC C\nUNIT 8\n"
    atoms = "FVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.03\nHKLF 4\nEND\n"
    res = parse_shelx(header + "WGHT 0.05 0.2\nEXTI 0.01\n" + atoms)
    assert final_setup(res, cif) == final_setup(res)
    bare = final_setup(parse_shelx(header + "EXTI 0.01\n" + atoms), cif)
    assert bare.weighting == Weighting(0.0269, 23.9134) and bare.extinction == 0.01
    old = cif_weighting(
        _block("_refine_ls_weighting_scheme 'calc w=1/[\\s^2^(Fo^2^)+(0.1241P)^2^]'\n"), line_of
    )
    assert old.wght == pytest.approx((0.1241, 0, 0, 0, 0, THIRD)) and old.line == 3


def test_sigma_on_fo2_is_wght_0_0():
    """CIF core _refine_ls_weighting_scheme 'sigma': weights from the measured su, w = 1/σ²
    of what was refined; on Fo² (_refine_ls_structure_factor_coef Fsqd, corpus COD 2102163)
    that is SHELXL's WGHT 0 0; on F it is no WGHT."""
    line_of = {"_refine_ls_weighting_scheme": 5}.get
    on_fo2 = cif_weighting(
        _block("_refine_ls_structure_factor_coef Fsqd\n_refine_ls_weighting_scheme sigma\n"),
        line_of,
    )
    assert on_fo2.wght == pytest.approx((0, 0, 0, 0, 0, THIRD)) and on_fo2.line == 5
    on_f = cif_weighting(
        _block("_refine_ls_structure_factor_coef F\n_refine_ls_weighting_scheme sigma\n"),
        line_of,
    )
    assert on_f.wght is None and on_f.problem == "'sigma' is not SHELXL's w=1/[σ²(Fo²)+(aP)²+bP]"


def test_a_scheme_not_shelxls_keeps_the_default_and_says_why():
    line_of = {"_refine_ls_weighting_details": 7, "_refine_ls_weighting_scheme": 6}.get
    on_f = cif_weighting(
        _block("_refine_ls_weighting_scheme calc\n_refine_ls_weighting_details 'w=1/\\s^2^(F)'\n"),
        line_of,
    )
    setup = final_setup(None, on_f)
    assert setup.weighting is None and not setup.changes_refinement()
    assert setup.note == (
        "_refine_ls_weighting_details (line 7): 'w=1/\\s^2^(F)' is not SHELXL's "
        "w=1/[σ²(Fo²)+(aP)²+bP], WGHT 0.1 used"
    )
    bare = final_setup(None, cif_weighting(_block("_refine_ls_weighting_scheme calc\n"), line_of))
    assert (
        bare.note == "_refine_ls_weighting_scheme (line 6): 'calc' gives no formula, WGHT 0.1 used"
    )
    other_f = final_setup(
        None,
        cif_weighting(
            _block("_refine_ls_weighting_details 'w=1/[\\s^2^(Fo^2^)] where P=0.5Fo^2^+0.5Fc^2^'"),
            line_of,
        ),
    )
    assert other_f.weighting == Weighting(0, 0, 0, 0, 0, 0.5)
    assert other_f.note.startswith("_refine_ls_weighting_details (line 7): f 0.5 not applied")
    assert final_setup(None, cif_weighting(_block(""), line_of)) == final_setup(None)


def test_assign_refines_a_cif_with_its_own_scheme(shared_data, tmp_path):
    """COD 1501469 (no embedded .res; published WGHT 0.1 1.0, R1 0.0416, wR2 0.1181, GooF
    1.049): refined with WGHT 0.1 the job's wR2 was 0.143 and its GooF 1.42. Its final
    refinement now weighs as the CIF says (wR2 0.127, GooF 1.12), and the fresh .res carries
    that WGHT before END."""
    entry = BENCHMARK / "COD_1501469"
    cif = tmp_path / "model.cif"
    cif.write_bytes((entry / "model.cif").read_bytes())
    out = tmp_path / "x"
    hkl = str(entry / "data.hkl")
    assert main(["assign", str(cif), "--hkl", hkl, "--quiet", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "x.json").read_text())["refinement"]
    assert report["weighting"] == {"a": 0.1, "b": 1.0}
    assert report["wr2"] < 0.135 and report["goof"] < 1.25
    head = (tmp_path / "x.res").read_text().partition("\nEND\n")[0]
    assert "\nWGHT    0.100000    1.000000\n" in head and "\nWGHT 0.1\n" not in head


def test_every_corpus_cif_reads_its_scheme_or_says_why(shared_data):
    """Every block of the corpus CIFs (SHELXL-93 to 2019, CRYSTALS, JANA, ...) gives a WGHT or
    a note quoting its text, never an error; SHELXL's own P clause always reads. The old
    σ²(Fo)² form reads on the real files, at the tag and line it is written on."""
    import re

    from crystalx_core.io.cif import read_cif

    read = 0
    for path in sorted((shared_data / "corpus").glob("*.cif")):
        for block in gemmi.cif.read(str(path)):
            cif = cif_weighting(block, lambda tag: 1)
            values = (block.find_value(tag) for tag in (DETAILS_TAG, SCHEME_TAG))
            text = " ".join(gemmi.cif.as_string(v) for v in values if v not in (None, "?", "."))
            said = cif.wght is not None or cif.problem != ""  # a WGHT or why not, never both
            assert said == bool(text.strip()) and not (cif.wght and cif.problem), path.name
            if re.search(r"\\s\^2\^\(Fo\^2\^\).*P ?= ?\(Fo\^2\^ ?\+ ?2Fc\^2\^\)/3", text):
                assert cif.wght is not None, (path.name, text)
            read += cif.wght is not None
    assert read > 200
    for name, tag, wght in (
        ("sfarchiv2_2004804", "_refine_ls_weighting_scheme", (0.0715, 0.7135)),
        ("sfarchiv2_2004970", "_refine_ls_weighting_details", (0.1402, 7.37)),
        ("codtools_2006998", "_refine_ls_weighting_details", (0.0106, 0.0)),
    ):
        path = shared_data / "corpus" / f"{name}.cif"
        entry = read_cif(path)
        lines = path.read_text(errors="replace").splitlines()
        assert entry.weighting.tag == tag and lines[entry.weighting.line - 1].startswith(tag)
        assert entry.weighting.wght[:2] == pytest.approx(wght)
