"""The one schema of the service's requests, checked before any work is done.

The schema is strict (a string is never read as a number or as a list of letters), bounded
(a 400-digit number, 1e30 or Infinity is refused, not computed with) and closed (an unknown
field is a typo, so it is refused rather than ignored). Each violation becomes one
RequestError naming the field, with the offending value quoted only in short.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crystalx_core.assign import HYDROGEN_METHODS, MAX_SITES
from crystalx_core.assign import METHODS as ASSIGN_METHODS
from crystalx_core.errors import RequestError

# 2: an assign request may carry the reflections, a snapshot its wavelength and formula, a site
# its AFIX. The formula, the AFIX, the temperature and the reflections' MERG, OMIT, SHEL, WGHT
# and EXTI, the restraints and the options' max_label_length came to protocol 2
# without a new number: a core from before them refuses a request that has them (extra fields
# are forbidden: one line, "params.options.max_label_length: is not a field of this request");
# acceptable only while no release is tagged, the installer copying plugin and core from one
# checkout. An answer's "parts" and its
# `part`/`fvar` commands (a group declared in a negative PART) came the same way: a plugin from
# before them refuses the whole Apply ("unexpected command"), never applies half of it
PROTOCOL = 2
SUPPORTED = (1, PROTOCOL)  # a client of protocol 1 is answered as before
MAX_LABEL = (
    32  # Olex2 labels are 4 characters, plus a residue suffix; anything longer is not a label
)
MAX_TEXT = 4096  # title and source path
MAX_RESTRAINT = 1_000_000  # characters of one restraint line: a SIMU may name every atom
QUOTE = 40  # characters of a refused value repeated in the error


def _number(limit: float):
    return Annotated[float, Field(allow_inf_nan=False, ge=-limit, le=limit)]


def _whole(low: int, high: int):
    return Annotated[int, Field(ge=low, le=high)]


def _text(longest: int):
    return Annotated[str, Field(min_length=1, max_length=longest)]


# a label is one word of an Olex2 command ('name Q1 C1'): a blank or control character inside
# (a space, a tab, a newline) splits it, and the command names another atom or none
ONE_WORD = r"^[^\s\x00-\x1f\x7f]*$"
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL, pattern=ONE_WORD)]
Element = _text(3)


class _Schema(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, str_strip_whitespace=True)


class SiteIn(_Schema):
    """One atom or peak as Olex2 gives it (occupancy times the site-symmetry factor)."""

    label: Label
    residue: Optional[_whole(0, 99_999)] = None
    element: Optional[Element] = None  # None for a peak
    frac: Annotated[list[_number(1e3)], Field(min_length=3, max_length=3)]
    occupancy: Optional[_number(1e3)] = None
    u_iso: Optional[_number(1e2)] = None
    peak_height: Optional[_number(1e6)] = None
    part: Optional[_whole(-999, 999)] = None
    # protocol 2: the AFIX the atom has in Olex2, olx.xf.au.GetAtomAfix (xlib/asymmunit.cpp
    # LibGetAtomAfix → xlib/catom.cpp TCAtom::GetAfix): a riding H's group code (33 for a
    # methyl's H), 0 for a freely refined H and for the pivot of a riding group
    afix: Optional[_whole(0, 9999)] = None


class Snapshot(_Schema):
    """One structure; the cell's own rules (edges, angles) are checked where it is built."""

    cell: Annotated[list[_number(1e6)], Field(min_length=6, max_length=6)]
    symops: Optional[Annotated[list[_text(80)], Field(max_length=192)]] = None  # None: P1
    sfac: Optional[Annotated[list[Element], Field(max_length=120)]] = None
    unit: Optional[Annotated[list[_number(1e6)], Field(max_length=120)]] = None
    sites: Annotated[list[SiteIn], Field(min_length=1, max_length=MAX_SITES)]
    title: Optional[Annotated[str, Field(max_length=MAX_TEXT)]] = None
    source: Optional[Annotated[str, Field(max_length=MAX_TEXT)]] = None
    wavelength: Optional[Annotated[float, Field(allow_inf_nan=False, gt=0, le=100)]] = None  # Å
    # the published formula as a CIF's _chemical_formula_sum gives it ('Al Ca2 Nb O6'), where the
    # client has one: without H, no H is placed (contents.declared_without_h). Not SFAC/UNIT,
    # which list what a solution found
    formula: Optional[Annotated[str, Field(max_length=MAX_TEXT)]] = None
    # the experiment's temperature in °C, as Olex2's refinement model gives TEMP ("exptl":
    # "temperature"): riding X-H lengths follow it (hydrogens.riding_distance), as for a .res
    temperature: Optional[Annotated[float, Field(allow_inf_nan=False, ge=-273.15, le=1500)]] = None


class ReflectionsIn(_Schema):
    """The reflection file the structure is refined against, as Olex2 knows it: its path
    (olx.HKLSrc()) and how the HKLF instruction reads it (code, scale s, matrix; the
    refinement model's "hklf"), and whether a TWIN instruction applies (with its law, N and
    BASF fractions: the data are refined as twinned)."""

    path: _text(MAX_TEXT)
    hklf: _whole(1, 6) = 4
    scale: Annotated[float, Field(allow_inf_nan=False, gt=0, le=1e6)] = 1.0
    matrix: Optional[
        Annotated[
            list[Annotated[list[_number(1e3)], Field(min_length=3, max_length=3)]],
            Field(min_length=3, max_length=3),
        ]
    ] = None
    twin: bool = False
    # the TWIN instruction's matrix (rows as written) and N, and the BASF fractions, as
    # Olex2's refinement model gives them (model["twin"]: "matrix", "n", "basf", read so by
    # olex2's cctbx_olex_adapter.py); twin without them: SHELXL's default, the inversion, N 2
    twin_matrix: Optional[
        Annotated[
            list[Annotated[list[_number(1e3)], Field(min_length=3, max_length=3)]],
            Field(min_length=3, max_length=3),
        ]
    ] = None
    twin_n: Optional[_whole(-12, 12)] = None
    basf: Optional[Annotated[list[_number(1.0)], Field(max_length=11)]] = None
    # the instructions that choose what is refined, as Olex2's refinement model gives them
    # (xlib/refmodel.cpp PyExport: "merge", "omit" with "s", "2theta" and "hkl", "shel" with
    # "low" and "high"): MERG n (None: SHELXL's 2), OMIT s 2θ where the file sets them, each
    # OMIT h k l, SHEL low high
    merge: Optional[_whole(-99, 99)] = None
    omit_s: Optional[_number(1e3)] = None
    omit_2theta: Optional[_number(1e3)] = None
    omit_hkl: Optional[
        Annotated[
            list[Annotated[list[_whole(-999, 9999)], Field(min_length=3, max_length=3)]],
            Field(max_length=100_000),
        ]
    ] = None
    shel: Optional[Annotated[list[_number(1e6)], Field(min_length=2, max_length=2)]] = None
    # the weighting scheme and extinction the final refinement uses, as Olex2's refinement model
    # gives them (refmodel.cpp PyExport: "weight", the WGHT's numbers as written, none without
    # a WGHT; "exti" only under EXTI): applied as a .res's WGHT and EXTI are
    # (pipeline.with_input_weights)
    weight: Optional[Annotated[list[_number(1e6)], Field(min_length=1, max_length=6)]] = None
    exti: Optional[_number(1e6)] = None
    # the restraints and constraints the structure's refinement holds, one SHELX line each with
    # every atom by its site label ('DFIX 1.54 0.02 C1 C2', 'EADP C1 C2'), as the plugin writes
    # Olex2's refinement model (refmodel.cpp PyExport: "dfix", "sadi", ..., "eadp", "exyz"):
    # applied as a .res's own lines are (io.shelx_restraints)
    restraints: Optional[Annotated[list[_text(MAX_RESTRAINT)], Field(max_length=100_000)]] = None


class Options(_Schema):
    method: Literal[ASSIGN_METHODS] = "auto"
    hydrogens: Literal[HYDROGEN_METHODS] = "auto"
    top_k: _whole(1, 120) = 5
    delete_peaks: bool = False
    # Olex2's option max_label_length (xlib/xapp.cpp TXApp::GetMaxLabelLength: 4 unless the
    # user set it), which its label corrector trims to: the answer's labels fit it
    max_label_length: _whole(1, MAX_LABEL) = 4


class PlanSite(_Schema):
    """A site as the user has reviewed it; an empty new_label asks for a fresh one."""

    label: Label
    element: Element
    new_label: Optional[Annotated[str, Field(max_length=MAX_LABEL, pattern=ONE_WORD)]] = None
    h_count: _whole(0, 4) = 0


class Plan(_Schema):
    sites: Annotated[list[PlanSite], Field(max_length=MAX_SITES)]
    delete: Optional[Annotated[list[Label], Field(max_length=MAX_SITES)]] = None


class NoParams(_Schema):
    pass


class AssignParams(_Schema):
    structure: Snapshot
    options: Optional[Options] = None
    reflections: Optional[ReflectionsIn] = None  # protocol 2


class ApplyPlanParams(_Schema):
    structure: Snapshot
    plan: Plan


PARAMS = {
    "ping": NoParams,
    "assign": AssignParams,
    "apply-plan": ApplyPlanParams,
    "shutdown": NoParams,
}
METHODS = tuple(PARAMS)
_ID = TypeAdapter(
    Optional[Union[Annotated[str, Field(max_length=200)], _whole(-(2**63), 2**63 - 1)]],
    config=ConfigDict(strict=True),
)


class Envelope(_Schema):
    protocol: int
    id: Any = None  # checked by answer_id: echoed back, so only a short string or a whole number
    method: Annotated[str, Field(max_length=40)]
    params: Optional[dict[str, Any]] = None


def read_request(raw: Any) -> tuple[str, BaseModel]:
    """(method, its validated params) of one decoded request line."""
    envelope = validate(Envelope, raw)
    if envelope.protocol not in SUPPORTED:
        raise RequestError(
            "bad-protocol",
            f"protocol {describe(envelope.protocol)} unsupported; this service speaks "
            f"{' and '.join(str(v) for v in SUPPORTED)}",
        )
    if envelope.id is not None and answer_id(raw) is None:
        raise RequestError(
            "bad-request",
            f"id: should be a string of at most 200 characters, a whole number or "
            f"null, not {describe(envelope.id)}",
        )
    if envelope.method not in PARAMS:
        raise RequestError(
            "unknown-method",
            f"method {quote(envelope.method)} unknown (one of {', '.join(METHODS)})",
        )
    params = validate(PARAMS[envelope.method], envelope.params or {}, ("params",))
    if envelope.protocol < 2:
        _protocol_1(params)
    return envelope.method, params


def _protocol_1(params: BaseModel) -> None:
    """A protocol 1 request holds none of protocol 2's fields (its client cannot mean them)."""
    if getattr(params, "reflections", None) is not None:
        raise RequestError("bad-request", "params.reflections: needs protocol 2, not 1")
    structure = getattr(params, "structure", None)
    for name in ("wavelength", "formula", "temperature"):
        if structure is not None and getattr(structure, name) is not None:
            raise RequestError("bad-request", f"params.structure.{name}: needs protocol 2, not 1")
    for k, site in enumerate(structure.sites if structure is not None else ()):
        if site.afix is not None:
            raise RequestError(
                "bad-request", f"params.structure.sites[{k}].afix: needs protocol 2, not 1"
            )


def answer_id(raw: Any):
    """The id to answer with: the request's own when it is a valid id, else None."""
    try:
        return _ID.validate_python(raw.get("id")) if isinstance(raw, dict) else None
    except ValidationError:
        return None


def validate(schema: type[BaseModel], raw: Any, where: tuple = ()):
    """`raw` (found at `where` in the request) as `schema`, or a RequestError naming the
    first field at fault."""
    try:
        return schema.model_validate(raw)
    except ValidationError as failure:
        problems = failure.errors(include_url=False)
        first = problems[0]
        path = where + tuple(first["loc"])
        more = f" (and {_count(len(problems) - 1, 'more problem')})" if len(problems) > 1 else ""
        raise RequestError(
            _code(path, first["type"]), f"{_field(path, raw, where)}: {_wrong(first)}{more}"
        ) from None


def _code(path: tuple, kind: str) -> str:
    if path[:1] == ("protocol",):
        return "bad-protocol"
    if path == ("params", "structure", "sites") and kind == "too_long":
        return "too-large"
    if path[-1:] == ("new_label",) and kind == "string_pattern_mismatch":
        return "bad-label"  # a new label Olex2 cannot take, as olex2.py's checks answer
    return {"structure": "bad-snapshot", "plan": "bad-plan", "options": "bad-options"}.get(
        path[1] if len(path) > 1 and path[0] == "params" else "", "bad-request"
    )


def _field(path: tuple, raw: Any, where: tuple) -> str:
    """params.structure.sites[3].part (site 'C7'): the path as the client wrote it, with the
    label of the site or plan entry it lies in."""
    text = "".join(
        f"[{step}]"
        if isinstance(step, int)
        else f"[{quote(step)}]"
        if not _plain(step)
        else f".{step}"
        if k
        else step
        for k, step in enumerate(path)
    )
    steps, node, label = path[len(where) :], raw, ""
    previous_steps = path[len(where) - 1 :] if where else (None,) + steps
    for previous, step in zip(previous_steps, steps):
        node = node[step] if _holds(node, step) else None
        if (
            previous == "sites"
            and isinstance(node, dict)
            and isinstance(node.get("label"), str)
            and path[-1] != "label"
        ):
            label = f" (site {quote(node['label'])})"
    return (text or "request") + label


def _plain(key: str) -> bool:
    return key.isidentifier() and len(key) <= QUOTE


def _holds(node, step) -> bool:
    return (isinstance(node, dict) and step in node) or (
        isinstance(node, list) and isinstance(step, int) and -len(node) <= step < len(node)
    )


def _wrong(problem: dict) -> str:
    """What is wrong with the value, in the client's JSON terms."""
    kind, value, context = problem["type"], problem["input"], problem.get("ctx", {})
    seen = f", not {describe(value)}"
    if (
        kind == "float_type" and isinstance(value, int) and not isinstance(value, bool)
    ):  # too big for a float
        return f"{describe(value)} is out of range"
    wanted = {
        "dict_type": "an object",
        "model_type": "an object",
        "list_type": "a list",
        "string_type": "a string",
        "int_type": "a whole number",
        "float_type": "a number",
        "bool_type": "true or false",
    }
    if kind in wanted:
        return f"should be {wanted[kind]}{seen}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "finite_number":
        return "is NaN or infinity"
    if kind == "string_pattern_mismatch":  # ONE_WORD, the only pattern
        return f"should be one word, no blank or control character in it (an Olex2 command's){seen}"
    if kind == "literal_error":
        return f"should be {context['expected']}{seen}"
    if kind in ("too_short", "too_long"):
        bound = (
            f"needs at least {context['min_length']}"
            if kind == "too_short"
            else f"takes at most {context['max_length']}"
        )
        return f"holds {_count(context['actual_length'], 'item')}; {bound}"
    if kind in ("string_too_short", "string_too_long"):
        bound = (
            f"at least {context['min_length']}"
            if kind == "string_too_short"
            else f"at most {context['max_length']}"
        )
        return f"should be {bound} characters{seen}"
    signs = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in signs:
        limit = next(iter(context.values()))
        return (
            f"should be {signs[kind]} {limit:g}{seen}"
            if isinstance(limit, float)
            else f"should be {signs[kind]} {limit}{seen}"
        )
    return f"{problem['msg']}{seen}"


def describe(value: Any) -> str:
    """A short, JSON-flavoured account of a value: never the whole of a huge one, and never
    recursing into nesting (a 1,000-deep list is described at its top)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return (
            str(value)
            if value.bit_length() <= 64
            else f"an integer of {len(str(abs(value)))} digits"
        )
    if isinstance(value, float):
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return f"a list of {_count(len(value), 'item')}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def quote(text: str) -> str:
    """'text', cut to QUOTE characters with the full length said."""
    return repr(text) if len(text) <= QUOTE else f"{text[:QUOTE]!r}… ({len(text)} characters)"
