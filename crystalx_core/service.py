"""The core as a long-lived process for the Olex2 plugin: JSON lines over stdin/stdout.

    crystalx serve --stdio

One request per line, one reply per line, in order. A request is
    {"protocol": 1, "id": str | int | null, "method": "ping" | "assign" | "apply-plan" | "shutdown",
     "params": {...}}
and its reply {"protocol": 1, "id": same, "result": {...}} or {"protocol": 1, "id": same,
"error": {"code": str, "message": str}}. Every request is checked against one schema
(`crystalx_core.protocol`) before any work; a bad request or a bad line gets an error reply
whose code says which kind (bad-json, bad-request, bad-protocol, unknown-method, bad-snapshot,
bad-plan, bad-label, bad-options, too-large, failed) and whose message names the field, and the
service keeps running; the models stay loaded between requests.

`assign` takes one structure snapshot (cell, symmetry operators, SFAC/UNIT and sites with
label, element or null for a peak, fractional xyz, peak height, occupancy as Olex2 and SHELX
give it (times the site-symmetry factor), Uiso, part, residue; from protocol 2 the wavelength
of the CELL card, each H's AFIX and the published formula, _chemical_formula_sum, where the
client has one: without H, `assign` places none, with a note; `apply-plan` places a reviewed
plan's H with a warning) and answers per site the element with its top-k probabilities, the H count
with probabilities, the HFIX code, and the exact Olex2 commands that apply it: the answer of
the job behind `crystalx assign` (pipeline.assign_job), with its H notes by new label
("notes") and what the job had to give up on ("job_notes", as its JSON's "notes").

From protocol 2 an `assign` request may name the structure's reflection file ("reflections":
path, HKLF code, scale and matrix, TWIN, and MERG, OMIT, SHEL, WGHT and EXTI as Olex2's
refinement model holds them, applied by the rules an .ins's own lines go through:
io.data_limits.instructed, pipeline.with_input_weights):
the job is then `crystalx assign --hkl`'s, each
site's "evidence" says what the data say about its element, "job_notes" list every change the
data made, and "reflections" names the file used. A file that is missing, unreadable, of a
kind CrystalX does not refine (HKLF 6) or that the model does not explain is left
out: the answer is the model's alone, with one note naming the file. `apply-plan` takes the same
snapshot and a plan the user may have edited (element, label and H count per site, peaks to
delete) and answers the commands for that plan. Peaks judged spurious are listed; `assign`
deletes them only with the option delete_peaks (Q-peaks are harmless and refinement
recomputes them). Atoms that already carry H keep them and get no `hadd`; such a site is
marked "h_kept" and its "hfix" is the AFIX its H ride under as the snapshot gives them (a
site's "afix", protocol 2: Olex2's GetAtomAfix of each H), 0 where none was sent. A group the
job declares in a negative PART of its own (special_disorder: one orientation of a molecule
disordered about a special position, sent outside PART) is listed in "parts" (new labels,
PART, free variable or 0, occupancy) and declared by `part` and `fvar` commands before `hadd`.

Labels need only be unique per residue (SHELX RESI): a site of residue n > 0 is named in
the answer and in the commands as Olex2 addresses it (C1_2), and `name C1_2 N1` renames it
within its residue.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from contextlib import suppress
from dataclasses import replace
from typing import IO

from crystalx_core import __version__
from crystalx_core.assign import apply_assignment
from crystalx_core.assign.labels import element_labels
from crystalx_core.assignment import Assignment, SiteAssignment, annotate
from crystalx_core.contents import declared_without_h, formula_counts
from crystalx_core.elements import is_hydrogen, is_metal, normalise_symbol
from crystalx_core.errors import STDOUT, CrystalXError, InputError, OutputError, RequestError
from crystalx_core.hydrogens import hfix_groups
from crystalx_core.io import read_reflections as read_reflections_file
from crystalx_core.io.data_limits import Limit, instructed
from crystalx_core.io.files import JsonBeyondLimits, json_value
from crystalx_core.io.stated_r1 import file_stated_r1
from crystalx_core.io.hkl import (
    INVERSION,
    REFINED_HKLF,
    TWIN_WITH_HKLF5,
    HklfFormat,
    Reflections,
    Twin,
    xray_problem,
)
from crystalx_core.io.pairing import pairing_problem, within_ewald_limit
from crystalx_core.io.shelx_read import checked_twin
from crystalx_core.io.shelx_restraints import GivenRestraints
from crystalx_core.io.shelx_write import hfix_lines
from crystalx_core.geometry import (
    Contact,
    bonded_h_contacts,
    chemical_occupancies,
    held_h_counts,
)
from crystalx_core.olex2 import olex2_commands, olex2_hadd
from crystalx_core.pipeline import JobResult, assign_job
from crystalx_core.protocol import MAX_SITES  # noqa: F401  (the service's limit, as its clients read it)
from crystalx_core.protocol import (
    PROTOCOL,
    Options,
    Plan,
    SUPPORTED,
    ReflectionsIn,
    SiteIn,
    Snapshot,
    answer_id,
    quote,
    read_request,
    validate,
)
from crystalx_core.residues import residue_address, residue_suffix
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.structure import Site, Structure, cell_problem
from crystalx_core.symmetry import full_operator_list, space_group_from_operators

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a 20,000-site snapshot is about 3 MB
MAX_MESSAGE = 1000  # characters of an error message: a reply never carries a huge input back


# --- snapshot → Structure ------------------------------------------------------------------


def structure_from_snapshot(snapshot: dict | Snapshot) -> Structure:
    """Validate a snapshot and build the structure; every problem names the field."""
    if not isinstance(snapshot, Snapshot):
        snapshot = validate(Snapshot, snapshot, ("params", "structure"))
    cell = list(snapshot.cell)
    problem = cell_problem(cell)
    if problem:
        raise RequestError("bad-snapshot", problem)
    try:
        ops = full_operator_list(space_group_from_operators(snapshot.symops or ["x,y,z"]))
    except InputError as error:
        raise RequestError("bad-snapshot", f"symops: {error}") from None
    try:
        sfac = [normalise_symbol(s) for s in snapshot.sfac or []]
        sites = [_site(raw, k + 1) for k, raw in enumerate(snapshot.sites)]
    except InputError as error:
        raise RequestError("bad-snapshot", error.one_line()) from None
    labels = [s.label.upper() for s in sites]
    if len(set(labels)) != len(labels):
        duplicate = next(lab for lab in labels if labels.count(lab) > 1)
        raise RequestError("bad-snapshot", f"label {duplicate} appears more than once")
    unit = list(snapshot.unit or [])
    if len(unit) != len(sfac):
        raise RequestError(
            "bad-snapshot", f"{len(sfac)} SFAC elements but {len(unit)} UNIT numbers"
        )
    structure = Structure(
        cell=tuple(cell),
        symops=ops,
        sites=sites,
        sfac=sfac,
        unit=unit,
        title=snapshot.title or "",
        source=snapshot.source or "olex2",
    )
    if snapshot.wavelength is not None:
        structure.wavelength = snapshot.wavelength
    if snapshot.temperature is not None:
        structure.temperature_c = snapshot.temperature
    if snapshot.formula is not None:  # the published one: a formula without H gets no H placed
        structure.declared_no_h = declared_without_h(structure, formula_counts(snapshot.formula))
    # Olex2's occupancy carries the site-symmetry factor, as SHELX's sof; the core's is chemical
    for site, occupancy in zip(
        structure.sites, chemical_occupancies(structure, [s.occupancy for s in sites])
    ):
        site.occupancy = occupancy
    return structure


def _site(raw: SiteIn, number: int) -> Site:
    """The snapshot's `number`th site (from 1), its Site.line: the restraints a request sends
    follow each site by it to the job's label (io.shelx_restraints.sent_restraints)."""
    label = residue_address(raw.label, raw.residue or 0)
    element = normalise_symbol(raw.element, f"site {label}") if raw.element is not None else None
    site = Site(label=label, element=element, frac=tuple(raw.frac), line=number)
    for key in ("occupancy", "u_iso", "peak_height", "part"):
        if getattr(raw, key) is not None:
            setattr(site, key, getattr(raw, key))
    if raw.afix is not None and element is not None and is_hydrogen(element):
        # an H's AFIX in Olex2 is its riding group's (xlib/catom.cpp TCAtom::GetAfix), as a
        # .res gives it; a pivot's is 0 there, but the AFIX line's code in a .res: not taken
        site.afix = raw.afix
    return site


# --- answers -------------------------------------------------------------------------------


def assign_result(
    structure: Structure, options: Options, reflections: ReflectionsIn | None = None
) -> dict:
    """Elements, H counts and riding-H plan for a snapshot, with the Olex2 commands: the
    answer of the same job as `crystalx assign`, or with the reflections `crystalx assign
    --hkl` (pipeline.assign_job: one evidence stage for both), the refinement holding the
    restraints and constraints the request sends as the command line holds the .ins's. Data
    that cannot be used leave the model's answer and a note naming the file; the verdict
    weighs the final R1 against the R1 the open file states (its snapshot source). Labels
    follow the user's Olex2 max_label_length, which the request's options carry."""
    structure = replace(structure, max_label=options.max_label_length)
    job = None
    data, why = read_reflections(reflections, structure) if reflections else (None, None)
    if data is not None:
        from crystalx_core.crystallography.weights import olex2_setup  # smtbx: when refining

        try:
            # no .res is written here: no WGHT to suggest for it
            job = assign_job(
                structure,
                data,
                options.method,
                hydrogens=options.hydrogens,
                olex2_model=True,
                suggest=False,
                stated_r1=file_stated_r1(structure.source),  # the open file's own R1
                # the WGHT and EXTI Olex2 holds, refined with as `crystalx assign --hkl`
                # refines with the .ins's (pipeline.with_input_weights)
                given_weights=olex2_setup(reflections.weight, reflections.exti),
                # and its restraints and constraints, as the .ins's (io.shelx_restraints)
                given_restraints=GivenRestraints(
                    tuple(reflections.restraints), tuple(structure.sites)
                )
                if reflections.restraints
                else None,
            )
        except CrystalXError as error:  # the same snapshot without the data is still answered
            why = _left_out(data.path, error.message)
        else:
            if job.failure:
                why, job = _left_out(data.path, job.failure), None
    if job is None:
        job = assign_job(
            structure, method=options.method, hydrogens=options.hydrogens, olex2_model=True
        )
    notes = ([why] if why else []) + job.notes
    declared = declared_parts(structure, job.assigned, job.assignment)
    result = _result(
        job.assigned,
        job.assignment,
        options.top_k,
        options.delete_peaks,
        notes,
        declared,
        job.repeated_peaks,
    )
    result["reflections"] = _data_summary(data.path, job) if job.final else None
    return result


def read_reflections(
    given: ReflectionsIn, structure: Structure
) -> tuple[Reflections | None, str | None]:
    """(the reflections, None), or (None, one line naming the file and why it is left out)."""
    path = given.path
    if given.hklf not in REFINED_HKLF:
        return None, _left_out(
            path,
            f"HKLF {given.hklf} data; CrystalX refines HKLF 4 or 3 (with TWIN) or HKLF 5 only",
        )
    if given.hklf == 5 and given.twin:
        return None, _left_out(path, TWIN_WITH_HKLF5)
    problem = xray_problem(structure.wavelength)
    if problem:
        return None, _left_out(path, problem)
    matrix = tuple(tuple(row) for row in given.matrix) if given.matrix else None
    try:
        twin = _twin(given) if given.twin else None
        if given.hklf == 5:  # the BASF of HKLF 5 data: its components' fractions, as Olex2's
            # model["hklf"]["basf"] gives them (olex2's cctbx_olex_adapter.py)
            twin = Twin(fractions=tuple(given.basf or ()), where=path, hklf5=True)
        hklf = HklfFormat(given.hklf, given.scale, matrix, twin=twin)
        reflections = read_reflections_file(path, hklf)
    except InputError as error:
        return None, _left_out(path, error.message, error.line)
    problem = pairing_problem(structure, reflections)
    if problem:
        return None, _left_out(path, f"not this structure's: {problem}")
    reflections = within_ewald_limit(structure, reflections)
    try:  # as `crystalx assign --hkl` applies the .ins's own (io.data_limits.limited)
        reflections = instructed(
            reflections,
            olex2_limits(given),
            2 if given.merge is None else given.merge,
            structure.cell,
            structure.symops,
            structure.wavelength,
        )
    except InputError as error:
        return None, _left_out(path, error.message)
    return reflections, None


def olex2_limits(given: ReflectionsIn) -> list[Limit]:
    """The request's OMIT s 2θ, OMIT h k l and SHEL as the lines of a .res would give them, so
    that one rule (io.data_limits.instructed) applies them for the plugin and the command line."""
    where = {"path": "Olex2's refinement model", "where": "Olex2's refinement model"}
    limits = []
    if given.omit_s is not None or given.omit_2theta is not None:
        numbers = [-2.0 if given.omit_s is None else given.omit_s]  # SHELXL's default s
        numbers += [] if given.omit_2theta is None else [given.omit_2theta]
        limits.append(Limit("OMIT", tuple(f"{v:g}" for v in numbers), **where))
    for hkl in given.omit_hkl or ():
        limits.append(Limit("OMIT", tuple(str(v) for v in hkl), **where))
    if given.shel is not None:
        limits.append(Limit("SHEL", tuple(f"{v:g}" for v in given.shel), **where))
    return limits


def _twin(given: ReflectionsIn) -> Twin:
    """The request's TWIN, checked by the rules the .ins reader uses (shelx_read.checked_twin)."""
    numbers = [f"{v:g}" for row in given.twin_matrix or () for v in row]
    if given.twin_n is not None:
        numbers = (numbers or [str(v) for row in INVERSION for v in row]) + [str(given.twin_n)]
    try:
        return checked_twin(numbers, [f"{v:g}" for v in given.basf or ()], given.path)
    except InputError as error:
        raise InputError(f"the request's {error.message}", given.path) from None


def _left_out(path: str, why: str, line: int | None = None) -> str:
    where = f"{path}:{line}" if line else path
    return f"reflections {where} not used ({why}); elements and H are the model's alone"


def _data_summary(path: str, job: JobResult) -> dict:
    """What the answer says about the data used: the file, the final fit and the changes."""
    final = job.final
    return {
        "path": path,
        "r1": round(final.r1, 4),
        "wr2": round(final.wr2, 4),
        "reflections": final.n_reflections,
        "parameters": final.n_parameters,  # fewer under the constraints refined with (EADP)
        "changed": sum(
            1
            for s in job.assignment.sites
            if s.evidence and s.evidence["before"] != s.evidence["decision"]
        ),
    }


def apply_plan_result(structure: Structure, plan: Plan) -> dict:
    """The commands for a plan the user has reviewed: elements, labels, H counts, deletions."""
    index = {s.label.upper(): i for i, s in enumerate(structure.sites)}
    chosen: dict[int, SiteAssignment] = {}
    for k, entry in enumerate(plan.sites):
        if entry.label.upper() not in index:
            raise RequestError(
                "bad-plan", f"plan.sites[{k}] ({quote(entry.label)}) names no site of the structure"
            )
        i = index[entry.label.upper()]
        if i in chosen:  # two reviews of one site: which the user meant is not ours to pick
            first = next(
                j for j, e in enumerate(plan.sites) if e.label.upper() == entry.label.upper()
            )
            raise RequestError(
                "bad-plan",
                f"plan.sites[{k}] ({quote(entry.label)}) names the site of plan.sites[{first}] "
                "again: one entry per site",
            )
        try:
            element = normalise_symbol(entry.element, f"plan site {entry.label}")
        except InputError as error:
            raise RequestError("bad-plan", f"plan.sites[{k}]: {error}") from None
        h_count = entry.h_count
        new_label = entry.new_label or ""
        if new_label and not residue_suffix(new_label):  # a new label stays in the site's residue
            new_label += residue_suffix(structure.sites[i].label)
        chosen[i] = SiteAssignment(
            index=i,
            label=structure.sites[i].label,
            element=element,
            new_label=new_label,
            h_count=h_count,
        )
    missing = [chosen[i] for i in chosen if not chosen[i].new_label]
    fresh = element_labels(structure, {s.index: s.element for s in missing}) if missing else {}
    for s in missing:
        s.new_label = fresh[s.index]
    dropped_labels = {lab.upper() for lab in plan.delete or []}
    unknown = dropped_labels - set(index)
    if unknown:
        raise RequestError("bad-plan", f"plan.delete names no site: {', '.join(sorted(unknown))}")
    both = sorted(
        structure.sites[i].label for i in chosen if i in {index[x] for x in dropped_labels}
    )
    if both:  # `kill C1` then `name C1 N1`: Olex2 would rename an atom it has just deleted
        raise RequestError(
            "bad-plan", f"plan.sites and plan.delete both name {', '.join(both)}: keep or delete"
        )
    assignment = Assignment(
        method="plan",
        sites=[chosen[i] for i in sorted(chosen)],
        dropped=sorted(index[lab] for lab in dropped_labels),
    )
    # the user reviewed the plan: its H counts stand even against a formula without H, with a
    # warning (the job and `assign` place none there: contents.held_to_formula)
    given = [s.new_label for s in assignment.sites if s.h_count]
    warnings = []
    if structure.declared_no_h and given:
        planned = ", ".join(given)
        warnings.append(f"{structure.declared_no_h}, yet the plan gives H to {planned}: placed")
    annotate(
        assignment,
        add_riding_hydrogens(apply_assignment(structure, assignment), assignment.h_counts()),
    )
    return _result(structure, assignment, 5, True, warnings)


def declared_parts(given: Structure, assigned: Structure, assignment: Assignment) -> list[dict]:
    """The groups the job put in a negative PART of their own (special_disorder.declared)
    where the snapshot had them outside PART, by the labels the answer gives their non-H
    atoms: PART, the free variable the job numbered for them (0: the occupancy stays as given)
    and that occupancy, so that the client declares them as the job reads them."""
    before = {s.label.upper(): s.part for s in given.sites}
    groups: dict[int, list[int]] = {}
    for s in assignment.sites:
        site = assigned.sites[s.index]
        if site.part < 0 and before.get(site.label.upper()) == 0:
            groups.setdefault(site.part, []).append(s.index)
    new_label = {s.index: s.new_label for s in assignment.sites}
    return [
        {
            "labels": [new_label[i] for i in members],
            "part": part,
            "free_variable": abs(assigned.sites[members[0]].free_variable),
            "occupancy": round(assigned.sites[members[0]].occupancy, 4),
        }
        for part, members in sorted(groups.items(), reverse=True)
    ]


def _result(
    structure: Structure,
    assignment: Assignment,
    top_k: int,
    delete_peaks: bool,
    job_notes: list[str] = (),
    declared: list[dict] = (),
    repeats: list[str] = (),
) -> dict:
    """The answer for an annotated assignment of `structure` (the sites its indices point
    into); `repeats`, the Q-peaks the job left out as repeats, are deleted by its commands.
    Atoms that already carry H keep them: no HFIX, no hadd, a note instead, and as their code
    the one their H ride under in Olex2 (kept_code), not the job's. The carriers
    are the atoms geometry.bonded_h_contacts hangs an H on, as riding.input_groups (the CLI's
    and the audit's kept AFIX) does: each H on one atom, the nearest within reach that SHELX's
    PART rules let it bond to; not the acceptor of an O-H...O, nor an atom within reach of an
    H of another PART, which may still need its own. A hydride the user refined on a metal is
    the metal's, as the command line counts it (hydrides=True), and the job's note on it stays."""
    held = bonded_h_contacts(structure, hydrides=True)
    carriers = set(held)
    pivots = [i for i, site in enumerate(structure.sites) if not is_hydrogen(site.element)]
    holds = dict(zip(pivots, held_h_counts(structure, held)))  # counted as the pivots are
    for s in assignment.sites:
        if s.index in carriers:
            job_note = s.note
            s.hfix, s.note = kept_code(structure, held.get(s.index, []))
            if is_metal(s.element) and job_note:  # whether the map showed the hydride
                s.note += f"; {job_note}"
            if holds[s.index] != s.h_count:
                # the user's H are left alone, but a count the job disagrees with is what a
                # reviewer wants to see (a CH2 given one H by hand, an NH where NH2 fits)
                s.note += f"; holds {holds[s.index]} H where the job expects {s.h_count}"
    codes = assignment.hfix_codes(leave_out=carriers)
    groups = hfix_groups(codes)
    to_apply = assignment if delete_peaks else Assignment(assignment.method, assignment.sites, [])
    # pivots whose plain `hadd CODE` would not give the core's groups name their bonds
    explicit = {s.new_label: olex2_hadd(s.new_label, s.bonds) for s in assignment.sites}
    plain = hfix_groups({label: c for label, c in codes.items() if not explicit.get(label)})
    return {
        "method": assignment.method,
        "sites": [
            {**s.to_dict(top_k), "h_kept": True} if s.index in carriers else s.to_dict(top_k)
            for s in assignment.sites
        ],
        "spurious": [structure.sites[i].label for i in assignment.dropped],
        "hfix": [[code, labels] for code, labels in groups],
        "hfix_lines": hfix_lines(groups),
        "commands": olex2_commands(structure, to_apply, plain, declared, repeats)
        + [command for label in codes for command in explicit.get(label, [])],
        "parts": list(declared),
        "notes": assignment.notes(),
        "job_notes": list(job_notes),
    }


def kept_code(structure: Structure, held: list[Contact]) -> tuple[int, str]:
    """(code, note) of an atom that keeps the H it holds (`held`: geometry.bonded_h_contacts',
    each H on the one atom it rides on, not an H of a neighbour or of another PART within
    reach): the AFIX they ride under as the client sent it (protocol 2's site afix, Olex2's
    GetAtomAfix), 0 where they are refined freely, ride under different codes or the client
    sent none."""
    codes = sorted({structure.sites[c.j].afix for c in held})
    if not any(codes):
        return 0, "already carries H; left as it is"
    shown = ", ".join(str(code) for code in codes if code)
    return (codes[0] if len(codes) == 1 else 0), f"already carries H (AFIX {shown}); left as it is"


# --- the loop ------------------------------------------------------------------------------


def handle(request) -> tuple[dict, bool]:
    """(reply, keep running) for one decoded request."""
    method, params = read_request(request)
    if method == "ping":
        return {"version": __version__, "protocol": PROTOCOL, "protocols": list(SUPPORTED)}, True
    if method == "shutdown":
        return {"bye": True}, False
    structure = structure_from_snapshot(params.structure)
    if method == "assign":
        return assign_result(structure, params.options or Options(), params.reflections), True
    return apply_plan_result(structure, params.plan), True


def reply_to(line: bytes) -> tuple[dict, bool]:
    """Decode one request line and answer it; never raises."""
    request_id = None
    try:
        if len(line) > MAX_REQUEST_BYTES:
            raise RequestError(
                "too-large", f"request of {len(line)} bytes; the limit is {MAX_REQUEST_BYTES}"
            )
        try:
            request = json_value(line, object_pairs_hook=_one_value_per_key)
        except JsonBeyondLimits as error:  # 1e5 brackets deep, an id of 5,000 digits
            raise RequestError("bad-json", f"not JSON this service reads: {error}") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError("bad-json", f"not JSON: {error}") from None
        request_id = answer_id(request)
        start = time.perf_counter()
        result, keep_running = handle(request)
        result["seconds"] = round(time.perf_counter() - start, 4)
        return {"protocol": PROTOCOL, "id": request_id, "result": result}, keep_running
    except RequestError as error:
        return _error(request_id, error.code, error.message), True
    except CrystalXError as error:
        return _error(request_id, "failed", error.one_line()), True
    except Exception as error:  # noqa: BLE001  (a bug must not end the service: answer, log the traceback)
        with suppress(OSError):  # a log on a full disk must not end the service either
            traceback.print_exc(file=sys.stderr)
        return _error(request_id, "internal", f"{type(error).__name__}: {error}"), True


def _one_value_per_key(pairs: list) -> dict:
    """A JSON object of `pairs`; a key given twice is refused: json.loads kept the last
    ('"method": "shutdown", "method": "ping"' was a ping), which the client may not have meant."""
    found = dict(pairs)
    if len(found) < len(pairs):
        seen = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise RequestError("bad-json", f"key {quote(twice)} given twice in one object")
    return found


def _error(request_id, code: str, message: str) -> dict:
    if len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}… ({len(message)} characters)"
    return {"protocol": PROTOCOL, "id": request_id, "error": {"code": code, "message": message}}


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Answer request lines until shutdown or end of input (the client went away)."""
    while True:
        line = stdin.readline(MAX_REQUEST_BYTES + 2)
        if not line:
            return 0
        if len(line) > MAX_REQUEST_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                line = stdin.readline(MAX_REQUEST_BYTES)
            reply, keep_running = (
                _error(None, "too-large", f"request over {MAX_REQUEST_BYTES} bytes"),
                True,
            )
        elif not line.strip():
            continue
        else:
            reply, keep_running = reply_to(line)
        try:
            answer = json.dumps(reply).encode()
        except (
            TypeError,
            ValueError,
        ) as error:  # a result that is not JSON is our bug: say so, go on
            answer = json.dumps(
                _error(reply.get("id"), "internal", f"unwritable answer: {error}")
            ).encode()
        try:
            stdout.write(answer + b"\n")
            stdout.flush()
        except BrokenPipeError:
            return 0
        except OSError as error:  # a full disk under a redirected stdout: no client can read us
            raise OutputError(
                f"cannot write the answer: {error.strerror or error}",
                STDOUT,  # the CLI then sets the stream aside
                errno=error.errno or 0,
            ) from None
        if not keep_running:
            return 0


def main() -> int:
    """The service on this process's standard streams; with one of them closed (`>&-`, a
    launcher that gives none: Python sets it to None) there is no one to answer: one line."""
    usage = (
        "(`crystalx serve --stdio` reads requests on standard input, answers on standard output)"
    )
    if sys.stdout is None:
        raise OutputError(f"cannot answer: it is closed {usage}", STDOUT)
    if sys.stdin is None:
        raise InputError(f"standard input is closed: no request can come {usage}")
    return serve(sys.stdin.buffer, sys.stdout.buffer)
