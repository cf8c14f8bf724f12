"""The user's AFIX mn on riding H kept where the job gives the pivot as many H.

SHELXL manual, AFIX/HFIX: m chooses the geometry (3 a methyl fixed staggered, 13 a methyl
found in the map, 8 and 14 an OH), n how it refines (3 riding, 4 riding with X–H refined,
7 rotating, 8 rotating with X–H refined; iotbx.shelx afix_parser reads n the same way).
"""

from __future__ import annotations

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.riding import _accepted_code

from .conftest import BENCHMARK


def _job(res, hkl=None):
    from crystalx_core.io import load
    from crystalx_core.pipeline import assign_job

    loaded = load(res)
    reflections = loaded.read(hkl) if hkl is not None else None
    return assign_job(loaded.structure, reflections, shelx=loaded.output_template())


def _codes(structure, pivot_label):
    """AFIX codes of the H written straight after `pivot_label` (SHELXL's pivot)."""
    sites, codes = structure.sites, []
    start = next(k for k, s in enumerate(sites) if s.label.upper() == pivot_label.upper())
    for site in sites[start + 1 :]:
        if site.element.upper() not in ("H", "D"):
            break
        codes.append(site.afix)
    return codes


def test_acceptable_codes_follow_the_shelxl_manual():
    """A methyl's 33 for our 137, an OH's 83 or 148 for our 147: kept. An =CH2 (93) is no CH2
    between two atoms (23), and a flat CH (43) does not rotate (47): the job's code stands."""
    assert _accepted_code(33, 137) and _accepted_code(137, 33) and _accepted_code(83, 147)
    assert _accepted_code(148, 147) and _accepted_code(134, 137)
    assert not _accepted_code(93, 23) and not _accepted_code(23, 93)
    assert not _accepted_code(47, 43) and not _accepted_code(27, 23)
    assert not _accepted_code(123, 137)  # a disordered methyl (6 half H) is another group


def test_sxf_i43d_acetonitrile_methyl_stays_afix_33(shared_data):
    """SXF_I43d's published.res rides its acetonitrile CH3 (C41: H40A-C) under AFIX 33, not
    rotated (the data cannot define its torsion); the job, which gives C41 three H too, wrote
    it back as AFIX 137. It keeps 33 now, and says so in C41's note."""
    job = _job(BENCHMARK / "SXF_I43d" / "published.res")
    assert _codes(job.structure, "C41") == [33, 33, 33]
    kept = [note for note in job.hydrogens.notes.values() if "AFIX 33 kept" in note]
    assert len(kept) == 1, job.hydrogens.notes
    # a group whose code the job shares is as it was (C3's CH2 under AFIX 23)
    assert _codes(job.structure, "C3") == [23, 23]


def test_fc_sucrose_oh_keeps_its_refined_o_h(shared_data):
    """FC_sucrose's published.res rides its eight OH under AFIX 148 (rotating, O–H refined);
    the job's 147 gave up the user's refined O–H. Every OH keeps 148."""
    job = _job(BENCHMARK / "FC_sucrose" / "published.res")
    for k in range(4, 12):
        assert _codes(job.structure, f"O{k}") == [148], f"O{k}"


def test_a_group_the_job_counts_otherwise_keeps_the_jobs_code(shared_data, tmp_path):
    """With one of C41's three H taken out of SXF_I43d, the input's group (2 H under AFIX 33)
    is not the job's (3 H): the job's own AFIX 137 stands."""
    text = (BENCHMARK / "SXF_I43d" / "published.res").read_text()
    line = next(l for l in text.splitlines(keepends=True) if l.startswith("H40C "))
    res = tmp_path / "two_h.res"
    res.write_text(text.replace(line, "", 1))
    job = _job(res)
    assert _codes(job.structure, "C41") == [137, 137, 137]


@pytest.mark.parametrize("code, parameters", [(33, 242), (137, 243)])
def test_the_refinement_rotates_the_methyl_only_where_the_user_asked(
    shared_data, tmp_path, code, parameters
):
    """Refined against SXF_I43d's data, the user's AFIX 33 methyl rides unrotated: one
    parameter (its torsion) fewer than the same input with AFIX 137 there, which the job
    refines rotating, as SHELXL would each."""
    text = (BENCHMARK / "SXF_I43d" / "published.res").read_text()
    res = tmp_path / "in.res"
    edited = text.replace("AFIX  33\nH40A", f"AFIX {code}\nH40A", 1)
    assert code == 33 or edited != text
    res.write_text(edited)
    job = _job(res, BENCHMARK / "SXF_I43d" / "data.hkl")
    final = job.refinements[-1][1]
    assert _codes(final.structure, "C41") == [code] * 3
    assert final.n_parameters == parameters
    assert final.r1 < 0.037


def test_the_users_afix_distance_is_written_and_refined(shared_data, tmp_path):
    """`AFIX 33 0.90` (SHELXL manual, AFIX mn d: the X–H held at d) on SXF_I43d's methyl:
    the written .res keeps `AFIX  33 0.9` and the refinement holds C41–H at 0.90 Å (the
    default, 0.96 Å, without it; the job had dropped the d before)."""
    import numpy as np

    from crystalx_core.cli import main
    from crystalx_core.io import load

    text = (BENCHMARK / "SXF_I43d" / "published.res").read_text()
    edited = text.replace("AFIX  33\nH40A", "AFIX  33 0.90\nH40A", 1)
    assert edited != text
    res = tmp_path / "in.res"
    res.write_text(edited)
    out = tmp_path / "out"
    hkl = BENCHMARK / "SXF_I43d" / "data.hkl"
    assert main(["assign", "--quiet", "--hkl", str(hkl), "--out", str(out), str(res)]) == 0
    written = (tmp_path / "out.res").read_text()
    assert "AFIX  33 0.9\n" in written
    model = load(tmp_path / "out.res").structure
    site = {s.label.upper(): s for s in model.sites}
    pivot = model.cartesian(site["C41"].frac)
    for h in ("H40A", "H40B", "H40C"):
        assert np.linalg.norm(model.cartesian(site[h].frac) - pivot) == pytest.approx(
            0.90, abs=0.005
        )


def test_the_audit_rides_both_models_under_the_published_afix(shared_data):
    """`crystalx audit` on FC_sucrose with its data refines the published and the corrected
    model under the same settings (audit.py): both now ride the eight OH under the published
    AFIX 148 (O–H refined: 8 parameters more than the 215 of 147 they had), as the job writes
    them, and the two fits agree since the elements do."""
    from crystalx_core.audit import audit
    from crystalx_core.io import load

    loaded = load(BENCHMARK / "FC_sucrose" / "published.res")
    result = audit(loaded.structure, loaded.read(BENCHMARK / "FC_sucrose" / "data.hkl"))
    published, corrected = result.refinements["published"], result.refinements["corrected"]
    for fit in (published, corrected):
        for k in range(4, 12):
            assert _codes(fit.structure, f"O{k}") == [148], f"O{k}"
    assert published.n_parameters == corrected.n_parameters == 223
    assert published.r1 == pytest.approx(corrected.r1, abs=1e-4)
