"""A CIF's weighting scheme as SHELXL's WGHT, read from its text where no embedded .res carries
the WGHT line: the final refinement then weighs as the published one did.

SHELXL writes its scheme as `_refine_ls_weighting_details
'w=1/[\\s^2^(Fo^2^)+(0.0414P)^2^+1.1870P] where P=(Fo^2^+2Fc^2^)/3'` (WGHT a b, the b term left
out when 0, the whole `+(aP)^2^...` left out for WGHT 0 0); Olex2's olex2.refine and CRYSTALS'
'Modified Sheldrick' write the same form, some with F~o~ subscripts, max(Fo^2^,0) or
[...] brackets, `0.0412*P`, or P in the SHELXL manual's order ([2Fc^2^+Max(Fo^2^,0)]/3), and
older CIFs give it on `_refine_ls_weighting_scheme` itself ('calc w=...'). SHELXL-93 era
CIFs write σ²(Fo²) as `\\s^2^(F~o~)^2^`, one without the 'w =' (../shared/data/corpus
sfarchiv2_2004804, sfarchiv2_2004970, codtools_2006998, all Fsqd): read where P's definition
says it is SHELXL's scheme.
w = 1/σ²(Fo²) alone is WGHT 0 0 however written: TEXSAN's `w=1/\\s^2^(F^2^~obs~)` (no
brackets), XD's `calc w2 = 1/[s^2^(Fo^2^)]`, CIF core's scheme 'sigma' (weights from the su)
where the block refines on Fsqd. Anything else (weights on F, CRYSTALS' Chebyshev polynomials,
'unit', JANA's w=1/(σ²(I)+uI²), 'calc' without details) names no WGHT: it is said, and SHELXL's
default is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import gemmi

DETAILS_TAG = "_refine_ls_weighting_details"
SCHEME_TAG = "_refine_ls_weighting_scheme"

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
# w=1/[σ²(Fo²)+(aP)²+bP], on the text with spaces, ~ subscripts and 'calc'/'Method=' dropped
_SHELXL = re.compile(
    r"(?:w\d?=)?1/(\[)?\\s\^2\^(?:\(Fo?\^2\^\)|(\(Fo\)\^2\^))"  # σ²(Fo²), σ²(F²); σ²(Fo)²
    rf"(?:\+\({_NUMBER}\*?P\)\^2\^)?"  # (aP)²
    rf"(?:\+{_NUMBER}\*?P)?(?(1)\])"  # bP; the brackets may go round σ²(Fo²) alone
    r"(?:,?(?:where|with)P=(.*)|,?w(?:h(?:e(?:re?)?)?)?)?$"  # P's definition, or its start cut off
)
# P = (Fo² + 2Fc²)/3 as SHELXL writes it (either order), max(Fo²,0) in place of Fo², ( ) or [ ]
_FO = r"(?:max\(Fo\^2\^,0\)|max\(0,Fo\^2\^\)|Fo\^2\^)"
_THIRD = re.compile(rf"^[\(\[](?:{_FO}\+2Fc\^2\^|2Fc\^2\^\+{_FO})[\)\]]/3\.?$")
# P = f·Fo² + (1 − f)·Fc² (SHELXL's WGHT f other than 1/3)
_GENERAL = re.compile(rf"^{_NUMBER}(?:\*)?Fo\^2\^\+{_NUMBER}(?:\*)?Fc\^2\^\.?$")


@dataclass(frozen=True)
class CifWeighting:
    """What a CIF block says of its weights: the WGHT numbers (a b c d e f) where they are
    SHELXL's form, else None and why not ('' where the block says nothing), and its line."""

    wght: tuple[float, ...] | None = None
    problem: str = ""
    line: int | None = None
    tag: str = DETAILS_TAG


def shelxl_wght(text: str) -> tuple[float, ...] | None:
    """WGHT a b 0 0 0 f of a weighting formula in SHELXL's form; None for any other."""
    flat = re.sub(r"\s+|~", "", text).strip("'\";")
    flat = re.sub(r"max", "max", flat, flags=re.IGNORECASE).rstrip(".;'")  # Max(...)
    flat = re.sub(r"F\^2\^obs|Fobs\^2\^", "Fo^2^", flat)  # TEXSAN's F^2^~obs~
    flat = re.sub(r"(?<=[/\[])s\^2\^", r"\\s^2^", flat)  # XD's s^2^: σ² without its markup
    found = re.search(r"(?:w\d?=)?1/\[?\\s", flat)
    # words before it name the method ('calc', 'Method= Modified Sheldrick'), nothing else
    if found is None or not re.fullmatch(r"[A-Za-z=]*", flat[: found.start()]):
        return None
    match = _SHELXL.match(flat, found.start())
    if match is None:
        return None
    bracket, sloppy, a, b, p = match.groups()
    if sloppy and p is None:  # σ²(Fo)² is σ²(Fo²) only beside SHELXL's P
        return None
    if not bracket and (a or b):  # 1/σ² + (aP)²: not the weight of σ² + (aP)²
        return None
    f = 1 / 3
    if p is not None and not _THIRD.match(p):
        general = _GENERAL.match(p)
        if general is None:
            return None
        f, g = float(general.group(1)), float(general.group(2))
        if abs(f + g - 1) > 1e-3:  # not SHELXL's P: its weights sum to 1
            return None
    return (float(a or 0), float(b or 0), 0.0, 0.0, 0.0, f)


def cif_weighting(block, line_of) -> CifWeighting:
    """The WGHT of a gemmi CIF block's weighting tags (`line_of(tag)`: the tag's line)."""
    details, scheme = block.find_value(DETAILS_TAG), block.find_value(SCHEME_TAG)
    details = gemmi.cif.as_string(details) if details not in (None, "?", ".") else ""
    scheme = gemmi.cif.as_string(scheme) if scheme not in (None, "?", ".") else ""
    tag = DETAILS_TAG if details.strip() else SCHEME_TAG
    text = details.strip() or scheme.strip()
    if not text:
        return CifWeighting()
    wght = shelxl_wght(text)
    if wght is None and _sigma_on_fsqd(block, text):
        wght = (0.0, 0.0, 0.0, 0.0, 0.0, 1 / 3)
    if wght is not None:
        return CifWeighting(wght, "", line_of(tag), tag)
    flat = " ".join(text.split())
    shown = flat if len(flat) <= 60 else flat[:57] + "..."
    why = (
        f"'{shown}' gives no formula"
        if flat.lower() == "calc"
        else f"'{shown}' is not SHELXL's w=1/[σ²(Fo²)+(aP)²+bP]"
    )
    return CifWeighting(None, why, line_of(tag), tag)


def _sigma_on_fsqd(block, text: str) -> bool:
    """Whether the block says 'sigma' alone of a refinement on Fo²: CIF core's
    _refine_ls_weighting_scheme 'sigma' is weights from the measured su, w = 1/σ²(Fo²) where
    _refine_ls_structure_factor_coef is Fsqd, SHELXL's WGHT 0 0 (COD 2102163)."""
    coef = block.find_value("_refine_ls_structure_factor_coef")
    fsqd = coef is not None and gemmi.cif.as_string(coef).strip().lower() == "fsqd"
    return fsqd and text.strip().strip("'\"").lower() == "sigma"
