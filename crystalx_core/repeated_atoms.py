"""Atoms a file lists twice: a second whole atom of the same element on an atom or on one of
its symmetry images. A structure grown and saved with its symmetry-generated atoms, or a
display program's export (ShelXle's writes the whole molecule of DSR's octane-ccdc.res, its
second half on the images of the first through the inversion centre), gives them. Two whole
atoms cannot share a place, and each would take the other's image as a bonded neighbour,
so the H counts go wrong; the later one is left out (Olex2 deletes one within 0.01 Å when
it loads a file), and a note names each pair. Atoms the file declares alternatives
(different non-zero PARTs, or a negative PART against an image, SHELX's rules in
geometry.may_bond) are disorder, whatever their occupancies say, and stay.

Q-peaks are one maximum of density each: a peak on an atom, or on a higher peak (four written
at one point, peak lists merged by hand), is that density again, and became an atom on top of
the other; it is left out the same way, the highest peak of a place kept. In the user's Olex2
model (the service) the answer's commands delete those peaks: Olex2 keeps a peak the answer
does not name, which would sit as a Q on the atom its density became."""

from __future__ import annotations

from crystalx_core.geometry import contact_may_bond, identity_operator, neighbours
from crystalx_core.structure import WHOLE, Structure

# Å: an atom this close to another's image is that atom again. Written coordinates put a
# grown atom within 0.001 Å of its image. Split sites come as close (FC_p31c N1/N1' 0.043 Å),
# so alternatives are told by their PARTs, or by occupancies that add up to one at most.
REPEAT = 0.1


def without_repeated_atoms(
    structure: Structure, olex2_model: bool = False
) -> tuple[Structure, str, list[str]]:
    """`structure` without the atoms that repeat an earlier one, a note naming them ('' when
    none does) and the labels of the Q-peaks among them; for the user's Olex2 model (the
    service) the note asks for `kill` there, where the atoms stay, and says the answer's
    commands delete the peaks."""
    sites = structure.sites
    identity = identity_operator(structure)
    left_out: dict[int, int] = {}  # repeated site → the earlier one it repeats
    for i, contacts in enumerate(neighbours(structure, REPEAT)):
        site = sites[i]
        if site.is_peak:
            continue
        for c in contacts:
            other = sites[c.j]
            if (
                c.j < i
                and c.j not in left_out
                and not other.is_peak
                and other.element.upper() == site.element.upper()
                and site.occupancy + other.occupancy > WHOLE
                and contact_may_bond(sites, c, identity)
            ):
                left_out[i] = c.j
                break
    peaks = _repeated_peaks(structure)
    if not left_out and not peaks:
        return structure, "", []
    kept = [s for k, s in enumerate(sites) if k not in left_out and k not in peaks]
    notes = [_note(sites, left_out, olex2_model)] if left_out else []
    if peaks:
        pairs = _pairs(sites, peaks)
        notes.append(
            f"Q-peaks on an atom or a higher peak, one density each ({pairs}): the lower left "
            + ("out of this answer and deleted by its commands" if olex2_model else "out")
        )
    return structure.with_sites(kept), "; ".join(notes), [sites[i].label for i in sorted(peaks)]


def _pairs(sites, left_out: dict[int, int]) -> str:
    return ", ".join(f"{sites[i].label} on {sites[j].label}" for i, j in left_out.items())


def _note(sites, left_out: dict[int, int], olex2_model: bool) -> str:
    """The note on atoms listed twice; for the user's Olex2 model it asks for `kill` there:
    Olex2's `fuse` (xlib/xmacro.cpp XLibMacros::macFuse, TLattice::Uniq) deletes only an atom
    within 0.01 Å of another of its PART (xlib/unitcell.cpp TSearchSymmEqTask::Run, qd <
    1e-4), which Olex2 already did when it loaded the model (TLattice::Init), so a repeat the
    model still holds is one `fuse` leaves."""
    if olex2_model:
        return (
            f"atoms the model holds twice, each a whole atom on an earlier one or its symmetry "
            f"image ({_pairs(sites, left_out)}): the later left out of this answer; `kill` them "
            "in Olex2 (with any H bonded to them), whose `fuse` merges only atoms within 0.01 Å"
        )
    return (
        f"atoms the file lists twice, each a whole atom on an earlier one or its symmetry "
        f"image ({_pairs(sites, left_out)}): the later left out (Olex2's `fuse`)"
    )


def _repeated_peaks(structure: Structure) -> dict[int, int]:
    """Peak → the atom or higher peak (ties: the one listed first) it lies within REPEAT Å of,
    or of an image of; a peak near its own image (on a special position) is no repeat."""
    sites = structure.sites
    peaks = [i for i, site in enumerate(sites) if site.is_peak]
    peaks.sort(key=lambda i: -(sites[i].peak_height or 0.0))  # stable: ties in file order
    rank = {i: r for r, i in enumerate(peaks)}
    left_out: dict[int, int] = {}
    for i, contacts in zip(peaks, neighbours(structure, REPEAT, centres=peaks)):
        for c in contacts:
            if c.j != i and c.j not in left_out and rank.get(c.j, -1) < rank[i]:
                left_out[i] = c.j
                break
    return left_out
