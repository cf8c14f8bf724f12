"""Conventions met in session 23's sixth sweep of real structures with their reflections from
other labs (docs/benchmarks.md, '... sixth sweep'). The real files are not kept here; a test
carries the few lines it needs, citing where they come from."""

import json

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from tests.conftest import BENCHMARK

# richardicooper/crystals @ e28238a1eada5dd3758e18ebd3fc9f0dfded5d02,
# precomp/all/demo/Hydrogen/hydrogen.ins: CRYSTALS' demonstration for finding H, acetone
# 4-phenylthiosemicarbazone C10H13N3S in P21/c (Z 4, every atom on a general position, no H
# placed yet), its atom lines as the file writes them. Its UNIT is no formula of this model:
# 46 C, 4 N, 4 O and 2 S per cell, 56 non-H atoms like the model's 14 × 4, but C 11.5, O 1
# and S 0.5 per asymmetric unit. (SFAC with Gaussian coefficients shortened to the symbols.)
# Licence: CRYSTALS' own, bin/licence.txt in that repository, a BSD-3-clause-style licence
# whose "Software" includes its data files and test data; its notice, conditions and
# disclaimer, kept as it asks:
#   CRYSTALS: Copyright (c) University of Oxford, 20 October 2009. All rights reserved.
#   Redistribution and use in source and binary forms, with or without modification, are
#   permitted provided that the following conditions are met: Redistributions of source code
#   must retain the above copyright notice, this list of conditions and the following
#   disclaimer. Redistributions in binary form must reproduce the above copyright notice, this
#   list of conditions and the following disclaimer in the documentation and/or other
#   materials provided with the distribution. Neither the name of the University of Oxford nor
#   the names of its contributors may be used to endorse or promote products derived from this
#   Software without specific prior written permission.
#   This Software is provided by the copyright holders and contributors "AS IS" and any
#   express or implied warranties, including, but not limited to, the implied warranties of
#   merchantability and fitness for a particular purpose are disclaimed. In no event shall the
#   copyright holder or contributors be liable for any direct, indirect, incidental, special,
#   exemplary, or consequential damages (including, but not limited to, procurement of
#   substitute goods or services; loss of use, data, or profits; or business interruption)
#   however caused and on any theory of liability, whether in contract, strict liability, or
#   tort (including negligence or otherwise) arising in any way out of the use of this
#   Software, even if advised of the possibility of such damage.
CRYSTALS_HYDROGEN_DEMO = """TITL Hydrogen in P 21/c
CELL  0.71073  12.20140   7.50460  11.54180  90.00000 102.34499  90.00000
ZERR    4 0.0002 0.0001 0.0002 0.0000 0.0006 0.0000
LATT   1
SYMM  -X,Y+0.500,-Z+0.500
SFAC C H N O S
UNIT    46.   44.    4.    4.    2.
S1          5   0.83238   0.39257   0.46337  11.00000   0.01899   0.02959 =
        0.01780   0.00268   0.00296  -0.00097
N2          3   0.97840   0.38452   0.66702  11.00000   0.01514   0.02873 =
        0.01722   0.00150   0.00215  -0.00032
N3          3   0.79855   0.33037   0.68477  11.00000   0.01584   0.03095 =
        0.02065   0.00327   0.00334  -0.00139
C4          1   0.62319   0.42463   0.72829  11.00000   0.02209   0.02902 =
        0.02403  -0.00020   0.00809  -0.00370
N5          3   1.00365   0.39070   0.79134  11.00000   0.01780   0.02669 =
        0.01841   0.00068   0.00369  -0.00166
C6          1   1.10621   0.36966   0.84419  11.00000   0.01943   0.01824 =
        0.02023   0.00154   0.00294  -0.00003
C7          1   1.13184   0.38329   0.97755  11.00000   0.02662   0.03297 =
        0.01693   0.00049   0.00105   0.00065
C8          1   0.67913   0.33045   0.65450  11.00000   0.01617   0.02223 =
        0.02127   0.00377   0.00403  -0.00110
C9          1   0.50137   0.24518   0.53170  11.00000   0.02076   0.02845 =
        0.02920   0.00101   0.00149  -0.00284
C10         1   0.61910   0.23750   0.55644  11.00000   0.01926   0.02484 =
        0.02692  -0.00059   0.00372  -0.00271
C11         1   0.86941   0.36798   0.61204  11.00000   0.01615   0.01863 =
        0.02109   0.00012   0.00416   0.00076
C12         1   0.44484   0.34143   0.60410  11.00000   0.01708   0.02871 =
        0.03568   0.00523   0.00672  -0.00019
C13         1   1.20319   0.33139   0.78673  11.00000   0.01888   0.04279 =
        0.02406   0.00235   0.00452   0.00891
C14         1   0.50622   0.43065   0.70321  11.00000   0.02173   0.03037 =
        0.03330   0.00115   0.01033   0.00125
HKLF 4
END
"""
PUBLISHED_ELEMENTS = {
    "S1": "S", "N2": "N", "N3": "N", "N5": "N",
    **{f"C{k}": "C" for k in (4, 6, 7, 8, 9, 10, 11, 12, 13, 14)},
}  # fmt: skip


@pytest.mark.parametrize("job", ["assign", "audit"])
def test_a_unit_the_models_general_sites_cannot_hold_is_no_formula(tmp_path, capsys, job):
    """The demo's UNIT has the model's 56 non-H atoms per cell but 46 C and 2 S, which no set
    of whole atoms on general positions of P21/c (4 images each) can make: main fitted it as
    the formula and made the thiosemicarbazide's N2 an O and the imine N5 a C (N–N 1.40 Å,
    C=N 1.28 Å), and the audit flagged both. It is now set aside with a note; every element
    is kept."""
    from crystalx_core.cli import main

    model = tmp_path / "hydrogen.ins"
    model.write_text(CRYSTALS_HYDROGEN_DEMO)
    assert main([job, str(model), "--quiet", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    assert any("UNIT 46 44 4 4 2 cannot be the cell contents" in n for n in report["notes"])
    key = "element" if job == "assign" else "proposed"
    assert {a["label"]: a[key] for a in report["atoms"]} == PUBLISHED_ELEMENTS


def test_a_unit_with_the_models_proportions_is_still_its_formula():
    """The check is on whole atoms only where UNIT counts the model's own number of atoms on
    general positions: FC_sucrose's UNIT (C 24 O 22 per cell, Z 2) stays, and so does one
    written for one formula unit (C 12 O 11), whose total differs from the model's."""
    from dataclasses import replace

    from crystalx_core.contents import unit_set_aside
    from crystalx_core.io import load

    sucrose = load(BENCHMARK / "FC_sucrose" / "published.res").structure
    per_formula_unit = [12.0 if el == "C" else 11.0 if el == "O" else 22.0 for el in sucrose.sfac]
    for unit in (sucrose.unit, per_formula_unit):
        structure, note = unit_set_aside(replace(sucrose, unit=unit))
        assert note is None and not structure.unit_set_aside, unit


def test_the_audit_of_a_model_without_any_h_compares_no_h_counts(tmp_path, capsys):
    """CRYSTALS' demo model places no H (they are what the demo finds): main's audit read
    that as 'published with 0 H' and flagged 9 of the 14 atoms. A model with no H atom at all
    makes no H claim: nothing is flagged for H, the JSON gives its counts as null, and one
    note says which atoms the model gives H."""
    from crystalx_core.cli import main

    model = tmp_path / "hydrogen.ins"
    model.write_text(CRYSTALS_HYDROGEN_DEMO)
    assert main(["audit", str(model), "--quiet", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    assert not any(a["hydrogen_flag"] for a in report["atoms"])
    assert all(a["published_h"] is None for a in report["atoms"])
    assert sum(a["proposed_h"] for a in report["atoms"]) == 12  # C10H13N3S but N2's NH
    (note,) = [n for n in report["notes"] if "places no H atoms" in n]
    assert "the model gives H to 8 of 14 atoms (N3 C4 C7" in note
    assert "<td>–</td>" in (tmp_path / "out.html").read_text()
    out = capsys.readouterr().out
    assert "agree with the model (elements; the published model has no H)" in out


def test_a_model_whose_formula_has_no_h_still_publishes_zero_h(tmp_path):
    """A model without H atoms whose CIF formula has none (COD 2100513, Al Ca2 Nb O6) does
    state 0 H on every atom: its H counts are compared (none proposed: contents.held_to_formula),
    not left unknown as for a model whose H were merely not placed yet."""
    from crystalx_core.audit import audit
    from crystalx_core.audit_report import audit_lines
    from crystalx_core.io.cif import read_cif
    from tests.test_other_labs import NEUTRON_CIF

    cif = tmp_path / "x.cif"
    cif.write_text(NEUTRON_CIF.format(probe="?", kind="?"))
    result = audit(read_cif(cif).structure, method="baseline", hydrogens="rules")
    assert result.atoms and all(a.published_h == 0 == a.proposed_h for a in result.atoms)
    assert not any("places no H atoms" in n for n in result.notes)
    assert "agree with the model (elements and H counts)" in "\n".join(audit_lines(result))
