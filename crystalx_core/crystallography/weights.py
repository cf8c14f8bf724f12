"""The least-squares weights and extinction of the final refinement as SHELXL reads and writes
them: the input's WGHT and EXTI, and the WGHT SHELXL would suggest for the next cycles.

SHELXL weighs w = q / [σ²(Fo²) + (aP)² + bP + d + e·sinθ/λ], P = f·max(Fo², 0) + (1 − f)·Fc²
(manual, WGHT a b c d e f, defaults 0.1 0 0 0 0 1/3); smtbx's mainstream_shelx_weighting is
the a, b part with f = 1/3 (cctbx 2025.11, smtbx/refinement/weighting_schemes.h; iotbx's
SHELX builder refuses the rest), so a c, d, e or f other than its default is said, not used.
Extinction is SHELXL's EXTI, smtbx's shelx_extinction_correction refined with the model, as
Olex2's olex2.refine sets it up (olex2-gui util/pyUtil/CctbxLib/refinement.py, FullMatrixRefine:
`xray.shelx_extinction_correction(unit_cell, wavelength, exti)`, `grad = True`, handed to the
reparametrisation). The suggested scheme is smtbx's `optimise_parameters` on the final Fo², Fc²
and scale, as olex2.refine computes its `snum.refinement.suggested_weight`. SHELXL writes it
after END in the .res (manual, WGHT: 'replacing the WGHT instruction ... by the one output by
the program towards the end of the .res file'), and Olex2 reads a file's second WGHT as the
proposed weight that its UpdateWght makes the used one (pcxod/olex2 xlib/ins.h, _ParseIns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smtbx.refinement import least_squares

SHELXL_DEFAULTS = (0.1, 0.0, 0.0, 0.0, 0.0, 1 / 3)  # WGHT a b c d e f (SHELXL manual)
# SHELXL writes f as .33333 (or a user .3333): read as 1/3, as smtbx uses it
_ONE_THIRD = 1e-3
# the formula CIF readers expect with an EXTI coefficient (as olex2.refine writes it)
EXTINCTION_EXPRESSION = r"Fc^*^=kFc[1+0.001xFc^2^\l^3^/sin(2\q)]^-1/4^"


@dataclass(frozen=True)
class Weighting:
    """SHELXL's WGHT a b c d e f."""

    a: float = 0.1
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 0.0
    f: float = 1 / 3

    @classmethod
    def from_wght(cls, numbers) -> Weighting:
        """The scheme a WGHT line's numbers give, SHELXL's default for each one left out."""
        return cls(*numbers, *SHELXL_DEFAULTS[len(numbers) :])

    def scheme(self):
        """smtbx's weighting with a and b (what smtbx has of SHELXL's scheme)."""
        return least_squares.mainstream_shelx_weighting(a=self.a, b=self.b)

    def unused(self) -> list[str]:
        """The parameters given that smtbx cannot weigh with ('c 10' ...)."""
        out = [f"{name} {value:g}" for name, value in zip("cde", (self.c, self.d, self.e)) if value]
        if abs(self.f - 1 / 3) > _ONE_THIRD:
            out.append(f"f {self.f:g}")
        return out

    def text(self) -> str:
        """As SHELXL writes a scheme in its listing: 'WGHT 0.0269 23.9134'."""
        return f"WGHT {_listed(self.a)} {_listed(self.b)}"

    def res_line(self) -> str:
        """As SHELXL writes the scheme it refined with in the .res: 'WGHT    0.100000' (12
        columns, 6 decimals; b where not 0)."""
        return f"WGHT{self.a:12.6f}" + (f"{self.b:12.6f}" if self.b else "")

    def suggested_line(self) -> str:
        """As SHELXL writes its suggested scheme after END in the .res: 'WGHT      0.0294
        1.7311' (two fields of 12 columns, 4 decimals)."""
        return f"WGHT{self.a:12.4f}{self.b:12.4f}"

    def cif_details(self) -> str:
        """_refine_ls_weighting_details, as smtbx writes it for a and b."""
        return str(self.scheme())

    def is_default(self) -> bool:
        """Whether this is SHELXL's WGHT 0.1, the scheme the job refines with until the end."""
        return all(
            math.isclose(x, y, abs_tol=1e-9) for x, y in zip(self.numbers(), SHELXL_DEFAULTS)
        )

    def numbers(self) -> tuple[float, ...]:
        return (self.a, self.b, self.c, self.d, self.e, self.f)


DEFAULT = Weighting()


def _listed(value: float) -> str:
    """4 decimals as SHELXL lists them; a number past 1e6 (no scheme's, a typo's) in 4 digits,
    not in the hundreds of digits .4f gives 1e300."""
    return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"


@dataclass(frozen=True)
class FinalSetup:
    """What the input asks of the final refinement: its WGHT (None: SHELXL's default) and EXTI
    (None: no extinction), and one note on what smtbx cannot do of it ('' when nothing)."""

    weighting: Weighting | None = None
    extinction: float | None = None
    note: str = ""

    def changes_refinement(self) -> bool:
        """Whether the final refinement differs from the job's (WGHT 0.1, no extinction)."""
        used = self.weighting or DEFAULT
        return self.extinction is not None or not Weighting(used.a, used.b).is_default()

    def describe(self) -> str:
        """'WGHT 0.0269 23.9134, EXTI 0.0032': the input's setup, for a stage's name."""
        parts = [(self.weighting or DEFAULT).text()]
        if self.extinction is not None:
            parts.append(f"EXTI {self.extinction:g}")
        return ", ".join(parts)


def final_setup(shelx_file, cif=None) -> FinalSetup:
    """The WGHT and EXTI of the input file (io.shelx_read.ShelxFile; None: no file), else the
    WGHT a CIF's text gives (`cif`, io.cif_weights.CifWeighting) where that file has no WGHT
    line, and a note naming what is not applied: a WGHT not read, WGHT c-f, SWAT."""
    if cif is not None and (shelx_file is None or "WGHT" not in shelx_file.cards):
        setup = _cif_setup(cif)
        if shelx_file is None:
            return setup
        # an embedded .res without WGHT: its EXTI and SWAT, the CIF's scheme
        own = final_setup(shelx_file)
        note = "; ".join(n for n in (setup.note, own.note) if n)
        return FinalSetup(setup.weighting or own.weighting, own.extinction, note)
    if shelx_file is None:
        return FinalSetup()
    weighting = Weighting.from_wght(shelx_file.wght) if shelx_file.wght is not None else None
    left = []
    if weighting is None and "WGHT" in shelx_file.cards:  # io.shelx_read left it unread
        card = shelx_file.cards["WGHT"]
        fields = " ".join(card.fields)
        left.append(f"WGHT (line {card.number}): {fields!r} is not up to 6 numbers, WGHT 0.1 used")
    if weighting is not None and weighting.unused():
        card = shelx_file.cards["WGHT"]
        left.append(
            f"WGHT (line {card.number}): {', '.join(weighting.unused())} not applied (smtbx "
            f"weighs with a and b, P = (Fo² + 2Fc²)/3)"
        )
    if "SWAT" in shelx_file.cards:
        card = shelx_file.cards["SWAT"]
        left.append(f"SWAT (line {card.number}): smtbx has no diffuse-solvent correction")
    note = "; ".join(left) + ("; refined without it" if left else "")
    return FinalSetup(weighting, shelx_file.exti, note)


def olex2_setup(weight, exti: float | None) -> FinalSetup:
    """The final refinement Olex2's refinement model asks for (the plugin's job, which has no
    .res): `weight` its WGHT numbers as written (PyExport "weight"; empty without a WGHT, as
    olex2.refine then weighs with a 0.1, b 0: cctbx_olex_adapter.py get_shelxl_weighting) and
    `exti` its EXTI (None: none), each default filled in as final_setup fills in a .res's."""
    weighting = Weighting.from_wght(tuple(weight)) if weight else None
    note = (
        f"WGHT (Olex2's refinement model): {', '.join(weighting.unused())} not applied (smtbx "
        "weighs with a and b, P = (Fo² + 2Fc²)/3); refined without it"
        if weighting is not None and weighting.unused()
        else ""
    )
    return FinalSetup(weighting, exti, note)


def _cif_setup(cif) -> FinalSetup:
    """The final refinement a CIF's weighting text asks for (no EXTI: a CIF's coefficient is
    on SHELXL's scale only where its .res says EXTI, which is read there)."""
    where = f"{cif.tag} (line {cif.line})"
    if cif.wght is None:
        note = f"{where}: {cif.problem}, WGHT 0.1 used" if cif.problem else ""
        return FinalSetup(note=note)
    weighting = Weighting.from_wght(cif.wght)
    note = (
        f"{where}: {', '.join(weighting.unused())} not applied (smtbx weighs with a and b, "
        "P = (Fo² + 2Fc²)/3)"
        if weighting.unused()
        else ""
    )
    return FinalSetup(weighting, None, note)


def extinction_correction(structure, value: float):
    """SHELXL's EXTI for smtbx, refined from `value` (olex2.refine's set-up)."""
    from cctbx import uctbx, xray

    correction = xray.shelx_extinction_correction(
        uctbx.unit_cell(structure.cell), structure.wavelength, value
    )
    correction.grad = True
    return correction


def suggested_weighting(ls) -> Weighting:
    """The a and b SHELXL would suggest after this least-squares fit: smtbx's grid search for a
    flat analysis of variance over Fc²/Fc²max and a GooF near 1, on the fit's Fo², Fc² and
    scale (olex2.refine's call)."""
    scheme = ls.weighting_scheme
    if not isinstance(scheme, least_squares.mainstream_shelx_weighting):
        scheme = DEFAULT.scheme()
    new = scheme.optimise_parameters(
        ls.observations.fo_sq, ls.fc_sq, ls.scale_factor(), ls.reparametrisation.n_independents
    )
    return Weighting(float(new.a), float(new.b))


def refined_extinction(ls) -> tuple[float, float] | None:
    """(EXTI, its standard uncertainty) of a fit that refined it; None where it did not."""
    correction = ls.reparametrisation.extinction
    if correction is None or not correction.grad:
        return None
    # the normal equations of the final parameters: Levenberg-Marquardt stops on a converged
    # gradient with equations built for the objective only, whose inverse is no covariance
    ls.build_up()
    variance = ls.covariance_matrix().matrix_packed_u_diagonal()[correction.grad_index]
    return float(correction.value), math.sqrt(max(float(variance), 0.0))
