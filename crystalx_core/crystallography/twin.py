"""Twinned data (SHELXL's TWIN/BASF with HKLF 4 or 3, and HKLF 5's components with BASF):
what every step that is not least squares needs.

Least squares refines twinned data itself (refine.py: cctbx's twin components, as olex2.refine
does). The other steps compare Fc of one domain with Fo² (difference maps, the element and H
evidence, the outlier check, an Fo map's peaks); they read the data detwinned by the model's
calculated ratio, Fo²(h)·Fc²(h) / Σk fk·Fc²(Rk·h) (f1 = 1 - Σ, σ scaled alike): the formula of
cctbx's xray observations.detwin (cctbx/xray/observations.h), which olex2 applies to the Fo²
of its maps and its Fo/Fc comparisons of twinned data (olex2's cctbx_olex_adapter.py,
get_fo_sq_fc); for HKLF 5 data the same, over each observation's lines (detwinned). Only
the WEAK guard is CrystalX's own.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from cctbx import miller
from cctbx.array_family import flex

from crystalx_core.io.hkl import Twin, hklf5_groups
from crystalx_core.structure import Structure

# a reflection whose twinned Fc² is under this share of the mean keeps its Fo²: the ratio of
# two near-zero numbers would make noise of it
WEAK = 1e-4


def _domain(structure: Structure, merge: int = 2):
    """The model's atoms as cctbx's structure, with their dispersion (f'' zero under the
    data's MERG 4, as refinement has it: convert.set_dispersion)."""
    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure

    xs = to_xray_structure(structure.with_sites(structure.atoms))
    set_dispersion(xs, structure.wavelength, structure.dispersion, merge)
    return xs


def _fc_sq(xs, indices: np.ndarray) -> np.ndarray:
    """Fc² of one domain (cctbx structure `xs`) at each of `indices`, Friedel mates apart
    (anomalous dispersion: an inversion twin's signal)."""
    hkl = flex.miller_index([tuple(int(v) for v in h) for h in indices])
    index_set = miller.set(xs.crystal_symmetry(), hkl, anomalous_flag=True)
    f_calc = index_set.structure_factors_from_scatterers(xs, algorithm="fft").f_calc()
    return np.abs(np.array(f_calc.data())) ** 2


def _calculated(structure: Structure, reflections, twin: Twin):
    """(calc, own, rows): for each observation (the reflections' lines `rows`), the Fc² of
    one domain that each component adds to it, unscaled (column k: component k + 1), and that
    of the observation's own index. TWIN: Fc² at h and at Rk·h for each later component (h a
    column, as SHELX's HKLF and TWIN matrices act), own the first. HKLF 5: an observation is
    a group of lines closed by a positive batch (hkl.hklf5_groups); column m - 1 sums the
    Fc² of its lines of component |m|, own is that of the closing line, whose component
    measured it (cctbx's observations.detwin scales it so)."""
    indices = reflections.indices
    xs = _domain(structure, getattr(reflections, "merge", 2))
    if twin.hklf5:
        batches = np.asarray(reflections.batches)
        fc_sq = _fc_sq(xs, indices)
        rows = batches > 0
        group = hklf5_groups(batches)
        calc = np.zeros((int(rows.sum()), twin.n))
        np.add.at(calc, (group, np.abs(batches) - 1), fc_sq)
        return calc, fc_sq[rows], rows
    columns = [
        _fc_sq(xs, indices @ np.array(law).T) for law in [np.eye(3, dtype=int), *twin.laws()]
    ]
    return np.column_stack(columns), columns[0], np.ones(len(indices), dtype=bool)


def estimated_fractions(
    structure: Structure, reflections, twin: Twin, free: list[int]
) -> tuple[float, ...]:
    """The fractions of the `free` components (indices into Twin.laws) that fit the data best
    for this model, the others kept as `twin` gives them: Fo² = k·[Fc²(h) + Σk fk·(Fc²(h·Rk) −
    Fc²(h))] is linear in k and k·fk, solved by weighted least squares (w = 1/(σ² + (0.1 Fo²)²),
    SHELXL's WGHT 0.1 with Fo² for P). Least squares alone moves a fraction hardly at all
    from a poor start (Levenberg-Marquardt's damping, set by the atoms' far larger diagonal
    elements, held FC_p31c's at 0.30 for 30 cycles where the data held 0.12); from here it
    starts near its minimum. HKLF 5 data alike, Fc²(h·Rk) being the Fc² of an observation's
    lines of component k + 1 (_calculated). Kept within [0, 1]."""
    fractions = list(twin.start())
    if not free or not structure.atoms:
        return tuple(fractions)
    calc, _, rows = _calculated(structure, reflections, twin)
    fo, sigmas = reflections.intensities[rows], reflections.sigmas[rows]
    fixed = [k for k in range(len(fractions)) if k not in free]
    base = calc[:, 0] + sum(fractions[k] * (calc[:, k + 1] - calc[:, 0]) for k in fixed)
    design = np.column_stack([base, *(calc[:, k + 1] - calc[:, 0] for k in free)])
    root_w = 1.0 / np.sqrt(sigmas**2 + (0.1 * np.maximum(fo, 0.0)) ** 2)
    solution, *_ = np.linalg.lstsq(design * root_w[:, None], fo * root_w, rcond=None)
    if solution[0] <= 0:
        return tuple(fractions)
    for k, value in zip(free, solution[1:] / solution[0]):
        fractions[k] = float(min(max(value, 0.0), 1.0))
    return tuple(fractions)


def detwinned(structure: Structure, reflections):
    """The reflections with their twin taken out (Fo² and σ times Fc²(h) / Σk fk·Fc²(h·Rk),
    the model's calculated ratio) and no twin left: what a step that compares one domain's Fc
    with Fo² reads. HKLF 5 data come back as their observations (the closing line of each
    group, in its own component's indices) detwinned by the same ratio, Fc² of the closing
    line over the group's twinned Fc², as cctbx's observations.detwin gives olex2 its maps
    and Fo/Fc lists (olex2's cctbx_olex_adapter.py, get_fo_sq_fc). Where Fc² cannot tell
    (too weak, or no atoms yet: solve's data), the ratio of equal Fc² on every line: an HKLF
    5 single of component m divided by fm, so that every component's singles are on one scale
    before they are merged (an overlapped observation keeps its mean over its components).
    Untwinned reflections, or TWIN data with a model without atoms, come back as given."""
    twin = getattr(reflections, "twin", None)
    if twin is None or (not structure.atoms and not twin.hklf5):
        return reflections
    fractions = np.array(twin.start())

    def twinned(calc):
        return (1.0 - fractions.sum()) * calc[:, 0] + calc[:, 1:] @ fractions

    rows = np.ones(len(reflections), dtype=bool)
    fallback = np.ones(len(reflections))  # TWIN: 1
    if twin.hklf5:
        batches = np.asarray(reflections.batches)
        rows = batches > 0
        lines = np.zeros((int(rows.sum()), twin.n))
        np.add.at(lines, (hklf5_groups(batches), np.abs(batches) - 1), 1.0)
        share = twinned(lines)
        fallback = np.where(share > 0, 1.0 / np.where(share > 0, share, 1.0), 1.0)
    ratio = fallback
    if structure.atoms:
        calc, own, _ = _calculated(structure, reflections, twin)
        mixed = twinned(calc)
        usable = mixed > WEAK * max(float(mixed.mean()), 1e-30)
        ratio = np.where(usable, own / np.where(usable, mixed, 1.0), fallback)
    return replace(
        reflections,
        indices=reflections.indices[rows],
        intensities=reflections.intensities[rows] * ratio,
        sigmas=reflections.sigmas[rows] * ratio,
        batches=None if twin.hklf5 or reflections.batches is None else reflections.batches[rows],
        twin=None,
    )


def symmetric_components(twin: Twin, group) -> set[int]:
    """The components (indices into Twin.laws) whose law is a symmetry of the crystal (in the
    point group of cctbx space group `group`, the inversion in a centric one): they diffract
    as the first, and only the sum of their fractions with the first's is defined
    (sf_atomstwoline's TWIN 0 -1 0 -1 0 0 0 0 -1 3, whose R² is the identity). A symmetry
    operator's R takes h to h·R (a row), a TWIN matrix to R·h (a column): compared transposed."""
    point_group = {op.r().as_double() for op in group.build_derived_point_group()}
    return {
        k
        for k, law in enumerate(twin.laws())
        if tuple(float(law[j][i]) for i in range(3) for j in range(3)) in point_group
    }
