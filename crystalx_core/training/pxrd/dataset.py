"""Training patterns for space-group prediction: random crystals in every one of the 230
space groups plus the real corpus, each simulated as several measured-like Cu Kα patterns.

    python -m crystalx_core.training.pxrd.dataset ../shared/data/corpus data/pxrd_set.npz
    --per-group 320
    python -m crystalx_core.training.pxrd.dataset ../shared/data/corpus data/pxrd_tmqm.npz
    --per-group 0 --tmqm ../shared/data/tmqm/tmqm.xyz.xz --tmqm-range 0:3000   (molecular)
    python -m crystalx_core.training.pxrd.dataset data/pxrd_molecular.npz --merge
    data/pxrd_corpus.npz data/pxrd_tmqm_0_250.npz ...   (sets built apart, as one)

Random crystals: the standard setting of the group; 2–120 atoms in the cell (log-uniform
target) filled from randomly chosen Wyckoff positions, special ones included (each fixed
point at most once), so high-symmetry groups get the small cells real high-symmetry
crystals have instead of 192 atoms per general position; a cell of the group's crystal
system with 10–25 Å³ per atom; light and heavy elements; Uiso 0.01–0.05 Å². Splits are by
structure (a hash of its name), so all augmentations of one structure land in the same split.

Molecular crystals at their natural frequencies: tmQM complexes packed at contact density
into the seven commonest space groups of the CSD, at the CSD's frequencies
(atoms.tmqm.CSD_SPACE_GROUPS), with --dense by its annealed shake; training data only, so
the corpus's validation and test splits stay the real structures they were.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from collections import Counter
from itertools import chain, islice
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from cctbx import crystal, uctbx, xray
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.errors import CrystalXError
from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system, space_group
from crystalx_core.pxrd.simulate import GRID, measured_like, sticks_from_xray
from crystalx_core.training.atoms.tmqm import CSD_SPACE_GROUPS, tmqm_entries
from crystalx_core.training.arguments import span
from crystalx_core.training.sources import corpus_entries, split_of

SYNTHETIC = ("random_", "tmqm_")  # name prefixes of structures that are not measured crystals

ELEMENTS = (
    "C",
    "C",
    "C",
    "N",
    "O",
    "O",
    "S",
    "P",
    "Cl",
    "Br",
    "F",
    "Si",
    "Na",
    "K",
    "Mg",
    "Al",
    "Fe",
    "Co",
    "Ni",
    "Cu",
    "Zn",
    "Pb",
    "Ba",
    "Ca",
    "Ti",
    "Mn",
    "I",
    "Sn",
    "Ag",
    "La",
)
AUGMENTATIONS = {"train": 4, "val": 2, "test": 2}
CELL_ATOMS = (2, 120)  # atoms in the unit cell: the target is log-uniform in this range
MAX_POSITIONS = 12  # Wyckoff positions (asymmetric-unit atoms) per crystal


def random_cell(number: int, cell_atoms: int, rng: np.random.Generator) -> tuple[float, ...]:
    """Cell parameters of the group's crystal system with a plausible volume per atom."""
    system = crystal_system(number)
    ratios = rng.uniform(0.6, 1.6, size=3)
    alpha = beta = gamma = 90.0
    if system == "Triclinic":
        alpha, beta, gamma = rng.uniform(75, 110, size=3)
    elif system == "Monoclinic":
        beta = rng.uniform(90, 120)
    elif system == "Tetragonal":
        ratios[1] = ratios[0]
    elif system in ("Trigonal", "Hexagonal"):
        ratios[1], gamma = ratios[0], 120.0
    elif system == "Cubic":
        ratios[:] = 1.0
    shape = uctbx.unit_cell((*ratios, alpha, beta, gamma))
    volume = cell_atoms * rng.uniform(10, 25)
    scale = (volume / shape.volume()) ** (1 / 3)
    return (*(ratios * scale), alpha, beta, gamma)


def wyckoff_sites(
    number: int, rng: np.random.Generator
) -> tuple[list[tuple[float, float, float]], int]:
    """Random sites on random Wyckoff positions until the cell holds about its target count
    of atoms; returns the sites and the atoms in the cell."""
    table = space_group(number).wyckoff_table()
    positions = [table.position(i) for i in range(table.size())]
    target = np.exp(rng.uniform(*np.log(CELL_ATOMS)))
    sites, in_cell, fixed_used = [], 0, set()
    while len(sites) < MAX_POSITIONS:
        available = [p for p in positions if not _is_fixed_point(p) or p.letter() not in fixed_used]
        if not available:
            break
        room = target - in_cell if sites else max(target, min(p.multiplicity() for p in available))
        open_positions = [p for p in available if p.multiplicity() <= room]
        if not open_positions:
            break
        position = open_positions[rng.integers(len(open_positions))]
        if _is_fixed_point(position):
            fixed_used.add(position.letter())
        sites.append(tuple(position.special_op() * tuple(rng.random(3))))
        in_cell += position.multiplicity()
    return sites, in_cell


def _is_fixed_point(position) -> bool:
    """A Wyckoff position without free parameters (e.g. 0,0,0): one atom there fills it."""
    return not any(position.special_op().r().num())


def random_crystal(number: int, rng: np.random.Generator) -> xray.structure:
    """Random atoms on Wyckoff sites in a cell scaled to its volume per atom. A site that cctbx
    finds within 0.5 Å of a more special one moves there and counts less, so the cell is
    rescaled to the atoms the structure really has (twice at most: the moves settle)."""
    sites, in_cell = wyckoff_sites(number, rng)
    cell = np.array(random_cell(number, in_cell, rng))
    elements = [str(rng.choice(ELEMENTS)) for _ in sites]
    u_iso = rng.uniform(0.01, 0.05, size=len(sites))
    for _ in range(3):
        structure = xray.structure(
            crystal_symmetry=crystal.symmetry(
                unit_cell=tuple(cell), space_group_info=space_group(number)
            )
        )
        for k, (site, element) in enumerate(zip(sites, elements)):
            structure.add_scatterer(
                xray.scatterer(
                    label=f"{element}{k + 1}", site=site, u=float(u_iso[k]), scattering_type=element
                )
            )
        atoms = sum(
            structure.site_symmetry_table().get(i).multiplicity() for i in range(len(sites))
        )
        if atoms == in_cell:
            break
        cell[:3] *= (atoms / in_cell) ** (1 / 3)
        in_cell = atoms
    return structure


def is_real(name: str) -> bool:
    """True for a measured structure (the corpus), false for random and packed crystals."""
    return not str(name).startswith(SYNTHETIC)


def structures(
    corpus: Path | None,
    per_group: int,
    seed: int,
    tmqm: Path | None,
    tmqm_range: tuple[int, int],
    skipped: Counter,
    dense: bool = False,
):
    """(name, source, fixed split or None, space-group number, xray.structure) for random
    crystals, packed tmQM complexes, then the corpus; what cannot be read or packed is
    counted in `skipped` by its error."""
    rng = np.random.default_rng(seed)
    for number in range(1, N_SPACE_GROUPS + 1):
        for k in range(per_group):
            yield f"random_{seed}_{number}_{k}", "random", None, number, random_crystal(number, rng)
    entries = chain(
        islice(tmqm_entries(tmqm, CSD_SPACE_GROUPS, dense), *tmqm_range) if tmqm else (),
        corpus_entries(corpus) if corpus else (),
    )
    for entry in entries:
        source = "tmqm" if entry.source == "tmqm" else "corpus"
        try:
            xs = to_xray_structure(entry.load())
        except (CrystalXError, RuntimeError, ValueError) as error:
            skipped[f"{source}: {type(error).__name__}"] += 1
            continue
        yield entry.name, source, entry.split, xs.space_group_info().type().number(), xs


def build(
    corpus: Path | None,
    per_group: int,
    seed: int = 0,
    tmqm: Path | None = None,
    tmqm_range: tuple[int, int] = (0, 3000),
    dense: bool = False,
) -> tuple[dict, dict]:
    """Patterns (float16, on GRID), labels and structure names per split, and a summary; `dense`
    packs the tmQM complexes with atoms.tmqm's annealed shake."""
    rng = np.random.default_rng(seed + 1)
    data = {split: {"patterns": [], "labels": [], "names": []} for split in AUGMENTATIONS}
    counts, skipped, started = Counter(), Counter(), time.perf_counter()
    for name, source, split, number, xs in structures(
        corpus, per_group, seed, tmqm, tmqm_range, skipped, dense
    ):
        try:
            sticks = sticks_from_xray(xs, two_theta_max=float(GRID[-1]) + 1.0)
        except (CrystalXError, RuntimeError, ValueError) as error:
            skipped[type(error).__name__] += 1
            continue
        if len(sticks.two_theta) == 0:
            skipped["no reflections"] += 1
            continue
        split = split or split_of(name)
        for _ in range(AUGMENTATIONS[split]):
            data[split]["patterns"].append(measured_like(sticks, rng).astype(np.float16))
            data[split]["labels"].append(number)
            data[split]["names"].append(name)
        counts[(split, source)] += 1
        if sum(counts.values()) % 500 == 0:
            print(
                f"{sum(counts.values())} structures, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    summary = {
        "structures": {f"{split} {source}": n for (split, source), n in sorted(counts.items())},
        "patterns": {split: len(d["labels"]) for split, d in data.items()},
        "skipped": dict(skipped),
        "per_group": per_group,
        "tmqm": list(tmqm_range) if tmqm is not None else None,
        "tmqm_dense": dense if tmqm is not None else None,
        "seed": seed,
        "grid": [float(GRID[0]), float(GRID[-1]), len(GRID)],
        "seconds": round(time.perf_counter() - started, 1),
    }
    return data, summary


def save(
    data: dict, summary: dict, output: Path, extra: dict[str, np.ndarray] | None = None
) -> None:
    """Patterns, labels and names per split (plus `extra` arrays as they are), and the summary
    beside."""
    output.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(extra or {})
    for split, d in data.items():
        arrays[f"{split}_patterns"] = np.array(d["patterns"], dtype=np.float16).reshape(
            -1, len(GRID)
        )
        arrays[f"{split}_labels"] = np.array(d["labels"], dtype=np.int16)
        arrays[f"{split}_names"] = np.array(d["names"])
    np.savez_compressed(output, **arrays)
    output.with_suffix(".summary.json").write_text(json.dumps(summary, indent=1) + "\n")


def _written_already(output: Path) -> Path | None:
    """The file `save` would replace, if one is there: the set (numpy adds .npz to a name
    without it) or its summary. Checked before the minutes a build takes."""
    arrays = output if output.suffix == ".npz" else Path(f"{output}.npz")
    return next((p for p in (arrays, output.with_suffix(".summary.json")) if p.exists()), None)


def merge(paths: list[Path]) -> tuple[dict, dict]:
    """Sets built apart (e.g. tmQM ranges in parallel, the corpus once) as one; a structure in
    two of them would count twice and could sit in two splits, so it is refused."""
    data = {split: {"patterns": [], "labels": [], "names": []} for split in AUGMENTATIONS}
    structures, skipped, seen = Counter(), Counter(), {}
    for path in paths:
        stored = load(path)
        for split in AUGMENTATIONS:
            if f"{split}_names" not in stored:
                raise CrystalXError(f"not a pattern set (no {split}_names)", str(path))
            names = stored[f"{split}_names"]
            for name in set(map(str, names)):
                if name in seen:
                    raise CrystalXError(f"structure {name} is in {seen[name]} too", str(path))
                seen[name] = path
            data[split]["patterns"].extend(stored[f"{split}_patterns"])
            data[split]["labels"].extend(stored[f"{split}_labels"])
            data[split]["names"].extend(names)
        part = json.loads(path.with_suffix(".summary.json").read_text())
        structures.update(part["structures"])
        skipped.update(part["skipped"])
    summary = {
        "merged": [str(p) for p in paths],
        "structures": dict(sorted(structures.items())),
        "patterns": {split: len(d["labels"]) for split, d in data.items()},
        "skipped": dict(skipped),
    }
    return data, summary


def load(path: Path) -> dict:
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "corpus", type=Path, nargs="?", help="shared/data/corpus (optional: random crystals only)"
    )
    parser.add_argument("output", type=Path)
    parser.add_argument(
        "--merge", type=Path, nargs="+", metavar="SET", help="write these sets as one instead"
    )
    parser.add_argument("--per-group", type=int, default=30, help="random crystals per space group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tmqm", type=Path, help="tmqm.xyz.xz: complexes packed as molecular crystals"
    )
    start, stop = inspect.signature(build).parameters["tmqm_range"].default
    parser.add_argument(
        "--tmqm-range",
        type=span(int),
        default=(start, stop),
        help=f"START:STOP, the complexes of the file to pack (default {start}:{stop})",
    )
    parser.add_argument(
        "--dense", action="store_true", help="pack them with atoms.tmqm's annealed shake"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing output and its summary"
    )
    args = parser.parse_args(argv)
    if not args.force and (taken := _written_already(args.output)):
        parser.exit(2, f"error: {taken}: exists already (--force replaces it)\n")
    if args.merge:
        try:
            data, summary = merge(args.merge)
        except (CrystalXError, OSError, ValueError) as error:
            parser.exit(2, f"error: {error}\n")
        save(data, summary, args.output)
        print(json.dumps(summary, indent=1))
        return 0
    for path, what in ((args.tmqm, "no such file"), (args.corpus, "no such folder")):
        if path is not None and not (path.is_file() if path is args.tmqm else path.is_dir()):
            parser.exit(2, f"error: {path}: {what}\n")  # before minutes of random crystals
    data, summary = build(
        args.corpus, args.per_group, args.seed, args.tmqm, args.tmqm_range, args.dense
    )
    save(data, summary, args.output)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
