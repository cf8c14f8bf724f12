"""What a job produces for people and programs: JSON, CIF and the printed summary."""

from __future__ import annotations

import io
import math
import textwrap
import unicodedata

from cctbx.eltbx import tiny_pse
from iotbx import cif as iotbx_cif

from crystalx_core import __version__
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.weights import DEFAULT, EXTINCTION_EXPRESSION, Weighting
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.hkl import INVERSION
from crystalx_core.pipeline import JobResult

JSON_SCHEMA_VERSION = 2  # 2: atoms as the service gives sites (SiteAssignment.to_dict)


def job_json(
    result: JobResult, files: dict[str, str] | None = None, read: dict | None = None
) -> dict:
    """Per-atom elements, scores and H counts plus refinement figures, for --json and
    x_crystalx.json; `read`: the inputs' stamps as the job read them (outputs.write_job_outputs)."""
    final = result.final
    order = result.input.space_group_order
    return {
        "schema": JSON_SCHEMA_VERSION,
        "program": f"crystalx {__version__}",
        "method": result.assignment.method,
        "hydrogen_method": result.hydrogen_method,
        "source": result.input.source,
        "atoms": [s.to_dict() for s in result.assignment.sites],
        "dropped_peaks": result.dropped_labels,
        "hydrogen_notes": result.assignment.notes(),
        "notes": result.notes,
        "success": result.failure is None,
        "failure": result.failure,
        # a solution only with these reflections set aside (the verdict's R1 without them; the
        # refinement's R1 below still counts them): REM OMIT lines in the .res
        "omit": [list(hkl) for hkl in getattr(result, "omit", [])],
        "r1_without_omit": None
        if getattr(result, "r1_without_omit", None) is None
        else round(result.r1_without_omit, 5),
        "refinement": None
        if final is None
        else {
            "r1": round(final.r1, 5),
            "r1_all": round(final.r1_all, 5),
            "wr2": round(final.wr2, 5),
            "goof": round(final.goof, 4),
            "n_reflections": final.n_reflections,
            "n_parameters": final.n_parameters,
            "sigmas_estimated": result.sigmas_estimated,  # the file gave none (notes say how)
            # the WGHT refined with and the one SHELXL would suggest next (as it writes after END)
            "weighting": _weighting_dict(final.weighting or DEFAULT),
            "suggested_weighting": None
            if final.suggested is None
            else _weighting_dict(final.suggested),
            "extinction": None
            if final.extinction is None
            else {"exti": round(final.extinction[0], 6), "su": round(final.extinction[1], 6)},
            # refined fractions of twin components 2.. (SHELXL's BASF; the first takes the rest)
            "twin_fractions": None
            if final.twin_fractions is None
            else [round(f, 5) for f in final.twin_fractions],
            "stages": {stage: round(r.r1, 5) for stage, r in result.refinements},
            "difference_map": None
            if result.residual is None
            else {
                "peak": round(result.residual.peak, 3),
                "hole": round(result.residual.hole, 3),
                "rms": round(result.residual.rms, 3),
                "peak_near": result.residual.peak_near,
            },
        },
        "solution": None
        if result.solution is None
        else {
            "attempts": result.solution.attempts,
            "n_peaks": len(result.solution.structure.sites),
            "d_min": round(result.solution.d_min, 3),
            "n_reflections": result.solution.n_reflections,
            "completeness": round(result.solution.completeness, 4),
            "figure_of_merit": round(result.solution.figure_of_merit, 4),
            "runs": [
                {
                    "attempt": run.attempts,
                    "settings": run.settings.describe(),
                    "figure_of_merit": round(run.figure_of_merit, 4),
                    "atoms": len(done.stage.assignment.sites),
                    "r1_isotropic": round(done.stage.r1, 5),
                }
                for run, done in result.runs
            ],
            "completion_cycles": []
            if result.completion is None
            else [
                {
                    "r1_isotropic": round(c.r1, 5),
                    "atoms": c.atoms,
                    "added": c.added,
                    "dropped": c.dropped,
                    "retyped": c.retyped,
                    "kept": c.kept,
                }
                for c in result.completion.cycles
            ],
        },
        "elements": [
            {
                "element": el,
                "assigned": n,
                "expected": round(unit / order, 2),  # per asymmetric unit, as UNIT / group order
                "in_cell": round(in_cell, 4),  # by occupancy and site multiplicity
                "unit": unit,
            }
            for el, n, in_cell, unit in result.element_table()
        ],
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "files": files or {},
        "inputs": read or {},
    }


def _weighting_dict(weighting: Weighting) -> dict:
    return {"a": round(weighting.a, 4), "b": round(weighting.b, 4)}


def weighting_lines(final) -> list[str]:
    """The weights and extinction of the final refinement, as SHELXL's listing gives them."""
    used = final.weighting or DEFAULT
    lines = [f"weights: {used.text()}"]
    if final.suggested is not None:
        lines[0] += f"; suggested for the next cycles: {final.suggested.text()}"
    if final.extinction is not None:
        value, su = final.extinction
        lines.append(f"extinction: EXTI {_with_su(value, su)}")
    if final.twin_fractions is not None:
        fractions = " ".join(f"{f:.4f}" for f in final.twin_fractions)
        lines.append(
            f"twin fractions: BASF {fractions} (first component "
            f"{1 - sum(final.twin_fractions):.4f})"
        )
    return lines


def _with_su(value: float, su: float) -> str:
    """A value with its standard uncertainty as crystallographers write it: 0.0321(12)."""
    if not su > 0:
        return f"{value:g}"
    decimals = max(0, 1 - math.floor(math.log10(su)))  # two digits of su
    if round(su * 10**decimals) >= 20:  # 0.0021 → (2): one digit where it reads 2 or more
        decimals -= 1
    decimals = max(decimals, 0)
    return f"{value:.{decimals}f}({round(su * 10**decimals)})"


# CIF 1.1 is ASCII (IUCr CIF 1.1 syntax, paragraph 'Character set'); the IUCr's text markup
# (journals.iucr.org/services/cif/editguide.html, 'special codes') for what a .res TITL or REM
# may hold (Olex2 and SHELXL copy a file's bytes as they are): an accent before its letter, a
# few letters of their own, Greek as the Latin letter, some symbols ('--' a dash, '---' is a
# single bond there, so an em dash is '--' too)
_CIF_MARKS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~",
              "\u0327": ",", "\u030a": "%", "\u0304": "=", "\u0307": ".", "\u030c": "<",
              "\u0328": ";", "\u030b": ">", "\u0306": "("}  # fmt: skip
_CIF_LETTERS = {"ø": "\\/o", "Ø": "\\/O", "ł": "\\/l", "Ł": "\\/L", "đ": "\\/d", "Đ": "\\/D",
                "ı": "\\?i", "ß": "\\&s", "µ": "\\m", "°": "\\%", "±": "+-", "∓": "-+",
                "×": "\\\\times", "–": "--", "’": "'", "‘": "'", "“": '"', "”": '"',
                "—": "--", "·": "."}  # fmt: skip
_CIF_LETTERS.update(
    (greek, "\\" + latin)
    for greeks, latins in (("αβγδεζηθικλμνξοπρσςτυφχψω", "abgdezhqiklmnxoprsstufcyw"),
                           ("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "ABGDEZHQIKLMNXOPRSTUFCYW"))
    for greek, latin in zip(greeks, latins)
)  # fmt: skip


def _cif_ascii(text: str) -> str:
    """`text` in the ASCII CIF 1.1 allows: accented letters and the Greek and symbols above as
    CIF markup (é → \\'e, ö → \\"o, ř → \\<r, Å → \\%A, ß → \\&s, µ → \\m), which CIF
    readers that render text (ASE's cif_unicode, the IUCr's tools) turn back; any other
    character '?' (the .res written keeps the user's bytes). iotbx.cif stops at the first
    byte over 127 ('Binary file detected'), so a .res whose TITL said 'Ångström' gave a CIF
    that cctbx could not read."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif char in _CIF_LETTERS:
            out.append(_CIF_LETTERS[char])
        else:
            base, *marks = unicodedata.normalize("NFD", char)
            if base.isascii() and len(marks) == 1 and marks[0] in _CIF_MARKS:
                out.append("\\" + _CIF_MARKS[marks[0]] + base)
            else:
                out.append("?")
    return "".join(out)


_RIDING_M = {1, 2, 3, 4, 8, 9, 12, 13, 14, 15, 16}  # AFIX m of riding H (iotbx afix_parser)


def _atom_site_flags(block, xs, structure) -> None:
    """The atom_site columns SHELXL writes beside cctbx's: site symmetry order, calc flag and
    riding flag (`calc`, `R` for AFIX-placed H), and the PART as _atom_site_disorder_group,
    so that checkCIF and Mercury read alternatives as alternatives and not as clashes (the
    .res says PART; the CIF said nothing)."""
    loop = block.get_loop("_atom_site")
    sites = [atom for host in structure.atoms for atom in host.with_mixed]
    if loop is None or len(sites) != xs.scatterers().size():
        return
    order_z = xs.space_group().order_z()
    riding = [site.afix // 10 in _RIDING_M and is_hydrogen(site.element) for site in sites]
    loop.add_column(
        "_atom_site_site_symmetry_order",
        [str(order_z // sc.multiplicity()) for sc in xs.scatterers()],
    )
    loop.add_column("_atom_site_calc_flag", ["calc" if r else "d" for r in riding])
    loop.add_column("_atom_site_refinement_flags_posn", ["R" if r else "." for r in riding])
    loop.add_column(
        "_atom_site_disorder_group", [str(site.part) if site.part else "." for site in sites]
    )


def _occupancies_as_shelxl(block, xs) -> None:
    """The chemical occupancy to 4 decimals, trailing zeros dropped, as SHELXL's CIF gives an
    occupancy without su (FC_p31c's published CIF: 10.33333 on a threefold axis is '1' with
    site symmetry order 3, on a general position '0.3333'); cctbx wrote 0.999990 there, an
    atom a hair short of a full site for checkCIF and for the formula a reader sums."""
    loop = block.get_loop("_atom_site")
    if loop is None or "_atom_site_occupancy" not in loop:
        return
    loop["_atom_site_occupancy"] = [
        f"{round(sc.occupancy, 4):.4f}".rstrip("0").rstrip(".") for sc in xs.scatterers()
    ]


def _formula_items(block, xs, structure, res_text: str) -> None:
    """Z from the .res's ZERR and the sum formula and weight from its UNIT over Z (Hill
    order), as SHELXL's CIF takes them: the declared content, which checkCIF wants to be the
    true composition 'and not the contents implied by the model' (CHEMW01, CELLZ01) and sets
    against the atom list itself. FC_p31c's model with H placed anew holds H92.11 per formula
    unit; its UNIT and published CIF say H93. Without a UNIT, the atom sites' content."""
    zerr = next((line.split() for line in res_text.splitlines() if line[:4].upper() == "ZERR"), [])
    try:
        z = float(zerr[1])
    except (IndexError, ValueError):
        return
    if not z > 0:
        return
    content: dict[str, float] = {}
    if len(structure.unit) == len(structure.sfac) and sum(structure.unit) > 0:
        counts = zip(structure.sfac, structure.unit)
    else:
        counts = ((sc.scattering_type, sc.occupancy * sc.multiplicity()) for sc in xs.scatterers())
    for element, n in counts:
        content[element.capitalize()] = content.get(element.capitalize(), 0.0) + n
    hill = sorted(content, key=lambda el: (el != "C", el != "H" or "C" not in content, el))
    parts = []
    for element in hill:
        n = round(content[element] / z, 2)
        if n > 0:
            parts.append(element if n == 1 else f"{element}{n:g}")
    weight = sum(tiny_pse.table(el).weight() * n / z for el, n in content.items())
    block["_cell_formula_units_Z"] = f"{z:g}"
    block["_chemical_formula_sum"] = "'" + " ".join(parts) + "'"
    block["_chemical_formula_weight"] = f"{weight:.2f}"


_IDENTITY = ((1, 0, 0), (0, 1, 0), (0, 0, 1))


def _fraction(value: float, su: float) -> str:
    """A twin fraction as SHELXL writes a BASF in its CIF: with its su where refined, to 4
    decimals where held (no su)."""
    return _with_su(value, su) if su > 0 else f"{value:.4f}"


def _twin_items(block, final) -> None:
    """A twinned refinement's CIF items: the individuals' refined mass fractions (the first
    1 - Σ BASF) with their su, and the matrix U that takes the reference individual's h k l to
    each one's, (h' k' l') = U (h k l) on the column (COMCIFS cif_twin.dic,
    _twin_individual.twin_matrix), which is SHELXL's TWIN matrix and its powers (Twin.laws):
    the reference the identity, labelled 1 as the dictionary recommends. _refine_special_details
    says it was refined as a twin (Olex2's CIF of sf_atomstwoline: 'Refined as a 3-component
    twin.') and which fractions were held, given without su. An inversion twin's BASF is also
    the Flack parameter (SHELXL manual, TWIN: it "uses the BASF parameter and its esd for the
    Flack parameter in the .cif output"; olex2.refine's CIF block writes 'Refined as an
    inversion twin.' beside it). HKLF 5 data give each individual's indices in the
    reflection file and no matrix: the matrices of individuals 2.. are '?' (unknown, as
    cif_twin.dic allows), and the details say the twin was refined against HKLF 5 data.
    Nothing for untwinned data."""
    if final is None or final.twin is None or final.twin_fractions is None:
        return
    twin = final.twin
    fractions = (1.0 - sum(final.twin_fractions), *final.twin_fractions)
    sus = final.twin_su or (0.0,) * len(fractions)
    matrices = (_IDENTITY, *(twin.laws() or [None] * (len(fractions) - 1)))
    loop = iotbx_cif.model.loop(
        header=(
            "_twin_individual_id",
            "_twin_individual_mass_fraction_refined",
            *(f"_twin_individual_twin_matrix_{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)),
        )
    )
    for k, (value, su, matrix) in enumerate(zip(fractions, sus, matrices), 1):
        elements = ["?"] * 9 if matrix is None else [str(v) for row in matrix for v in row]
        loop.add_row((str(k), _fraction(value, su), *elements))
    block.add_loop(loop)
    inversion = twin.matrix == INVERSION and twin.n == 2 and not twin.hklf5
    details = f"Refined as a {len(fractions)}-component{' inversion' if inversion else ''} twin."
    if twin.hklf5:
        details = (
            f"Refined as a {len(fractions)}-component non-merohedral twin against HKLF 5 data "
            "(each individual's indices given in the reflection file, batch m for individual "
            "m; no twin matrix refined)."
        )
    held = [str(k) for k, su in enumerate(sus[1:], 2) if not su > 0]
    if not twin.fractions and not twin.hklf5:
        details += (
            " TWIN without BASF: a perfect twin, every fraction held at "
            f"1/{len(fractions)}, not refined, so given without su."
        )
    elif held:
        details += (
            f" The fraction of individual{'s' if len(held) > 1 else ''} {', '.join(held)} "
            f"{'were' if len(held) > 1 else 'was'} held (at a bound, or the law is a symmetry "
            "of the crystal), not refined, so given without su."
        )
    # a text field of lines under 80 characters, each from a space as SHELXL's
    lines = textwrap.wrap(details, 78)
    block["_refine_special_details"] = "\n" + "\n".join(" " + line for line in lines) + "\n"
    if inversion:
        block["_refine_ls_abs_structure_details"] = "Refined as an inversion twin."
        block["_refine_ls_abs_structure_Flack"] = _fraction(fractions[1], sus[1])


def result_cif(result: JobResult, res_text: str, data_name: str) -> str:
    """A coreCIF of the final model with refinement figures and the .res embedded, as SHELXL
    writes."""
    xs = to_xray_structure(result.structure)
    block = xs.as_cif_block(
        format="coreCIF"
    )  # CIF1 tag names: what SHELX-era readers and gemmi expect
    _atom_site_flags(block, xs, result.structure)
    _occupancies_as_shelxl(block, xs)
    _formula_items(block, xs, result.structure, res_text)
    block["_computing_structure_refinement"] = f"CrystalX {__version__} (cctbx/smtbx)"
    block["_diffrn_radiation_wavelength"] = "%.5f" % result.structure.wavelength
    final = result.final
    if final is not None:
        block["_refine_ls_R_factor_gt"] = "%.4f" % final.r1
        block["_refine_ls_R_factor_all"] = "%.4f" % final.r1_all
        block["_refine_ls_wR_factor_ref"] = "%.4f" % final.wr2
        block["_refine_ls_goodness_of_fit_ref"] = "%.3f" % final.goof
        block["_refine_ls_number_reflns"] = str(final.n_reflections)
        block["_refine_ls_number_parameters"] = str(final.n_parameters)
        block["_refine_ls_hydrogen_treatment"] = "constr"
        block["_refine_ls_weighting_scheme"] = "calc"
        block["_refine_ls_weighting_details"] = (final.weighting or DEFAULT).cif_details()
        if final.extinction is not None:
            block["_refine_ls_extinction_method"] = "SHELXL"
            block["_refine_ls_extinction_coef"] = _with_su(*final.extinction)
            block["_refine_ls_extinction_expression"] = EXTINCTION_EXPRESSION
        else:
            block["_refine_ls_extinction_method"] = "none"
    _twin_items(block, final)
    if result.residual is not None:
        block["_refine_diff_density_max"] = "%.3f" % result.residual.peak
        block["_refine_diff_density_min"] = "%.3f" % result.residual.hole
        block["_refine_diff_density_rms"] = "%.3f" % result.residual.rms
    block["_shelx_res_file"] = "\n" + res_text
    model = iotbx_cif.model.cif()
    model[data_name] = block
    out = io.StringIO()
    model.show(out=out)
    return _cif_ascii(out.getvalue())


def _told(note: str, site_notes: dict[str, str]) -> bool:
    """A job note 'LABEL: text' whose text that site's own note says already (the H step puts
    each of its site notes into both)."""
    label, _, text = note.partition(": ")
    return bool(text) and text in site_notes.get(label, "")


def summary_lines(result: JobResult, site_notes: bool = True) -> list[str]:
    """The plain-text summary printed by the commands (also used by the demo). Without
    `site_notes` (--quiet) one line counts the per-site notes instead of listing them: they
    stay in the JSON ("atoms": "note"), and FC_sucrose alone has eight."""
    lines = []
    if result.solution is not None:
        s = result.solution
        lines.append(
            f"solved by charge flipping: {len(s.structure.sites)} peaks from "
            f"{s.n_reflections} reflections to {s.d_min:.2f} Å, {100 * s.completeness:.0f} % "
            "complete "
            f"(attempt {s.attempts})"
        )
    lines.append(
        f"assigned {len(result.assignment.sites)} atoms by method '{result.assignment.method}' "
        f"(H counts: {result.hydrogen_method})"
        + (f", dropped {len(result.assignment.dropped)} peaks" if result.assignment.dropped else "")
    )
    lines.append("element   atoms   in cell   UNIT")
    for el, n, in_cell, unit in result.element_table():
        lines.append(f"{el:<9} {n:>5}   {in_cell:>7.2f}   {unit:g}")
    n_h = sum(1 for s in result.structure.sites if is_hydrogen(s.element))  # D too
    plan = result.hydrogens
    n_kept = sum(len(plan.groups[k]) for k in plan.kept if k in plan.groups)
    lines.append(
        f"riding H placed: {n_h - n_kept} on {len(plan.codes) - len(plan.kept)} atoms"
        + (f"; the input's H kept as refined: {n_kept} on {len(plan.kept)} atoms" if n_kept else "")
    )
    notes = result.assignment.notes()
    if site_notes:
        lines += [f"  note {label}: {note}" for label, note in notes.items()]
    elif notes:
        lines.append(f"  {len(notes)} site notes left out (--quiet): see the JSON's atoms")
    lines += [f"note: {note}" for note in result.notes if not _told(note, notes)]
    for stage, r in result.refinements:
        lines.append(
            f"refinement ({stage}): R1 = {r.r1:.4f}  wR2 = {r.wr2:.4f}  GooF = {r.goof:.3f}  "
            f"({r.n_reflections} reflections, {r.n_parameters} parameters)"
        )
    if result.final is not None:
        lines += weighting_lines(result.final)
    if result.residual is not None:
        lines.append(result.residual.line())
    if result.failure:
        lines.append(
            f"NO SOLUTION: {result.failure}; the files are written for a look, not for publication"
        )
    return lines
