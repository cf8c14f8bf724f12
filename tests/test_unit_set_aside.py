"""UNIT lines that cannot be the cell contents (contents.unit_set_aside): a placeholder one per
SFAC, zeros, or a UNIT ten times short of the sites is no formula, and the elements are those
of the same file without UNIT; a UNIT merely off (solvent left out, H wrong) is still used.

Real files carry such UNITs: DSR's fragment database exports write `UNIT 1 1 1`, one per SFAC
(dkratzert/DSR pictures/supersilyle.res, 'REM This file was exported by DSR version
1.5.13-dbexport', read with the search tool); the fixture below is written in its image, with
its cell and the first atoms of its tris(trimethylsilyl)silyl fragment."""

import json
from dataclasses import replace

import pytest

from crystalx_core.assign import assign
from crystalx_core.cli import main
from crystalx_core.contents import UNIT_SHORTFALL, cell_counts, unit_set_aside
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK, line_of

# DSR 1.5.13 dbexport layout (dkratzert/DSR pictures/supersilyle.res): LATT -1 without SYMM,
# ZERR zeros, SFAC in the database's order, UNIT one per SFAC, sof 11.00 and U 0.04 throughout
DSR_EXPORT = """TITL supersilyle
REM This file was exported by DSR version 1.5.13-dbexport
REM Name: Tris(trimethylsilyl)silane, [(CH3)3Si]3Si, Supersilyle
CELL 0.71073    10.130   17.035   27.695   90.000  109.020   90.000
ZERR    1.00   0.000    0.000    0.000    0.000    0.000    0.000
LATT  -1
SFAC SI  C
UNIT 1  1
WGHT  0.1
FVAR  1


Si1    1   0.499980   0.937620   0.866250   11.00   0.04
Si2    1   0.803660   0.958810   0.814020   11.00   0.04
Si3    1   0.500160   0.817460   0.749120   11.00   0.04
Si4    1   0.644260   0.868600   0.828450   11.00   0.04
C4    2   0.943500   0.982090   0.875480   11.00   0.04
C5    2   0.711700   1.052070   0.786890   11.00   0.04
C6    2   0.891800   0.918930   0.768910   11.00   0.04
C7    2   0.455000   0.902150   0.703630   11.00   0.04
C8    2   0.580900   0.741030   0.718230   11.00   0.04
C9    2   0.337300   0.772640   0.755910   11.00   0.04
HKLF 4
END
"""

# every benchmark structure published as a .res: P21 to I-43d, Z' = 2, Al/Ga, Mg, Na, Ni
NAMES = sorted(p.parent.name for p in BENCHMARK.glob("*/published.res"))


def _elements(structure):
    marked, note = unit_set_aside(structure, "line 9")
    answer = assign(marked, "model")
    return [site.element for site in sorted(answer.sites, key=lambda s: s.index)], note


def _unit_variants(structure):
    """The benchmark's UNIT as a placeholder (one per SFAC), as zeros and ten times short."""
    return {
        "placeholder": [1.0] * len(structure.unit),
        "zeros": [0.0] * len(structure.unit),
        "tenth": [n / 10 for n in structure.unit],
    }


@pytest.mark.parametrize("name", NAMES)
def test_a_unit_that_cannot_be_the_contents_gives_the_elements_of_no_unit(shared_data, name):
    """Each benchmark published.res with its UNIT made a placeholder, zeros or a tenth: the
    elements are those assigned with no UNIT at all, and the note names file and line."""
    structure = read_shelx(BENCHMARK / name / "published.res").to_structure()
    without, note = _elements(replace(structure, unit=[]))
    assert note is None
    held = sum(n for el, n in cell_counts(structure).items() if not is_hydrogen(el))
    for kind, unit in _unit_variants(structure).items():
        elements, note = _elements(replace(structure, unit=unit))
        assert elements == without, (name, kind)
        counts = [n for el, n in zip(structure.sfac, unit) if not is_hydrogen(el)]
        order = len(structure.symops) if len(set(counts)) > 1 else 1
        if held > UNIT_SHORTFALL * sum(counts) * order:
            assert note.startswith(f"{structure.source}, line 9: UNIT "), note
            assert "cannot be the cell contents" in note
        else:  # XH_urea's 8 atoms in P-421m against `UNIT 1 1 1 1`, or a tenth with the
            assert note is None  # proportions of the formula: still the formula, and the
            assert kind in ("placeholder", "tenth"), (name, kind)  # elements come out the same


def test_a_unit_written_for_one_formula_unit_is_still_the_formula(shared_data):
    """UNIT written per formula unit (Z times short, a slip SHELXL forgives but for density
    and F(000)) keeps its proportions: FC_sucrose's C12 H22 O11 in P2(1) (Z = 2) and
    XH_HMaMg's in P2(1)/c (Z = 4 formula units of two halves) are not set aside."""
    for name in ("FC_sucrose", "XH_HMaMg", "FC_SH2185"):
        structure = read_shelx(BENCHMARK / name / "published.res").to_structure()
        z = len(structure.symops)
        per_formula = [n / z for n in structure.unit]
        assert unit_set_aside(replace(structure, unit=per_formula))[1] is None, name


@pytest.mark.parametrize("name", NAMES)
def test_a_unit_merely_off_is_still_the_formula(shared_data, name):
    """The real UNIT, one without H, one with a third of an element gone (solvent left out) and
    one twice short (written for Z' = 1 of a Z' = 2 structure) are all still used."""
    structure = read_shelx(BENCHMARK / name / "published.res").to_structure()
    heavy = [k for k, el in enumerate(structure.sfac) if not is_hydrogen(el)]
    no_h = [0.0 if is_hydrogen(el) else n for el, n in zip(structure.sfac, structure.unit)]
    solvent = list(structure.unit)
    solvent[heavy[-1]] *= 2 / 3
    for unit in (structure.unit, no_h, solvent, [n / 2 for n in structure.unit]):
        marked, note = unit_set_aside(replace(structure, unit=unit))
        assert note is None and marked.cell_contents() == dict(zip(structure.sfac, unit))


def test_the_tolerance_is_the_count_not_the_proportions(tmp_path):
    """Set aside exactly where the model's non-H atoms in the cell exceed UNIT_SHORTFALL times
    UNIT's non-H total (the fixture: 10 atoms in P1), whatever UNIT's proportions."""
    path = tmp_path / "supersilyle.res"
    path.write_text(DSR_EXPORT)
    structure = read_shelx(path).to_structure()
    at_limit = 10 / UNIT_SHORTFALL
    assert unit_set_aside(replace(structure, unit=[at_limit / 2, at_limit / 2]))[1] is None
    assert unit_set_aside(replace(structure, unit=[at_limit * 0.9, 0.0]))[1] is not None
    assert unit_set_aside(replace(structure, unit=[4.0, 6.0]))[1] is None


def test_a_dsr_export_keeps_its_carbons_and_its_unit_line(tmp_path, capsys):
    """The DSR export's `UNIT 1 1` asked, scaled up to the ten sites, for as many Si as C and
    made C into Si (three C into O in the export with SFAC SI O C); set aside, the elements are
    those of the file without UNIT, the note says so once naming file and line, and the written
    .res keeps the user's numbers (H, which the job adds to SFAC, gets the model's count)."""
    res = tmp_path / "supersilyle.res"
    res.write_text(DSR_EXPORT)
    bare = tmp_path / "bare.res"
    bare.write_text(DSR_EXPORT.replace("UNIT 1  1\n", ""))
    reports = {}
    for path in (res, bare):
        assert (
            main(
                [
                    "assign",
                    str(path),
                    "--quiet",
                    "--json",
                    "--out",
                    str(tmp_path / f"out_{path.stem}"),
                ]
            )
            == 0
        )
        reports[path.stem] = json.loads(capsys.readouterr().out)
    elements = {
        name: [site["element"] for site in report["atoms"]] for name, report in reports.items()
    }
    assert elements["supersilyle"] == elements["bare"] == ["Si"] * 4 + ["C"] * 6
    notes = [n for n in reports["supersilyle"]["notes"] if "cannot be the cell contents" in n]
    line = line_of(DSR_EXPORT, "UNIT")
    assert notes == [
        f"{res}, line {line}: UNIT 1 1 cannot be the cell contents: the model's non-H atoms "
        "are 10 per cell, more than 3 × its 2; the elements and H were chosen without it "
        "(the .res keeps its numbers)"
    ]
    written = (tmp_path / "out_supersilyle.res").read_text().splitlines()
    assert [w for w in written if w.startswith("UNIT")][0].split()[:3] == ["UNIT", "1", "1"]


# a Mercury/CSD fragment export (dkratzert/DSR pictures/dabco-ISIHUN.res): the dabco of ISIHUN
# with the whole crystal's SFAC and UNIT, F and I included, sof 1.0, HKLF 0
DABCO_FRAGMENT = """TITL ISIHUN
CELL 0.71073 6.8009 10.8442 11.3699 107.267 92.989 104.811
ZERR 2 0.0007 0.0011 0.0011 0.008 0.008 0.008
LATT 1
SFAC C H N F I
UNIT 24 24 4 8 4
FVAR 1.00
N1      3  0.403400  0.360300  0.267400  1.000000 0.05000
C1      1  0.380900  0.256400  0.144900  1.000000 0.05000
N2      3  0.078300  0.164500  0.238900  1.000000 0.05000
C2      1  0.182200  0.140500  0.127300  1.000000 0.05000
C3      1  0.416300  0.300000  0.366200  1.000000 0.05000
C4      1  0.222900  0.178800  0.347600  1.000000 0.05000
C5      1  0.219400  0.410400  0.273700  1.000000 0.05000
C6      1  0.022900  0.292500  0.259900  1.000000 0.05000
HKLF 0
END
"""


def test_a_fragment_with_its_crystals_unit_is_not_given_the_missing_elements(tmp_path, capsys):
    """A fragment (8 atoms, 16 in the cell) exported with its crystal's UNIT (40 non-H): the
    UNIT may be the crystal's contents, so it is not set aside, but the F and I it counts are
    elsewhere in the crystal and no C of the dabco becomes one (before: C3 F, C5 I)."""
    res = tmp_path / "dabco.res"
    res.write_text(DABCO_FRAGMENT)
    assert main(["assign", str(res), "--quiet", "--json", "--out", str(tmp_path / "out")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [a["element"] for a in report["atoms"]] == ["N", "C", "N"] + ["C"] * 5
    assert not [n for n in report["notes"] if "cannot be the cell contents" in n]
    written = (tmp_path / "out.res").read_text().splitlines()
    assert [w for w in written if w.startswith("UNIT")] == ["UNIT 24 24 4 8 4"]
