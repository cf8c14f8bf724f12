"""Crystals from tmQM molecules: each transition-metal complex packed into a cell with symmetry.

tmQM (../shared/data/tmqm, see its README) holds 86,000 CSD complexes as relaxed molecules
without a cell. The heavy model learns from maps of crystals, so each molecule is packed the
way real complexes crystallise: one molecule (and a counter-ion where its charge asks) in the
asymmetric unit of P2(1)/c, P-1, C2/c or P2(1)2(1)2(1), on a general position, the cell shrunk
axis by axis until the closest intermolecular contact reaches CONTACT × the sum of van der
Waals radii. The relaxed X–H lengths (about 1.09 Å) are shortened to the riding distances
SHELXL uses, as an X-ray model has them. dataset.build then simulates maps and peaks as for
the corpus.

    python -m crystalx_core.training.atoms.dataset ../shared/data/corpus data/tmqm_0.pkl.gz
    --no-corpus \
        --tmqm ../shared/data/tmqm/tmqm.xyz.xz --take tmqm=0:400 --extra-augmentations 3
    python -m crystalx_core.training.atoms.tmqm ../shared/data/tmqm/tmqm.xyz.xz --count 30   #
    packing figures
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import sys
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator

import gemmi
import numpy as np
from cctbx import sgtbx
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from crystalx_core.elements import is_hydrogen, is_metal, normalise_symbol
from crystalx_core.hydrogens import riding_distance
from crystalx_core.io.cif import sfac_unit_from_sites
from crystalx_core.structure import Site, Structure
from crystalx_core.training.atoms.samples import TRAINING_H_REACH
from crystalx_core.training.sources import Entry

# Space groups of molecular crystals, weighted about as the CSD's organometallics fill them.
SPACE_GROUPS = {"P 1 21/c 1": 0.45, "P -1": 0.30, "C 1 2/c 1": 0.13, "P 21 21 21": 0.12}
# The seven commonest groups of the CSD's molecular crystals (about 80 % of its entries), at
# their CSD frequencies: the natural distribution a powder-pattern classifier meets.
CSD_SPACE_GROUPS = {
    "P 1 21/c 1": 0.35,
    "P -1": 0.25,
    "C 1 2/c 1": 0.09,
    "P 21 21 21": 0.08,
    "P 1 21 1": 0.06,
    "P b c a": 0.04,
    "P n a 21": 0.03,
}
CONTACT = 0.88  # closest intermolecular contact, as a share of the van der Waals radii sum
TEMPERATURES = (
    20.0,
    -50.0,
    -100.0,
    -150.0,
)  # °C of the data collection: riding X–H grows when cold
ORIENTATIONS = 2  # random orientations tried per molecule; the densest packing is kept
# After compressing edge by edge, SHAKES trials each turn and move the molecule a little and
# shrink the edges by up to SQUEEZE, kept when free of contacts: without them a randomly
# oriented molecule packs 1.5-1.9 times looser than real crystals (volume per molecule over
# the sum of Hofmann's atomic volumes, which real crystals meet within a few per cent). The
# default: the shipped heavy model's tmQM crystals were packed so, and its build must repeat.
SHAKES = 150
SHAKE_DEGREES = 4.0
SHAKE_SHIFT = 0.01  # fractional
SQUEEZE = 0.03
# dense=True: DENSE_SHAKES annealed moves instead, which also tilt the free cell angles
# (monoclinic beta, triclinic all three), each kept when free of contacts, and after each one
# edge shrinks by up to DENSE_SQUEEZE when that stays free of contacts; the steps shrink
# linearly to (1 - ANNEAL) of their size, so the walk settles. Medians of 1.47 / 1.52 / 1.51
# with the default shake, 1.27 / 1.30 / 1.26 with this one at CSD_SPACE_GROUPS (python -m
# crystalx_core.training.atoms.tmqm TMQM --csd --count 16 / --count 16 --start 200 / --count
# 40 --start 3000, with --dense), at about 1.4 s per crystal instead of 0.4.
DENSE_SHAKES = 300
DENSE_SHAKE_DEGREES = 8.0
DENSE_SHAKE_SHIFT = 0.02  # fractional
SHAKE_ANGLE = 1.5  # degrees, on the free cell angles
DENSE_SQUEEZE = 0.02
ANNEAL = 0.8
BETA_RANGE = (90.0, 125.0)  # monoclinic
TRICLINIC_RANGE = (70.0, 110.0)  # every triclinic cell with its angles in here is valid
SHRINK_STEPS = (0.9, 0.97, 0.99)  # factors an edge is shrunk by, coarse to fine
# Counter-ions for a charged complex: (elements, Cartesian Å), the common ones of the CSD.
_F = 1.39 / math.sqrt(3)
_P = 1.60
_O = 1.43 / math.sqrt(3)
ANIONS = [
    (["Cl"], [(0, 0, 0)]),
    (["Br"], [(0, 0, 0)]),
    (
        ["B", "F", "F", "F", "F"],
        [(0, 0, 0), (_F, _F, _F), (-_F, -_F, _F), (-_F, _F, -_F), (_F, -_F, -_F)],
    ),
    (
        ["P", "F", "F", "F", "F", "F", "F"],
        [(0, 0, 0), (_P, 0, 0), (-_P, 0, 0), (0, _P, 0), (0, -_P, 0), (0, 0, _P), (0, 0, -_P)],
    ),
    (
        ["Cl", "O", "O", "O", "O"],
        [(0, 0, 0), (_O, _O, _O), (-_O, -_O, _O), (-_O, _O, -_O), (_O, -_O, -_O)],
    ),
]
CATIONS = [(["Na"], [(0, 0, 0)]), (["K"], [(0, 0, 0)])]
# Å³ per atom (Hofmann, Acta Cryst. B58, 2002): the volume per molecule of real crystals is the sum
# of these within a few per cent; 20 Å³ for elements not listed (metals, mostly)
HOFMANN_VOLUME = {
    "H": 5.08,
    "C": 13.87,
    "N": 11.8,
    "O": 11.39,
    "F": 11.17,
    "P": 24.4,
    "S": 25.2,
    "Cl": 25.8,
    "Br": 32.7,
    "B": 17.0,
}


@dataclass
class Molecule:
    """One tmQM entry: CSD code, total charge, elements and relaxed Cartesian coordinates."""

    code: str
    charge: int
    elements: list[str]
    xyz: np.ndarray


def read_molecules(path: Path) -> Iterator[Molecule]:
    """The entries of tmqm.xyz.xz in file order (multi-xyz, the comment line 'CSD_code = X | q = Q |
    ...')."""
    with lzma.open(path, "rt") as stream:
        while True:
            count = stream.readline()
            if not count.strip():
                return
            fields = dict(
                part.split(" = ", 1)
                for part in stream.readline().strip().split(" | ")
                if " = " in part
            )
            rows = [stream.readline().split() for _ in range(int(count))]
            yield Molecule(
                fields["CSD_code"].strip(),
                int(fields.get("q", "0")),
                [normalise_symbol(r[0]) for r in rows],
                np.array([r[1:4] for r in rows], dtype=float),
            )


def xray_hydrogens(elements: list[str], xyz: np.ndarray, temperature_c: float) -> np.ndarray:
    """Coordinates with every X–H of C, N, O, S and B shortened to SHELXL's riding distance for
    its group (CH3, CH2, CH, aromatic CH, NH, OH ...); other H (on metals, Si, P) kept as
    relaxed."""
    xyz = xyz.copy()
    heavy = [k for k, e in enumerate(elements) if not is_hydrogen(e)]
    hydrogens = [k for k, e in enumerate(elements) if is_hydrogen(e)]
    if not heavy or not hydrogens:
        return xyz
    tree = cKDTree(xyz[heavy])
    distance, nearest = tree.query(xyz[hydrogens])
    parent = {h: heavy[j] for h, d, j in zip(hydrogens, distance, nearest) if d <= TRAINING_H_REACH}
    h_on = {p: sum(1 for q in parent.values() if q == p) for p in set(parent.values())}
    for h, p in parent.items():
        code = _afix(elements[p], h_on[p], _bonded_non_h(xyz, elements, heavy, p) + h_on[p])
        if code is not None:
            direction = xyz[h] - xyz[p]
            xyz[h] = xyz[p] + direction / np.linalg.norm(direction) * riding_distance(
                code, elements[p], temperature_c
            )
    return xyz


def _bonded_non_h(xyz: np.ndarray, elements: list[str], heavy: list[int], p: int) -> int:
    cutoff = gemmi.Element(elements[p]).covalent_r + 0.45
    return sum(
        1
        for k in heavy
        if k != p
        and np.linalg.norm(xyz[k] - xyz[p]) <= cutoff + gemmi.Element(elements[k]).covalent_r
    )


def _afix(element: str, n_h: int, neighbours: int) -> int | None:
    """SHELXL's HFIX code for an X–H group by its H count and total number of neighbours."""
    if element in ("O", "S"):
        return 147
    if element == "B":
        return 153
    if element not in ("C", "N"):
        return None
    if n_h >= 3:
        return 137
    if n_h == 2:
        return 23 if neighbours >= 4 else 93
    if element == "C" and neighbours <= 2:
        return 163  # acetylenic C–H
    return 13 if neighbours >= 4 else 43


def counter_ion(molecule: Molecule, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """One ion balancing a charge of ±1 (none for a neutral complex), placed in contact with the
    complex in a random direction; returns the ion's elements and Cartesian coordinates."""
    if molecule.charge == 0:
        return [], np.zeros((0, 3))
    choices = ANIONS if molecule.charge > 0 else CATIONS
    elements, xyz = choices[rng.integers(len(choices))]
    ion = (
        np.asarray(xyz, dtype=float)
        @ Rotation.random(random_state=rng.integers(2**31)).as_matrix().T
    )
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    centre = molecule.xyz.mean(axis=0)
    radii = _radii(molecule.elements)
    ion_radii = _radii(elements)
    for step in np.arange(2.0, 30.0, 0.2):
        placed = ion + centre + step * direction
        gaps = np.linalg.norm(molecule.xyz[:, None] - placed[None], axis=2) - (
            radii[:, None] + ion_radii[None]
        )
        if gaps.min() >= 0.0:  # at the van der Waals contact
            return list(elements), placed
    return list(elements), ion + centre + 30.0 * direction


def _radii(elements: list[str]) -> np.ndarray:
    return np.array([gemmi.Element(e).vdw_r for e in elements])


def _cell_angles(group: str, rng: np.random.Generator) -> tuple[float, float, float]:
    if group == "P -1":
        return tuple(float(a) for a in rng.uniform(75.0, 105.0, 3))
    if group.startswith(("P 1 21", "C 1 2/c")):  # monoclinic, b unique
        return 90.0, float(rng.uniform(92.0, 118.0)), 90.0
    return 90.0, 90.0, 90.0


def _orthogonalisation(lengths: np.ndarray, angles) -> np.ndarray:
    return Structure(cell=(*lengths, *angles), symops=["x,y,z"]).orthogonalisation


def _clashes(
    xyz: np.ndarray,
    radii: np.ndarray,
    centre: np.ndarray,
    lengths: np.ndarray,
    angles,
    operators: list[tuple[np.ndarray, np.ndarray]],
) -> bool:
    """True when an image of the molecule (symmetry and lattice) comes closer to it than CONTACT
    × the van der Waals radii sum. xyz: the molecule's Cartesian coordinates about its centre,
    which sits at fractional `centre`."""
    matrix = _orthogonalisation(lengths, angles)
    frac = xyz @ np.linalg.inv(matrix).T + centre
    reach = int(np.ceil(np.ptp(frac, axis=0).max())) + 1
    grid = np.arange(-reach, reach + 1)
    shifts = (
        np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1).reshape(-1, 3).astype(float)
    )
    size = np.linalg.norm(xyz, axis=1).max()
    limit = 2 * CONTACT * radii.max()
    origin = centre @ matrix.T
    images = []
    for index, (rotation, translation) in enumerate(operators):
        image = frac @ rotation.T + translation
        centres = (image.mean(axis=0) + shifts) @ matrix.T - origin
        near = np.linalg.norm(centres, axis=1) <= 2 * size + limit
        if index == 0:
            near &= shifts.any(axis=1)
        for shift in shifts[near]:
            images.append((image + shift) @ matrix.T - origin)
    if not images:
        return False
    others = np.concatenate(images)
    pairs = cKDTree(xyz).sparse_distance_matrix(cKDTree(others), limit, output_type="ndarray")
    if not len(pairs):
        return False
    other_radii = np.tile(radii, len(images))
    return bool((pairs["v"] < CONTACT * (radii[pairs["i"]] + other_radii[pairs["j"]])).any())


def _shake(rotated, radii, centre, lengths, angles, operators, rng):
    """SHAKES small moves of a packed molecule, each with all three edges squeezed, kept when
    free of contacts: the room a first compression leaves unused. The random numbers are drawn
    as the shipped heavy model's tmQM crystals drew them. Returns (lengths, rotated, centre)."""
    for _ in range(SHAKES):
        turn = Rotation.from_rotvec(rng.normal(0.0, math.radians(SHAKE_DEGREES), 3)).as_matrix()
        trial = (
            rotated @ turn.T,
            centre + rng.normal(0.0, SHAKE_SHIFT, 3),
            lengths * (1.0 - rng.uniform(0.0, SQUEEZE, 3)),
        )
        if not _clashes(trial[0], radii, trial[1], trial[2], angles, operators):
            rotated, centre, lengths = trial
    return lengths, rotated, centre


def _anneal(rotated, radii, centre, lengths, angles, operators, group, rng):
    """DENSE_SHAKES annealed moves of a packed molecule (orientation, position, free cell
    angles) in the space its contacts leave, each followed by one edge's squeeze: a random walk
    that packs nearer real density than _shake. Returns (lengths, angles, rotated, centre)."""
    if group == "P -1":
        free, low, high = np.ones(3), *TRICLINIC_RANGE
    elif angles[1] != 90.0:
        free, (low, high) = np.array([0.0, 1.0, 0.0]), BETA_RANGE
    else:
        free, low, high = np.zeros(3), 90.0, 90.0
    angles = np.array(angles, dtype=float)
    for k in range(DENSE_SHAKES):
        size = 1.0 - ANNEAL * k / DENSE_SHAKES
        turn = Rotation.from_rotvec(rng.normal(0.0, math.radians(DENSE_SHAKE_DEGREES * size), 3))
        trial_angles = np.where(
            free > 0, np.clip(angles + rng.normal(0.0, SHAKE_ANGLE * size, 3), low, high), angles
        )
        trial = (
            rotated @ turn.as_matrix().T,
            centre + rng.normal(0.0, DENSE_SHAKE_SHIFT * size, 3),
            tuple(trial_angles),
        )
        if not _clashes(trial[0], radii, trial[1], lengths, trial[2], operators):
            rotated, centre, angles = trial[0], trial[1], trial_angles
        shorter = lengths.copy()
        shorter[rng.integers(3)] *= 1.0 - rng.uniform(0.0, DENSE_SQUEEZE * size)
        if not _clashes(rotated, radii, centre, shorter, tuple(angles), operators):
            lengths = shorter
    return lengths, tuple(float(a) for a in angles), rotated, centre


def pack(
    elements: list[str],
    xyz: np.ndarray,
    group: str,
    rng: np.random.Generator,
    dense: bool = False,
) -> tuple[tuple, np.ndarray]:
    """(cell, fractional coordinates): the molecule at a random general position of `group`, in
    the densest of ORIENTATIONS random orientations, the edges shrunk in turn, a step at a time as a
    crystal is compressed, until no edge can shrink without a contact under CONTACT × the van der
    Waals sum (a bisection could jump past the first contact), then shaken (annealed when
    `dense`)."""
    operators = [
        (np.array(op.r().as_double()).reshape(3, 3), np.array(op.t().as_double()))
        for op in sgtbx.space_group_info(group).group().all_ops()
    ]
    radii = _radii(elements)
    best = None
    for _ in range(ORIENTATIONS):
        rotated = (xyz - xyz.mean(axis=0)) @ Rotation.random(
            random_state=rng.integers(2**31)
        ).as_matrix().T
        angles = _cell_angles(group, rng)
        centre = rng.uniform(0.05, 0.95, 3)
        lengths = np.full(3, 4.0 * (np.linalg.norm(rotated, axis=1).max() + 2 * radii.max()) + 10.0)
        if _clashes(rotated, radii, centre, lengths, angles, operators):
            continue  # too near a symmetry element to be a general position
        for step in SHRINK_STEPS:  # compress edge by edge until each one meets a contact
            moved = True
            while moved:
                moved = False
                for axis in rng.permutation(3):
                    trial = lengths.copy()
                    trial[axis] *= step
                    if not _clashes(rotated, radii, centre, trial, angles, operators):
                        lengths, moved = trial, True
        if dense:
            lengths, angles, rotated, centre = _anneal(
                rotated, radii, centre, lengths, angles, operators, group, rng
            )
        else:
            lengths, rotated, centre = _shake(
                rotated, radii, centre, lengths, angles, operators, rng
            )
        volume = abs(np.linalg.det(_orthogonalisation(lengths, angles)))
        if best is None or volume < best[0]:
            best = (volume, lengths.copy(), angles, rotated, centre)
    if best is None:
        raise ValueError("no orientation packs without clashes")
    _, lengths, angles, rotated, centre = best
    frac = rotated @ np.linalg.inv(_orthogonalisation(lengths, angles)).T + centre
    return (*[float(x) for x in lengths], *angles), frac


def crystal(
    molecule: Molecule,
    rng: np.random.Generator,
    groups: dict[str, float] = SPACE_GROUPS,
    dense: bool = False,
) -> Structure:
    """A crystal of the complex (with its counter-ion) in a space group drawn from `groups`
    (Hall-free symbol → weight), X-ray-like H, isotropic U from a random collection
    temperature; `dense` packs it with the annealed shake."""
    temperature = float(rng.choice(TEMPERATURES))
    ion_elements, ion_xyz = counter_ion(molecule, rng)
    elements = molecule.elements + ion_elements
    xyz = np.vstack([xray_hydrogens(molecule.elements, molecule.xyz, temperature), ion_xyz])
    weights = np.array(list(groups.values()))
    group = list(groups)[rng.choice(len(groups), p=weights / weights.sum())]
    cell, frac = pack(elements, xyz, group, rng, dense)
    base_u = (
        0.012 + 0.025 * (temperature + 173.0) / 193.0
    )  # Ueq of a metal complex, 100 K to room temperature
    counts: dict[str, int] = {}
    sites = []
    for element, position in zip(elements, frac):
        counts[element] = counts.get(element, 0) + 1
        u = (
            base_u
            * (0.8 if is_metal(element) else rng.uniform(0.9, 1.8))
            * (1.3 if is_hydrogen(element) else 1.0)
        )
        sites.append(
            Site(
                f"{element}{counts[element]}",
                element,
                tuple(float(x) for x in position),
                u_iso=float(u),
            )
        )
    symops = [op.as_xyz() for op in sgtbx.space_group_info(group).group().all_ops()]
    structure = Structure(
        cell=cell,
        symops=symops,
        sites=sites,
        temperature_c=temperature,
        title=f"{molecule.code} packed in {group}",
        source=f"tmqm_{molecule.code}",
    )
    structure.sfac, structure.unit = sfac_unit_from_sites(structure)
    return structure


def crystal_loader(
    molecule: Molecule, groups: dict[str, float] = SPACE_GROUPS, dense: bool = False
) -> Callable[[], Structure]:
    """A loader for dataset.build: the packing's random numbers come from the CSD code, so a
    build is reproducible and each complex gets its own cell."""
    seed = int.from_bytes(molecule.code.encode()[:8].ljust(8, b"\0"), "little")
    return lambda: crystal(molecule, np.random.default_rng(seed), groups, dense)


def tmqm_entries(
    path: Path, groups: dict[str, float] = SPACE_GROUPS, dense: bool = False
) -> Iterator[Entry]:
    """The complexes packed into crystals of `groups` (by the annealed shake when `dense`), in
    file order; all training data: the complexes that match evaluation structures were left out
    of the file."""
    for molecule in read_molecules(path):
        loader = crystal_loader(molecule, groups, dense)
        yield Entry(f"tmqm_{molecule.code}", "tmqm", loader, split="train")


def packing_ratio(structure: Structure) -> float:
    """Volume per asymmetric unit over the sum of Hofmann's atomic volumes (about 1 for real
    crystals)."""
    return (
        structure.volume
        / len(structure.symops)
        / sum(HOFMANN_VOLUME.get(s.element, 20.0) for s in structure.sites)
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Packing figures of the first complexes of tmqm.xyz.xz."
    )
    parser.add_argument("tmqm", type=Path)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--start", type=int, default=0, help="the first complex (file order)")
    parser.add_argument(
        "--csd", action="store_true", help="CSD_SPACE_GROUPS (the powder sets) for SPACE_GROUPS"
    )
    parser.add_argument(
        "--dense", action="store_true", help="the annealed shake (denser; not the heavy model's)"
    )
    args = parser.parse_args(argv)
    ratios, groups, seconds = [], {}, []
    for molecule in islice(read_molecules(args.tmqm), args.start, None):
        if len(ratios) == args.count:
            break
        started = time.perf_counter()
        groups_drawn = CSD_SPACE_GROUPS if args.csd else SPACE_GROUPS
        structure = crystal_loader(molecule, groups_drawn, args.dense)()
        seconds.append(time.perf_counter() - started)
        ratios.append(packing_ratio(structure))
        group = structure.title.split(" packed in ")[1]
        groups[group] = groups.get(group, 0) + 1
    print(
        json.dumps(
            {
                "crystals": len(ratios),
                "space_groups": groups,
                "volume_over_hofmann": {
                    "median": float(np.median(ratios)),
                    "min": float(min(ratios)),
                    "max": float(max(ratios)),
                },
                "seconds_per_crystal": float(np.mean(seconds)),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
