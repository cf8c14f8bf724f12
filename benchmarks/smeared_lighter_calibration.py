"""Whether the refinement and the bond lengths can tell a smeared site's element from its lighter
Z-neighbour, measured on right models of corpus structures the swap benchmark's test runs never
use (issue 23; the structures of benchmarks/smeared_width_calibration.py).

Every miss left in the `--pairs other` runs is a site held as the heavier of two Z-neighbours in
a group the isotropic model smears (2004811's triflate: O held as F, S held as Cl), where the
right change is to the lighter element. Smearing lowers the density at a site, so a lean to the
lighter element is what the smearing itself gives a right site: this measures how often.
For each site of the published non-H model (Fo² simulated as the swap benchmark does, refined
isotropically) whose group Uiso (its bonded neighbours' median, element_evidence._neighbours_u)
is over U_DISORDER and whose element has a lighter Z-neighbour (C→B, N→C, O→N, F→O, ...):

- the refinement with the site given its lighter neighbour, judged as a lean is judged
  (element_evidence._refinement_prefers: R1 down by R1_GAIN and wR2 down, or R1 no higher and
  wR2 down past Hamilton's ratio): a wrong change it would take;
- each bond of the site to a non-H atom, refined against published (Å): how far the isotropic
  model moves a smeared group's bond lengths, the width a bond-length test would need.

    python benchmarks/smeared_lighter_calibration.py ../shared/data/corpus
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_evidence import (
    U_DISORDER,
    _hamilton_needed,
    _neighbours_u,
    _refinement_prefers,
    z_neighbours,
)
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.geometry import connectivity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import choose, simulated_data  # noqa: E402
from swap_benchmark import D_MIN_RANGE, disordered_in_fact, pair_class, swap_options  # noqa: E402

LIGHTER = ("B", "C", "N", "O", "F", "Si", "P", "S", "Cl")


def lighter_neighbour(element: str) -> str | None:
    """The Z-neighbour one lighter that the swap benchmark swaps with (None without)."""
    return next(
        (
            other
            for other in LIGHTER
            if atomic_number(other) == atomic_number(element) - 1 and z_neighbours(element, other)
        ),
        None,
    )


def held_out(corpus: Path, max_atoms: int, skip: int, screen: float):
    """smeared_width_calibration's structures: no pair other than C/N/O, not among the C/N/O
    runs' first `skip`, not disordered in fact, a published group over `screen` Å²."""
    tested = {name for name, _ in choose(corpus, skip, 80)}
    for name, truth in choose(corpus, 4000, max_atoms):
        heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
        if name in tested or any(
            pair_class(heavy[i].element, o) != "C/N/O" for i, o in swap_options(heavy)
        ):
            continue
        if max(_neighbours_u(truth.with_sites(heavy)).values()) <= screen:
            continue
        if not disordered_in_fact(truth):
            yield name, truth


def trials(name: str, truth, seed: int):
    """(site, element, lighter, group U, preferred, R1 and wR2 as each, Hamilton's ratio needed,
    [(refined − published bond length)]) per smeared site with a lighter Z-neighbour."""
    key = name if not seed else f"{name}:{seed}"
    rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest(), 16) % (1 << 32))
    reflections, _, _ = simulated_data(truth, rng, D_MIN_RANGE)
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    right = refine(heavy, reflections, 10)
    model = right.structure
    group_u = _neighbours_u(model)
    published = connectivity(heavy)
    refined = connectivity(model)
    for k, site in enumerate(model.sites):
        lighter = lighter_neighbour(site.element)
        if group_u[site.label] <= U_DISORDER or lighter is None:
            continue
        before = {(c.j, c.op, c.shift): c.distance for c in published[k]}
        moved = [
            c.distance - before[(c.j, c.op, c.shift)]
            for c in refined[k]
            if (c.j, c.op, c.shift) in before
        ]
        swapped = model.with_sites(
            [s.with_element(lighter) if i == k else s for i, s in enumerate(model.sites)]
        )
        if lighter not in swapped.sfac:  # a scattering type of its own, as a user would add
            swapped.sfac, swapped.unit = [*swapped.sfac, lighter], [*swapped.unit, 1.0]
        wrong = refine(swapped, reflections, 10)
        yield (
            site.label,
            site.element,
            lighter,
            group_u[site.label],
            _refinement_prefers(wrong, right),
            (right.r1, right.wr2, wrong.r1, wrong.wr2, _hamilton_needed(right)),
            moved,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--max-atoms", type=int, default=300)
    parser.add_argument("--skip", type=int, default=151, help="the C/N/O runs' first structures")
    parser.add_argument("--screen", type=float, default=0.12, help="published group Ueq, Å²")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    taken, tried, moved = 0, 0, []
    for name, truth in held_out(args.corpus, args.max_atoms, args.skip, args.screen):
        try:
            rows = list(trials(name, truth, args.seed))
        except (CrystalXError, ValueError, RuntimeError) as error:
            print(f"{name}: {error}", file=sys.stderr)
            continue
        for label, element, lighter, group, prefers, (r1, wr2, r1_l, wr2_l, needed), d in rows:
            tried += 1
            taken += prefers
            moved += d
            print(
                f"{name} {label} {element}→{lighter} group Uiso {group:.3f}: R1 {r1:.5f} → "
                f"{r1_l:.5f}, wR2 {wr2:.5f} → {wr2_l:.5f} (ratio {wr2 / wr2_l:.5f}, Hamilton "
                f"{needed:.5f}): {'lighter preferred' if prefers else 'kept'}; bonds moved "
                + ", ".join(f"{x:+.3f}" for x in d)
                + " Å",
                flush=True,
            )
    moved = np.abs(np.array(moved))
    print(f"right smeared sites whose lighter Z-neighbour the refinement prefers: {taken}/{tried}")
    if len(moved):
        print(
            f"bond lengths refined − published, |Δ| over {len(moved)} bonds: median "
            f"{np.median(moved):.3f} Å, 90th percentile {np.percentile(moved, 90):.3f}, max "
            f"{moved.max():.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
