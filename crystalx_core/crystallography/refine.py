"""Least-squares refinement against Fo² with smtbx, riding H from the model's AFIX groups."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import iotbx.builders
import numpy as np
from cctbx import adptbx, sgtbx, uctbx, xray
from iotbx.shelx import errors as shelx_errors
from iotbx.shelx.lexer import command_stream
from iotbx.shelx.parsers import (
    afix_parser,
    atom_parser,
    crystal_symmetry_parser,
    instruction_parser,
    restraint_parser,
    wavelength_parser,
)
from smtbx import refinement, utils as smtbx_utils
from smtbx.refinement import constraints as smtbx_constraints
from smtbx.refinement.constraints import (
    adp as adp_constraints,
    occupancy as occupancy_constraints,
    site as site_constraints,
)
from smtbx.refinement.constraints.geometrical import hydrogens as smtbx_hydrogens

from crystalx_core.crystallography.convergence import ConvergingIterations
from crystalx_core.crystallography.convert import (
    displacement,
    set_dispersion,
    unconstrained_site_symmetry,
)
from crystalx_core.crystallography.weights import (
    Weighting,
    extinction_correction,
    refined_extinction,
    suggested_weighting,
)
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.io.hkl import Twin
from crystalx_core.io.shelx_write import DEFAULT_INSTRUCTIONS, new_ins_text
from crystalx_core.residues import residue_order
from crystalx_core.structure import Structure

# smtbx reads only the least-squares setup of the default .ins: PLAN, FMAP and LIST ask SHELXL for
# outputs
_LEAST_SQUARES = [
    line for line in DEFAULT_INSTRUCTIONS if line.split()[0] in ("L.S.", "WGHT", "FVAR")
]
# SHELXL's AFIX m = 15 rides the one H of a B–H (or cage C–H) whose pivot has 4 or 5 other
# neighbours (SHELXL manual, AFIX/HFIX: "m=15 BH group in a polyhedral borane", one H per group,
# as smtbx's own polyhedral_bh_site builds it from hydrogens[0]); but iotbx's SHELX parser
# expects polyhedral_bh_site.n_constrained_sites = 5 atoms after AFIX 15n (cctbx 2025.11) and
# rejects every such group ("wrong number of afixed atoms"). Those H are read without their AFIX
# and given the constraint SHELXL's reading makes (_riding_constraints).
POLYHEDRAL_BH = 15
# Fewer unique reflections per refined parameter and least squares fits the noise (checkCIF
# already alerts below 10); a job with so little data keeps the isotropic model, or stops.
MIN_DATA_PER_PARAMETER = 3
DAMPING = 1e-3  # smtbx's
# a model just made from peaks is far from its minimum, and its heavy atoms make the normal
# matrix's largest diagonal element: damped by 1e-3 of it, a half-wrong Lu complex's light atoms
# hardly moved in 10 cycles (R1 0.245; 0.177 from 1e-6, the damping rising again as needed)
NEW_MODEL_DAMPING = 1e-6
SHARED = ("EADP", "EXYZ")  # SHELX constraints that smtbx builds here, not from the .ins text
MAX_U = (
    5.0  # Å²: SHELX cannot write a displacement parameter this large; the refinement has diverged
)


@dataclass
class RefinementResult:
    structure: Structure  # sites with refined coordinates and displacement parameters
    r1: float  # on reflections with Fo² ≥ 2σ(Fo²), i.e. F > 4σ(F), as SHELXL's R1
    r1_all: float
    wr2: float
    goof: float
    n_reflections: int
    n_parameters: int
    cycles: int
    fixed_hydrogens: dict[str, str] = field(
        default_factory=dict
    )  # pivot label → why its H were not riding
    notes: list[str] = field(default_factory=list)  # what the user should know of the result
    weighting: Weighting | None = None  # the WGHT refined with (None: SHELXL's WGHT 0.1)
    suggested: Weighting | None = None  # the WGHT SHELXL would suggest next (asked for only)
    extinction: tuple[float, float] | None = None  # refined EXTI and its su (where refined)
    # refined fractions of twin components 2.. (SHELXL's BASF) where the data are twinned
    twin_fractions: tuple[float, ...] | None = None
    # their standard uncertainties, the first component's (1 - Σ) before them: 0 for a fraction
    # held (not refined), as SHELXL's CIF writes a fixed BASF without su
    twin_su: tuple[float, ...] | None = None
    # the TWIN the data were refined with: its law, N and the BASF it started from (none: SHELXL's
    # perfect twin, fractions held); the refined fractions are twin_fractions
    twin: Twin | None = None


def refine(
    structure: Structure,
    reflections,
    cycles: int = 10,
    anisotropic: bool = False,
    instructions: list[str] | None = None,
    keep_isotropic: frozenset[str] = frozenset(),
    damping: float = DAMPING,
    input_variables: bool = False,
    weighting: Weighting | None = None,
    extinction: float | None = None,
    suggest: bool = False,
) -> RefinementResult:
    """Refine the atoms of `structure` (peaks ignored) against the reflections: every atom
    isotropic (an atom given with Uij starts from its Uiso), or with anisotropic=True the
    non-H atoms anisotropic but those labelled in `keep_isotropic`, and an H given with Uij
    (HAR, neutron) refined and returned with them. Occupancies on the job's
    free variables (Site.free_variable) refine as SHELXL refines them; with input_variables
    the input's too (Site.input_variable, values in Structure.free_variable_values), else
    they stay as given: the job refines them with the input's own restraints, in the model
    they were made for (an isotropic or unrestrained model biases them: FC_SH2185's minor ring
    took 0.16 for its published 0.09). An input variable that leaves [0, 1] is held at the
    bound it crossed and the refinement done again, until none leaves. A variable far from its
    value converges slowly: its diagonal element lies orders below the largest, which sets the
    first damping (FC_p31c's, started 0.05 under SHELXL's 0.761(6) / 0.851(5), moved 0.0044 and
    0.0048 in the job's 10 cycles; from damping 1e-6 they came back, but FC_SH2185's
    restrained minor ring diverged, H17B Uiso -0.17 Å²); a user's .res holds converged values.

    The model goes through a SHELX .ins text so that smtbx's own AFIX parser builds the
    riding-hydrogen constraints exactly as SHELXL would read them (AFIX 15n excepted: see
    `_riding_constraints`). `damping` is
    Levenberg-Marquardt's first damping as a share of the normal matrix's largest diagonal
    element (NEW_MODEL_DAMPING for a model just made from peaks). `weighting` is the WGHT to
    weigh with (None: SHELXL's 0.1 of the instructions), `extinction` an EXTI to refine from
    (None: none); with `suggest` the result carries the WGHT SHELXL would suggest next
    (crystallography.weights).
    """
    settings = (cycles, anisotropic, instructions, keep_isotropic, damping, input_variables)
    settings += (weighting, extinction, suggest)
    twin = getattr(reflections, "twin", None)
    if twin is not None:
        return _refined_twin(structure, reflections, twin, settings)
    return _refined(structure, reflections, settings)


def _refined(structure: Structure, reflections, settings: tuple, twin_setup=None):
    """refine() of `settings` (its arguments after the reflections, in order), the input's
    variables held at a bound they cross; `twin_setup` (a Twin and its held components:
    _twin_components) makes the observations twinned (_refined_twin)."""
    given = structure
    values = structure.free_variable_values
    *settings, input_variables, weighting, extinction, suggest = settings
    if not input_variables:
        structure = structure.with_sites([_held(site, None, values) for site in structure.sites])
    settings = (*settings, weighting, extinction, suggest, twin_setup)
    result = _refined_once(structure, reflections, *settings)
    variables, bounds = refined_input_variables(structure), {}
    # a variable held at its bound changes the others: refined again until none leaves, at
    # most once per variable (each pass holds one more)
    while out := {
        m: min(max(result.structure.free_variable_values[m - 2], 0.0), 1.0)
        for m in variables - bounds.keys()
        if not 0.0 <= result.structure.free_variable_values[m - 2] <= 1.0
    }:
        bounds |= out
        held = tuple(bounds.get(m, v) for m, v in enumerate(values, 2))
        sites = [_held(site, set(bounds), held) for site in structure.sites]
        start = replace(structure.with_sites(sites), free_variable_values=held)
        result = _refined_once(start, reflections, *settings)
    sites = [  # held atoms keep their codes: written back on their variable
        replace(
            new,
            input_variable=old.input_variable,
            mixed=tuple(
                replace(a, input_variable=b.input_variable) for a, b in zip(new.mixed, old.mixed)
            ),
        )
        for new, old in zip(result.structure.sites, given.atoms)
    ]
    return replace(result, structure=result.structure.with_sites(sites))


def _refined_twin(structure, reflections, twin, settings: tuple) -> RefinementResult:
    """refine() of twinned data. The fractions start from those that fit the data best for the
    model as given (twin.estimated_fractions: least squares' damping keeps a fraction where it
    starts), then refine with the model; one that leaves [0, 1] is held at the bound it
    crossed and the refinement done again, as the input's free variables are. The fractions
    refined are kept in reflections.twin: the job's next refinement starts from them, as
    SHELXL's next run from the BASF it wrote. A TWIN without BASF is SHELXL's perfect twin:
    every component 1/|N|, not refined ("If BASF is omitted the TWIN factors are all assumed
    to be equal", SHELXL manual, TWIN; olex2's cctbx_olex_adapter.py builds those components
    with their fraction's gradient off)."""
    from crystalx_core.crystallography.twin import estimated_fractions, symmetric_components
    from crystalx_core.symmetry import space_group_from_operators

    cycles = settings[0]
    fixed = symmetric_components(twin, space_group_from_operators(structure.symops))
    perfect = not twin.fractions and not twin.hklf5  # HKLF 5 without BASF: estimated
    held: dict[int, float] = dict(enumerate(twin.start())) if perfect else {}
    free = [k for k in range(abs(twin.n) - 1) if k not in fixed and k not in held]
    if cycles > 0 and free:
        twin = replace(twin, fractions=estimated_fractions(structure, reflections, twin, free))
    while True:
        untwinned = replace(reflections, twin=None)
        result = _refined(structure, untwinned, settings, (twin, dict(held)))
        found = result.twin_fractions
        out = {k: min(max(found[k], 0.0), 1.0) for k in free if not 0.0 <= found[k] <= 1.0}
        if not out and free and sum(found) > 1.0:  # the first component's share went negative
            k = max(free, key=found.__getitem__)
            out = {k: found[k] - (sum(found) - 1.0)}
        if not out:
            break
        held |= out
        free = [k for k in free if k not in held]
        twin = replace(twin, fractions=tuple(held.get(k, f) for k, f in enumerate(found)))
    law = " ".join(str(v) for row in twin.matrix for v in row)
    what = f"HKLF 5, {twin.n} components" if twin.hklf5 else f"TWIN {law} {twin.n}"
    if perfect:
        result.notes.append(
            f"twinned data (TWIN {law} {twin.n}) without BASF: a perfect twin, as SHELXL "
            f"reads it, every component's fraction kept at 1/{abs(twin.n)}"
        )
        return result
    reflections.twin = replace(twin, fractions=found)
    result.notes.append(
        f"twinned data ({what}): component fractions refined with the model, "
        f"BASF {', '.join(f'{f:.3f}' for f in found)} (the first component "
        f"{1.0 - sum(found):.3f})"
        + (f"; held at a bound: BASF {', '.join(str(k + 1) for k in sorted(held))}" if held else "")
    )
    return result


def refined_input_variables(structure: Structure) -> set[int]:
    """The input's free variables a refinement refines (Site.input_variable), the job's own
    variable taking a site that has both."""
    return {
        abs(atom.input_variable[0])
        for site in structure.atoms
        for atom in site.with_mixed
        if atom.input_variable and not atom.free_variable
    }


def _held(site, variables: set[int] | None, values: tuple[float, ...]):
    """The site with its occupancy fixed at its input variable's value (`values`) where that
    is in `variables` (None: every input variable); the job's own variable (free_variable)
    keeps an atom that has both."""

    def fixed(atom):
        if not atom.input_variable or atom.free_variable:
            return replace(atom, input_variable=None) if variables is None else atom
        if variables is not None and abs(atom.input_variable[0]) not in variables:
            return atom
        occupancy = variable_occupancy(atom.input_variable, values)
        return replace(
            atom,
            input_variable=None,
            occupancy=atom.occupancy if occupancy is None else occupancy,
        )

    return replace(fixed(site), mixed=tuple(fixed(atom) for atom in site.mixed))


def variable_occupancy(code: tuple[int, float], values: Sequence[float]) -> float | None:
    """c·fv(m) for (+m, c), c·(1 − fv(m)) for (−m, c), fv(m) = values[m − 2] kept within
    [0, 1]; None where `values` holds no finite fv(m)."""
    m, c = code
    if not 2 <= abs(m) <= len(values) + 1 or not math.isfinite(values[abs(m) - 2]):
        return None
    fv = min(max(values[abs(m) - 2], 0.0), 1.0)
    return c * fv if m > 0 else c * (1 - fv)


def _refined_once(
    structure: Structure,
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str] | None,
    keep_isotropic: frozenset[str],
    damping: float,
    weighting: Weighting | None = None,
    extinction: float | None = None,
    suggest: bool = False,
    twin_setup=None,
) -> RefinementResult:
    """refine() with every free variable as given (twin_setup: _refined's)."""
    given = structure.atoms  # a property that filters the sites: read once
    if not given:
        raise RefinementError("no atoms to refine", structure.source)
    twice = sorted(
        label
        for label, n in Counter(a.label.upper() for s in given for a in s.with_mixed).items()
        if n > 1
    )
    if twice:  # restraints and the outputs tell atoms apart by label
        raise RefinementError(
            f"labels held by more than one atom: {', '.join(twice[:5])}", structure.source
        )
    for site in given:
        largest = largest_u(site)
        if not math.isfinite(largest) or largest >= MAX_U:  # old CIFs give Uij in 10⁻⁴ Å²
            raise RefinementError(
                f"{site.label} starts with a displacement parameter of {largest:.4g} Å² "
                f"(at most {MAX_U:g}): are its U values in the wrong units?",
                structure.source,
            )
    order = residue_order(
        [site.label for site in given]
    )  # each residue's atoms together, as the user's file
    atoms = structure.with_sites(
        [
            given[k]
            if anisotropic and given[k].label not in keep_isotropic
            else _isotropic(given[k])
            for k in order
        ]
    )
    named, original = _with_smtbx_labels(atoms)
    # iotbx's SHELX parser builds a variable's 21/-21 codes into a chain of pairs (1, 2), (2, 3),
    # which breaks where neighbouring atoms' codes differ (see _occupancy_constraints): they go
    # in as fixed occupancies, and _occupancy_constraints ties them
    named = named.with_sites([replace(site, free_variable=0) for site in named.sites])
    detached = _detached_groups(named.sites)
    apart = {label for labels, _ in detached for label in labels}
    named = named.with_sites(
        [replace(site, afix=0) if site.label in apart else site for site in named.sites]
    )
    setup = _renamed(instructions or refinement_instructions(), original)
    shared = [line for line in setup if line.split()[0].upper() in SHARED]
    text = new_ins_text(named, [line for line in setup if line not in shared])
    try:
        builder = _refinement_model(text)
    except shelx_errors.error as error:
        raise RefinementError(
            f"smtbx could not read the refinement model: {error}", structure.source
        ) from None
    xs = builder.structure
    builder.constraints.extend(_riding_constraints(xs, detached))
    if anisotropic:
        _make_non_h_anisotropic(
            xs, {name for name, label in original.items() if label in keep_isotropic}
        )
    _refine_everything(xs)
    # smtbx builds constraints in list order, and a riding H built before an EADP/EXYZ of its
    # pivot rides a copy of the pivot's U or site that then refines on its own (H17B of
    # FC_SH2185 under EADP C17A C17B reached Uiso -0.047): the shared ones go first
    # a mixed site's own EXYZ/EADP first too: the user's lines for the same atoms add nothing
    # (smtbx warned of constraining them twice, on the user's terminal, and ignored the second)
    mixed = _mixed_site_constraints(atoms)
    taken = {
        p for constraint in builder.constraints + mixed for p in constraint.constrained_parameters
    }
    shared_first = mixed + _shared_constraints(xs, shared, taken)

    components, twin_notes = (
        _twin_components(xs.space_group(), *twin_setup) if twin_setup is not None else (None, [])
    )
    hklf5 = twin_setup is not None and twin_setup[0].hklf5
    fo_sq = _observations(structure, reflections, xs.space_group().is_centric(), components, hklf5)
    where = getattr(reflections, "path", "") or structure.source
    n_unique = fo_sq.indices.size()
    if not n_unique:
        raise RefinementError(
            "nothing to refine against: every reflection is systematically absent"
            + _short_of(reflections),
            where,
        )
    if not (fo_sq.data > 2 * fo_sq.sigmas).count(True):
        largest = max(fo_sq.data / fo_sq.sigmas)
        raise RefinementError(
            f"nothing to refine against: none of the {n_unique} unique reflections has Fo² "
            f"above 2σ(Fo²)"
            # noise reaches Fo²/σ of 1 or more; far under it, the σ column is on another scale
            + (
                f" (the largest Fo²/σ is {largest:.2g}: are the sigmas on another scale?)"
                if largest < 0.01
                else ""
            ),
            where,
        )
    occupancies, references = _occupancy_constraints(atoms, xs)
    model = refinement.model(
        fo_sq=fo_sq,
        xray_structure=xs,
        constraints=shared_first + builder.constraints + occupancies,
        restraints_manager=builder.restraints_manager,
        # iotbx's WGHT reader takes a 0 for its default (`arg or default`: WGHT 0 is 0.1),
        # so the scheme given is built here, not read from the text
        weighting_scheme=builder.weighting_scheme if weighting is None else weighting.scheme(),
        conformer_indices=builder.conformer_indices,
        wavelength=structure.wavelength,
    )
    # smtbx's model builds its bond table without the parser's negative-PART exclusions: an
    # atom kept off an axis (unconstrained_site_symmetry) bonded to its own image (FC_1979688's
    # C39, 0.49 Å away), its riding groups failed ("bad connectivity") and their H stayed fixed
    model.connectivity_table = smtbx_utils.connectivity_table(
        xs,
        conformer_indices=builder.conformer_indices,
        sym_excl_indices=builder.sym_excl_indices,
    )
    set_dispersion(xs, structure.wavelength, structure.dispersion, getattr(reflections, "merge", 2))
    exti = None if extinction is None else extinction_correction(structure, extinction)
    try:
        ls = _least_squares(model, exti, components)
        fixed = {}
    except _CONSTRAINT_FAILURES:
        fixed = {
            original[label]: why for label, why in _fix_unbuildable_riding_groups(model).items()
        }
        try:
            ls = _least_squares(model, exti, components)
        except _CONSTRAINT_FAILURES as error:  # the user's EADP/EXYZ clash with the model's own
            raise RefinementError(
                f"smtbx could not build the constraints ({error})", structure.source
            ) from None
    n_parameters = ls.reparametrisation.n_independents
    if n_unique < MIN_DATA_PER_PARAMETER * n_parameters:
        raise RefinementError(
            f"too few reflections: {n_unique} unique for {n_parameters} parameters, and refinement "
            f"needs at least {MIN_DATA_PER_PARAMETER} per parameter{_short_of(reflections)}",
            where,
        )
    try:
        steps = ConvergingIterations(
            non_linear_ls=ls,
            n_max_iterations=cycles,
            gradient_threshold=1e-7,
            step_threshold=1e-7,
            tau=damping,
        )
        r1 = ls.r1_factor(cutoff_factor=2)[0]
        result = RefinementResult(
            structure=_updated(atoms, xs, order, references),
            r1=r1,
            r1_all=ls.r1_factor()[0],
            wr2=ls.wR2(),
            goof=ls.goof(),
            n_reflections=n_unique,
            n_parameters=n_parameters,
            cycles=steps.n_iterations,
            fixed_hydrogens=fixed,
            weighting=weighting,
            suggested=suggested_weighting(ls) if suggest else None,
            extinction=refined_extinction(ls),
            twin_fractions=None
            if components is None
            else tuple(float(c.value) for c in components),
            twin_su=None if components is None else _twin_fraction_su(ls, components),
            twin=None if twin_setup is None else twin_setup[0],
            notes=list(twin_notes),
        )
    except RuntimeError as error:
        raise RefinementError(f"least squares failed: {error}", structure.source) from None
    except (
        ArithmeticError,
        ValueError,
    ):  # a scale factor of zero or below: Fc cannot fit Fo at all
        hint = _far_negative(fo_sq)  # then the reflection file is the one to name
        raise RefinementError(
            f"refinement diverged (no positive scale between Fo² and Fc²){hint}",
            where if hint else structure.source,
        ) from None
    if not all(math.isfinite(v) for v in (result.r1, result.wr2, result.goof)) or result.r1 > 0.9:
        r1 = f"R1 = {result.r1:.3f}" if math.isfinite(result.r1) else "R1 not a number"
        hint = _far_negative(fo_sq)  # then the reflection file is the one to name
        raise RefinementError(
            f"refinement diverged ({r1}){hint}", where if hint else structure.source
        )
    for site in result.structure.sites:
        largest = largest_u(site)
        if not math.isfinite(largest) or largest >= MAX_U:
            raise RefinementError(
                f"refinement diverged: {site.label} has |U| up to {largest:.3g} Å²",
                structure.source,
            )
        if (
            site.u_iso <= -0.05
        ):  # far below zero: the site holds fewer electrons than its element (wrong or no atom)
            raise RefinementError(
                f"refinement diverged: {site.label} ({site.element}) refined to Uiso "
                f"{site.u_iso:.3g} Å², far below zero: too heavy an element for the density there?",
                structure.source,
            )
    result.notes += _displacement_notes(result.structure)
    return result


FAR_NEGATIVE = -10.0  # Fo²/σ: no benchmark .hkl goes under -8 (FC_p21c), most not under -3


def _far_negative(fo_sq) -> str:
    """'; 12 reflections have Fo² under -10σ(Fo²) (...)' where the merged data hold such, for a
    divergence: SHELXL weighs them as any other (P takes max(Fo², 0), manual WGHT), and a
    handful at -10⁵ rule the scale (XH_alanine with 1 % of its Fo² at -10⁵: no positive scale)."""
    ratio = (fo_sq.data / fo_sq.sigmas).as_numpy_array()
    far = ratio < FAR_NEGATIVE
    if not far.any():
        return ""
    k = int(ratio.argmin())
    h = " ".join(str(i) for i in fo_sq.indices[k])
    return (
        f"; {int(far.sum())} reflection(s) have Fo² under {FAR_NEGATIVE:g}σ(Fo²), which no "
        f"measurement gives (the lowest: {h}, Fo² {fo_sq.data[k]:.4g}, σ {fo_sq.sigmas[k]:.3g})"
    )


def _least_squares(model, extinction=None, twin_components=None):
    """smtbx's least squares of `model` (refinement.model.least_squares), with SHELXL's
    extinction refined where given (smtbx's model has no place for it; olex2.refine hands it to
    the reparametrisation the same way), and the twin components' fractions refined where
    given (the same components the observations were built with: _observations)."""
    reparametrisation = smtbx_constraints.reparametrisation(
        model.xray_structure,
        model.constraints,
        model.connectivity_table,
        extinction=extinction,
        twin_fractions=twin_components,
    )
    return refinement.least_squares.crystallographic_ls(
        model.fo_sq,
        reparametrisation,
        restraints_manager=model.restraints_manager,
        weighting_scheme=model.weighting_scheme,
    )


def _twin_fraction_su(ls, components) -> tuple[float, ...]:
    """The su of each twin component's fraction, the first's (1 - Σ of the refined ones: its
    variance the sum of their covariances) first, from smtbx's covariance of the independent
    scalars (the refined fractions in order, then EXTI), read as smtbx's flack_analysis reads
    its twin fraction's, normalised by the GooF as SHELXL's su: the CIF's
    _twin_individual_mass_fraction_refined carries them. 0 for a fraction not refined."""
    refined = [c.grad for c in components]
    if not any(refined):
        return (0.0,) * (len(components) + 1)
    # the normal equations of the final parameters (weights.refined_extinction says why)
    ls.build_up()
    rep = ls.reparametrisation
    scalars = rep.jacobian_transpose_matching(rep.mapping_to_grad_fc_independent_scalars)
    covariance = ls.covariance_matrix(jacobian_transpose=scalars).matrix_packed_u_as_symmetric()
    n = sum(refined)
    block = covariance.as_numpy_array()[:n, :n]
    own = iter(np.sqrt(np.maximum(np.diag(block), 0.0)))
    first = math.sqrt(max(float(block.sum()), 0.0))
    return (first, *(float(next(own)) if grad else 0.0 for grad in refined))


def _displacement_notes(structure: Structure) -> list[str]:
    """What SHELXL warns of and a user must see before publishing: atoms whose Uij are not
    positive definite (its NPD) and a Uiso at or below zero. Said, not changed: SHELXL keeps
    such a model too, and the remedy (ISOR, SIMU, isotropic, another element) is the user's."""
    cell = uctbx.unit_cell(structure.cell)
    npd = [
        site.label
        for site in structure.atoms
        if site.u_aniso is not None and not _positive_definite(cell, site.u_aniso)
    ]
    low = [site.label for site in structure.atoms if site.u_aniso is None and site.u_iso <= 0]
    notes = []
    if npd:
        notes.append(
            f"Uij not positive definite (SHELXL's NPD): {', '.join(npd)}; restrain them (ISOR, "
            "SIMU/RIGU) or refine them isotropic"
        )
    if low:
        notes.append(f"Uiso at or below zero: {', '.join(low)} (too heavy an element there?)")
    return notes


def _positive_definite(cell, u_aniso) -> bool:
    u11, u22, u33, u23, u13, u12 = u_aniso
    u_cart = adptbx.u_cif_as_u_cart(cell, (u11, u22, u33, u12, u13, u23))
    return adptbx.is_positive_definite(u_cart)


class _Structure(xray.structure):
    """cctbx's structure, but an atom of a negative PART added while `negative_part` is set
    keeps its own place (convert.unconstrained_site_symmetry), as SHELXL keeps it."""

    negative_part = False

    def add_scatterer(self, scatterer, site_symmetry_ops=None, insert_at_index=None):
        if site_symmetry_ops is None and self.negative_part:
            site_symmetry_ops = unconstrained_site_symmetry(scatterer.site, self)
        super().add_scatterer(scatterer, site_symmetry_ops, insert_at_index)


class _Builder(
    iotbx.builders.weighted_constrained_restrained_crystal_structure_builder,
    iotbx.builders.reflection_data_source_builder,
    iotbx.builders.twinning_builder,
):
    """smtbx's refinement-model builder (iotbx.shelx.parse_smtbx_refinement_model's) whose
    structure follows SHELXL for a negative PART: no special position for its atoms."""

    def make_structure(self):
        super().make_structure()
        self.structure = _Structure(special_position_settings=self.structure)

    def add_scatterer(self, scatterer, *args, sym_excl_index=None, **kwargs):
        self.structure.negative_part = bool(sym_excl_index)  # the parser's negative PART
        try:
            super().add_scatterer(scatterer, *args, sym_excl_index=sym_excl_index, **kwargs)
        finally:
            self.structure.negative_part = False


def _refinement_model(text: str):
    """The builder of a SHELX .ins text's refinement model, parsed as
    iotbx.shelx.parse_smtbx_refinement_model parses it (not strictly SHELXL) with _Builder."""
    builder = _Builder()
    stream = command_stream(file=io.StringIO(text))
    stream = crystal_symmetry_parser(stream, builder)
    stream = afix_parser(stream.filtered_commands(), builder)
    stream = atom_parser(stream.filtered_commands(), builder, strictly_shelxl=False)
    stream = restraint_parser(stream.filtered_commands(), builder)
    stream = instruction_parser(stream.filtered_commands(), builder)
    stream = wavelength_parser(stream.filtered_commands(), builder)
    stream.parse()
    return builder


def _detached_groups(sites) -> list[tuple[list[str], int]]:
    """(labels, AFIX code) of the riding H groups iotbx's SHELX parser cannot read as SHELXL
    does: AFIX 15n H (see POLYHEDRAL_BH), and groups not straight after their pivot. SHELXL
    rides H on the last non-H atom before them, iotbx's parser on the atom just before the
    AFIX, which for the second PART's H of an atom outside a disorder (PART 1 AFIX 23 H4A H4B
    AFIX 0 PART 2 AFIX 23 H4C H4D, riding._per_part) is H4B."""
    groups: list[tuple[list[str], int]] = []
    previous = None
    for site in sites:
        riding = is_hydrogen(site.element or "") and site.afix
        same = previous is not None and (previous.part, previous.afix) == (site.part, site.afix)
        if riding and site.afix // 10 == POLYHEDRAL_BH:
            groups.append(([site.label], site.afix))  # one H a group
        elif riding and same and groups and groups[-1][0][-1] == previous.label:
            groups[-1][0].append(site.label)
        elif riding and previous is not None and is_hydrogen(previous.element or "") and not same:
            groups.append(([site.label], site.afix))
        previous = site
    return groups


def _riding_constraints(xs, groups: list[tuple[list[str], int]]) -> list:
    """The riding constraint of each group (_detached_groups) as SHELXL reads it: on the last
    non-H scatterer before its H, the geometry m and refinement n of its AFIX mn (n = 7 or 8
    rotating, 4 or 8 stretching, as iotbx's afix_parser has it)."""
    scatterers = xs.scatterers()
    index = {sc.label: i for i, sc in enumerate(scatterers)}
    constraints = []
    for labels, code in groups:
        first = index[labels[0]]
        pivot = next(
            (i for i in range(first - 1, -1, -1) if not is_hydrogen(scatterers[i].scattering_type)),
            None,
        )
        if pivot is None:  # SHELXL too stops on an AFIX group with no atom before it
            raise RefinementError(f"AFIX {code} H {labels[0]} has no pivot atom before it")
        m, n = divmod(code, 10)
        known = afix_parser.constraints.get(m)
        if known is None:  # a rigid group's H (AFIX 66) or a disordered methyl (AFIX 123)
            raise RefinementError(
                f"AFIX {code} H {labels[0]}: smtbx has no riding model for AFIX {m}n after "
                "another group's H; put the group straight after its pivot atom"
            )
        kind = getattr(smtbx_hydrogens, known[0])
        constraint = kind(
            rotating=n in (7, 8), stretching=n in (4, 8), bond_length=None, pivot=pivot
        )
        constraint.constrained_site_indices = tuple(index[label] for label in labels)
        constraints.append(constraint)
    return constraints


def _isotropic(site):
    return replace(
        site, u_aniso=None, mixed=tuple(replace(atom, u_aniso=None) for atom in site.mixed)
    )


def _scatterer_slots(atoms: Structure) -> list[tuple[int, int]]:
    """(site index, -1 for the site itself or k for its k-th mixed partner) per scatterer, in
    the order new_ins_text writes them: a mixed site's partners just before it."""
    return [(i, k) for i, site in enumerate(atoms.sites) for k in [*range(len(site.mixed)), -1]]


def _mixed_site_constraints(atoms: Structure) -> list:
    """SHELX EXYZ + EADP for every mixed site: its atoms share one position and one U."""
    constraints, start = [], 0
    for site in atoms.sites:
        if site.mixed:
            indices = [
                start + len(site.mixed),
                *range(start, start + len(site.mixed)),
            ]  # the site first
            constraints += [
                site_constraints.shared_site(indices),
                adp_constraints.shared_u(indices),
            ]
        start += len(site.mixed) + 1
    return constraints


def _occupancy_constraints(atoms: Structure, xs) -> tuple[list, dict[int, tuple[int, int, float]]]:
    """One refined occupancy per free variable. The job's (Site.free_variable): fv for the
    atoms on +m, 1 - fv for those on -m. The input's (Site.input_variable, c·fv or c·(1 - fv)):
    every atom starts at the variable's value (Structure.free_variable_values, not an occupancy
    an earlier step left), the first atom's occupancy refines and every other's is the affine
    function of it that the two codes make (smtbx's occupancy_pair_affine_constraint, every
    pair holding the first: iotbx's SHELX reader chains pairs (1, 2), (2, 3), and smtbx
    resolves atom 2's occupancy to atom 1's parameter, so pair (2, 3)'s form lands on the wrong
    atom where the codes of 2 and 3 differ, cctbx 2025.11). Returns the constraints and, per
    input variable m, (scatterer, sign, c) of its first atom."""
    groups: dict[int, tuple[list, list]] = {}
    members: dict[int, list[tuple[int, int, float]]] = {}
    for index, (i, k) in enumerate(_scatterer_slots(atoms)):
        atom = atoms.sites[i] if k < 0 else atoms.sites[i].mixed[k]
        m = atoms.sites[i].free_variable if k < 0 else 0
        if m:
            groups.setdefault(abs(m), ([], []))[m < 0].append((index, 1.0))
            xs.scatterers()[index].flags.set_grad_occupancy(True)
        elif atom.input_variable and not atom.free_variable:
            code, c = atom.input_variable
            members.setdefault(abs(code), []).append((index, 1 if code > 0 else -1, c))
    # of variables that sum to one (one atom's three places, SUMP) the last is one minus the
    # others: each of its atoms an affine function of the others' first atoms (a constraint
    # where SHELXL restrains; smtbx's affine constraints come after the parameters they use)
    summed = {
        variables[-1]: variables[:-1]
        for variables in atoms.occupancy_sums
        if all(m in groups and not groups[m][1] for m in variables)
    }
    constraints = [
        occupancy_constraints.dependent_occupancy(as_var, as_one_minus)
        for m, (as_var, as_one_minus) in groups.items()
        if m not in summed
    ]
    for last, others in summed.items():
        firsts = [groups[m][0][0][0] for m in others]
        constraints += [
            occupancy_constraints.occupancy_affine_constraint(
                [index, *firsts], [1.0] * (len(firsts) + 1), 1.0
            )
            for index, _ in groups[last][0]
        ]
    scatterers = xs.scatterers()
    values = list(atoms.free_variable_values)
    for m, ((first, sign, c), *others) in members.items():
        if variable_occupancy((m, c), values) is None:  # a model without the value: its share
            share = scatterers[first].occupancy / c
            values += [math.nan] * (m - 1 - len(values))
            values[m - 2] = share if sign > 0 else 1 - share
        for index, member_sign, member_c in [(first, sign, c), *others]:
            # every atom from the variable's value, whatever occupancy an earlier step left
            scatterers[index].occupancy = variable_occupancy((member_sign * m, member_c), values)
            scatterers[index].flags.set_grad_occupancy(True)
    summed_input = _summed_input_variables(atoms.input_sums, members, values)
    for m, ((first, sign, c), *others) in members.items():
        if m in summed_input:
            constraints += summed_input[m]
            continue
        for index, other_sign, other_c in others:
            # first: c·fv or c·(1 - fv); this one: c'·fv or c'·(1 - fv), so with a = c'/c
            # a·occ(first) ∓ occ(this) = 0 on the same sign, c' on opposite ones
            a = other_c / c
            same = other_sign == sign
            constraints.append(
                occupancy_constraints.occupancy_pair_affine_constraint(
                    (first, index), ((a, -1.0 if same else 1.0), 0.0 if same else other_c)
                )
            )
    references = {m: group[0] for m, group in members.items()}
    return constraints, references


def _summed_input_variables(sums, members: dict, values: list[float]) -> dict[int, list]:
    """The input's SUMP c1·fv(m1) + ... + ck·fv(mk) = c as a constraint (SHELXL restrains it):
    the last refined variable one minus the others, as the job's three places, each of its atoms
    (c'·fv or c'·(1 - fv)) an affine function of the others' first atoms (fv = occ/c'' or
    1 - occ/c''; a held variable counts at its value). Returns the constraints by variable."""
    constraints = {}
    for target, terms in sums:
        refined = [(w, m) for w, m in terms if m in members]
        held = [variable_occupancy((m, w), values) for w, m in terms if m not in members]
        if len(refined) < 2 or None in held:
            continue
        (w_last, last), others = refined[-1], refined[:-1]
        # fv(last) = k - sum g_i occ(first_i), fv_i = alpha_i occ(first_i) + beta_i
        k = target - sum(held)
        firsts, g = [], []
        for w, m in others:
            first, sign, c = members[m][0]
            k -= w * (0.0 if sign > 0 else 1.0)
            firsts.append(first)
            g.append(w * (1 / c if sign > 0 else -1 / c) / w_last)
        k /= w_last
        constraints[last] = [
            occupancy_constraints.occupancy_affine_constraint(
                [index, *firsts],
                [1.0, *(c * gi if sign > 0 else -c * gi for gi in g)],
                c * k if sign > 0 else c * (1 - k),
            )
            for index, sign, c in members[last]
        ]
    return constraints


def _smtbx_labels(n: int) -> list[str]:
    """Labels smtbx reads whatever the user called the atoms: a letter (not Q, which
    makes a peak), a digit and two base-36 characters: at most SHELX's 4 characters and never
    an instruction (longer labels, or ones holding '=' or '!', broke its parser)."""
    letters, digits = "ABCDEFGHIJKLMNOPRSTUVWXYZ", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    per_letter = 10 * 36 * 36
    if n > len(letters) * per_letter:
        raise RefinementError(
            f"{n} atoms: smtbx refinement is limited to {len(letters) * per_letter}"
        )
    return [
        letters[k // per_letter]
        + str(k % per_letter // 1296)
        + digits[k % 1296 // 36]
        + digits[k % 36]
        for k in range(n)
    ]


def _with_smtbx_labels(atoms: Structure) -> tuple[Structure, dict[str, str]]:
    """The atoms (mixed-site partners too) under labels smtbx always reads, and each smtbx
    label's original."""
    names = iter(_smtbx_labels(len(_scatterer_slots(atoms))))
    original: dict[str, str] = {}

    def renamed(atom):
        name = next(names)
        original[name] = atom.label
        return replace(atom, label=name)

    sites = [
        replace(renamed(site), mixed=tuple(renamed(atom) for atom in site.mixed))
        for site in atoms.sites
    ]
    return atoms.with_sites(sites), original


def refinement_instructions(restraints: list[str] = ()) -> list[str]:
    """The least-squares setup smtbx refines with, `restraints` (DFIX/DANG/EADP...) after L.S."""
    return _LEAST_SQUARES[:1] + list(restraints) + _LEAST_SQUARES[1:]


def _renamed(instructions: list[str], original: dict[str, str]) -> list[str]:
    """The instructions (DFIX/DANG of water) with every atom label replaced by its smtbx label,
    an EQIV's image (C1_$1) by its atom's with the '_$1' kept."""
    new = {label.upper(): name for name, label in original.items()}

    def renamed(word: str) -> str:
        atom, mark, equivalent = word.partition("_$")
        return new.get(atom.upper(), atom) + mark + equivalent

    return [
        " ".join(words[:1] + [renamed(word) for word in words[1:]])
        for words in (line.split() for line in instructions)
    ]


def _shared_constraints(xs, lines: list[str], taken=frozenset()) -> list:
    """smtbx's shared_u/shared_site for EADP/EXYZ lines (iotbx's parser reads neither): the
    atoms of a line the model has, each atom in one line at most; a line with an atom that
    smtbx holds on a special position (a disordered ring across a twofold axis, SXF_I43d's,
    where SHELXL keeps it general: its site-symmetry constraints on Uij clash with the shared
    Uij: C23 in SXF_I43d reached a Ueq over 1 Å²), and an EADP of isotropic and
    anisotropic atoms (smtbx refuses to mix them) left out; so is an atom whose U or site
    another constraint already holds (`taken`, smtbx's (index, "U"/"site") pairs: a riding H)."""
    index = {sc.label.upper(): k for k, sc in enumerate(xs.scatterers())}
    special = xs.site_symmetry_table()
    done: dict[str, set[int]] = {"EADP": set(), "EXYZ": set()}
    out = []
    for words in (line.split() for line in lines):
        kind = words[0].upper()
        members = [index[w.upper()] for w in words[1:] if w.upper() in index]
        part = "U" if kind == "EADP" else "site"
        members = [
            k for k in dict.fromkeys(members) if k not in done[kind] and (k, part) not in taken
        ]
        if len(members) < 2 or any(special.is_special_position(k) for k in members):
            continue
        if kind == "EADP":
            if len({xs.scatterers()[k].flags.use_u_aniso() for k in members}) > 1:
                continue
            out.append(adp_constraints.shared_u(members))
        else:
            out.append(site_constraints.shared_site(members))
        done[kind].update(members)
    return out


def largest_u(site) -> float:
    """|U| at its largest over Uiso and the Uij: what says a displacement parameter is
    unphysical."""
    return max(abs(u) for u in (site.u_iso, *(site.u_aniso or ())))


# TypeError: Boost.Python's ArgumentError, raised when one group asks for a symmetry image of
# an H that another group already rides (an XH3 on a threefold axis next to its own images)
_CONSTRAINT_FAILURES = (smtbx_constraints.InvalidConstraint, IndexError, AssertionError, TypeError)


def _fix_unbuildable_riding_groups(model) -> dict[str, str]:
    """Keep the H of riding groups that smtbx cannot build at their idealised positions.

    smtbx judges bonding with its own covalent radii and tolerance; where that disagrees
    with ours (long bonds, disorder) a group's geometry has no pivot neighbour to hang on,
    and two groups can clash (one needs a symmetry image of an H the other rides). Groups
    are added one at a time; one that cannot be built beside those before it keeps its H
    where they were placed, with only their Uiso riding, and its pivot is reported.
    """
    xs = model.xray_structure
    kept, fixed = [], {}
    for constraint in model.constraints:
        pivot = getattr(constraint, "pivot", None)
        if pivot is not None and hasattr(constraint, "constrained_site_indices"):
            try:
                smtbx_constraints.reparametrisation(
                    xs, kept + [constraint], model.connectivity_table
                )
            except _CONSTRAINT_FAILURES as error:
                label = xs.scatterers()[pivot].label
                why = (
                    "it needs a symmetry image of an H another group rides"
                    if isinstance(error, TypeError)
                    else str(error)
                )
                fixed[label] = (
                    f"H kept at idealised positions: smtbx could not build the riding group ({why})"
                )
                for index in constraint.constrained_site_indices:
                    xs.scatterers()[index].flags.set_grad_site(False)
                continue
        kept.append(constraint)
    model.constraints = kept
    return fixed


def merged_as_shelxl(structure: Structure, reflections, centric: bool):
    """Fo² as a cctbx array, systematic absences out, merged as the data's MERG asks
    (Reflections.merged): Friedel opposites apart in a non-centric group unless MERG 3 or 4,
    nothing merged under MERG 0."""
    merge = getattr(reflections, "merge", 2)
    i_obs = reflections.to_miller_array(structure.cell, structure.symops)
    if not centric and merge not in (3, 4):  # MERG 3 and 4 merge Friedel opposites
        i_obs = i_obs.customized_copy(anomalous_flag=True)
    i_obs = i_obs.eliminate_sys_absent()
    return i_obs if merge == 0 else i_obs.merge_equivalents().array()


def _observations(
    structure: Structure, reflections, centric: bool, twin_components=None, hklf5=False
):
    """Fo² merged in the point group; Friedel pairs kept apart in non-centric groups, as SHELXL
    does; under the data's MERG 0, 3 or 4 as SHELXL merges them then (Reflections.merged).
    With `twin_components` (twinned HKLF 4 data) each observation is the sum over the
    components of their fraction times Fc² of h transformed by their law (cctbx
    miller.array.as_xray_observations(twin_components=...), as olex2.refine builds its
    observations for TWIN: olex2's cctbx_olex_adapter.py). HKLF 5 data (`hklf5`, the
    components their twin fractions): _hklf5_observations."""
    if hklf5:
        return _hklf5_observations(structure, reflections, twin_components)
    merged = merged_as_shelxl(structure, reflections, centric)
    if twin_components is None:
        return merged.as_xray_observations()
    return merged.as_xray_observations(twin_components=twin_components)


def _hklf5_observations(structure: Structure, reflections, fractions):
    """HKLF 5 data as olex2.refine hands them to smtbx (olex2's cctbx_controller.py,
    reflections.merge, filter and get_observations): not merged, Friedel mates apart, a group
    of lines left out only where every one of its indices is systematically absent (cctbx's
    observations.filter_data), the rest cctbx's xray.observations of the batches as scale
    indices (a line of batch m adds fraction m times its Fc², the closing line's m its own:
    observations.h) and the twin fractions (miller.array.as_xray_observations)."""
    from cctbx.array_family import flex

    from crystalx_core.io.hkl import whole_groups

    batches = np.asarray(reflections.batches, dtype=int)
    i_obs = reflections.to_miller_array(structure.cell, structure.symops)
    i_obs = i_obs.customized_copy(anomalous_flag=True)
    absent = i_obs.sys_absent_flags().data().as_numpy_array()
    keep = whole_groups(~absent, batches)
    i_obs = i_obs.select(flex.bool(keep))
    return i_obs.as_xray_observations(
        scale_indices=flex.int(batches[keep].tolist()), twin_fractions=fractions
    )


def _twin_components(group, twin, held: dict[int, float]) -> tuple[list, list[str]]:
    """cctbx's xray.twin_component per component after the first (Twin.laws), its fraction
    from `twin` (Twin.start), refined unless `held` (index → value kept) or its law is a
    symmetry of the crystal (twin.symmetric_components: only its sum with the first is
    defined), which keeps its fraction as given, with a note."""
    from crystalx_core.crystallography.twin import symmetric_components

    if twin.hklf5:  # HKLF 5: a fraction per component after the first, no law
        return [
            xray.twin_fraction(held.get(k, value), k not in held)
            for k, value in enumerate(twin.start())
        ], []
    same = symmetric_components(twin, group)
    components, notes, start = [], [], twin.start()
    for k, law in enumerate(twin.laws()):
        value = held.get(k, start[k])
        # SHELX's matrix acts on the column (h k l) (h' = R h, as HKLF's); cctbx's twin law on
        # the row (h' = h T, xray/observations.h): T is R transposed, as olex2.refine builds it
        # from the model's TWIN (olex2's cctbx_olex_adapter.py, matrix[j][i])
        rot = sgtbx.rot_mx([law[j][i] for i in range(3) for j in range(3)])
        components.append(xray.twin_component(rot, value, k not in same and k not in held))
        if k in same:
            notes.append(
                f"twin component {k + 2} (BASF {k + 1}) diffracts as the first: its law is a "
                f"symmetry of the crystal, so its fraction is kept at {value:.3f}, not refined"
            )
    return components, notes


def _make_non_h_anisotropic(xs, isotropic: set[str] = frozenset()) -> None:
    """Convert before the constraints are built: smtbx asserts on make_anisotropic() with riding
    H."""
    for sc in xs.scatterers():
        if (
            not is_hydrogen(sc.scattering_type)
            and sc.flags.use_u_iso()
            and sc.label not in isotropic
        ):
            sc.convert_to_anisotropic(xs.unit_cell())


def _refine_everything(xs) -> None:
    for sc in xs.scatterers():
        sc.flags.set_grad_site(True)
        sc.flags.set_grad_u_iso(sc.flags.use_u_iso())
        sc.flags.set_grad_u_aniso(sc.flags.use_u_aniso())


def _updated(
    atoms: Structure, xs, order: list[int], references: dict[int, tuple[int, int, float]]
) -> Structure:
    """The input sites with refined coordinates, Uiso (Ueq for anisotropic atoms), Uij and
    occupancies, in the caller's order (`order[k]`: where the k-th refined site was), and the
    input's free variables read back from their first atoms (`references`)."""
    refined = [[None] * len(site.mixed) + [site] for site in atoms.sites]
    scatterers = xs.scatterers()
    for (i, k), sc in zip(_scatterer_slots(atoms), scatterers):
        atom = atoms.sites[i] if k < 0 else atoms.sites[i].mixed[k]
        u_iso, u_aniso = displacement(sc, xs.unit_cell())
        refined[i][k] = replace(
            atom,
            frac=tuple(float(v) for v in sc.site),
            u_iso=u_iso,
            u_aniso=u_aniso,  # an H refined with Uij (given them: HAR, neutron) keeps them
            occupancy=float(sc.occupancy)
            if atom.free_variable or atom.input_variable
            else atom.occupancy,
        )
    sites = [None] * len(order)
    for k, atoms_of_site in zip(order, refined):
        sites[k] = replace(atoms_of_site[-1], mixed=tuple(atoms_of_site[:-1]))
    values = list(atoms.free_variable_values)
    for m, (index, sign, c) in references.items():
        share = float(scatterers[index].occupancy) / c
        values += [math.nan] * (m - 1 - len(values))  # a structure that lost its values
        values[m - 2] = share if sign > 0 else 1 - share
    return replace(atoms.with_sites(sites), free_variable_values=tuple(values))


def _short_of(reflections) -> str:
    """Where the file ended its data early (a 0 0 0 line among them), for a refusal of too few."""
    return reflections.short_of() if hasattr(reflections, "short_of") else ""
