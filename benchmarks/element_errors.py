"""Where the heavy-atom assignment goes wrong on the validation structures, grouped by chemistry.

    python benchmarks/element_errors.py ../shared/data/corpus --cache /tmp/val_sims.pkl \
        --dump errors.json

Runs the whole assignment as `python -m crystalx_core.training.atoms.evaluate ... --split val`
does (the same simulated solutions: seeds 7-9 at 0, 0.05 and 0.1 Å extra noise), keeps each
simulation and the heavy model's probabilities of both passes in --cache (a later run replays
them instead of simulating and running the model again), and prints:
- the metrics (elements per atom, structures fully right, the metal-complex subset), which match
  evaluate's;
- every wrongly assigned atom in a group named by its chemistry (C/N in a ring, a terminal N/O,
  a metal-bound donor, an atom of a small separate molecule: solvent or counter-ion ...), with a
  table of the groups.
--dump writes each wrong atom (true and chosen element, the model's top probabilities, its
bonded neighbours with their elements and distances, bond angles, height rank) to JSON.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import Counter, defaultdict
from contextlib import contextmanager
from itertools import product
from pathlib import Path

import networkx as nx
import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.model import (
    MODEL_DIR,
    _restricted,
    assign_model,
    load_model,
    site_classes,
)
from crystalx_core.elements import is_metal, symbol
from crystalx_core.geometry import bond_angle, connectivity
from crystalx_core.training.atoms.calibrate import NOISES, recording
from crystalx_core.training.atoms.evaluate import (
    SEEDS,
    _name_number,
    answer_counts,
    is_metal_complex,
    test_structures,
)
from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks

SMALL_MOLECULE = 12  # non-H atoms: a separate molecule this small is solvent or a counter-ion
LIGHT = ("C", "N", "O")


@contextmanager
def replaying(model, calls: list):
    """The model's predict calls answered from `calls` (calibrate.recording's), in order."""
    predict, queue = model.predict, list(calls)

    def replayed(graph):
        probabilities = queue.pop(0)
        assert len(probabilities) == graph.n_centre, "replayed probabilities do not fit"
        return probabilities

    model.predict = replayed
    try:
        yield
    finally:
        model.predict = predict


def _simulated(truth, seed: int, noise: float, model) -> dict:
    """One simulated solution as atoms.evaluate makes it, with the model's probabilities."""
    rng = np.random.default_rng([seed, _name_number(truth.source)])
    sim = simulate_peaks(truth, SimulationSettings(extra_noise=noise), rng)
    calls: list = []
    with recording(model, calls):
        assign_model(sim.structure)
    name, metal = Path(str(truth.source)).name, is_metal_complex(truth)
    return {"noise": noise, "seed": seed, "name": name, "metal": metal, "sim": sim, "calls": calls}


def simulations(corpus: Path, split: str, cache: Path | None) -> list[dict]:
    """Per (seed, noise, structure): the simulated peaks, the truth's metal flag and the model's
    probabilities of each pass; from `cache` where it exists, else made and written there."""
    if cache is not None and cache.exists():
        kept = pickle.loads(cache.read_bytes())  # written below by this script
        if kept["split"] != split:
            raise SystemExit(f"{cache}: simulations of the {kept['split']} split, not {split}")
        return kept["runs"]
    model = load_model(str(MODEL_DIR), "heavy")
    truths = test_structures(corpus, split)
    runs = [_simulated(t, seed, noise, model) for noise, seed, t in product(NOISES, SEEDS, truths)]
    if cache is not None:
        cache.write_bytes(pickle.dumps({"split": split, "runs": runs}))
    return runs


def assigned(run: dict) -> dict[int, str]:
    """Peak index → element of the whole assignment, the model's probabilities replayed."""
    model = load_model(str(MODEL_DIR), "heavy")
    with replaying(model, run["calls"]):
        answer = assign_model(run["sim"].structure).by_index()
    return {k: site.element for k, site in answer.items()}


def metrics(runs: list[dict], answers: list[dict[int, str]]) -> dict[float, dict]:
    """Per noise level, as evaluate.heavy_metrics counts them."""
    out = {}
    for noise in NOISES:
        c, metal = Counter(), Counter()
        for run, answer in zip(runs, answers):
            if run["noise"] == noise:
                counts = answer_counts(run["sim"].targets, answer)
                c.update(counts)
                if run["metal"]:
                    metal.update(counts)
        out[noise] = {
            "elements": c["right"] / c["atoms"],
            "fully_right": c["fully"] / c["simulations"],
            "metal_elements": metal["right"] / max(metal["atoms"], 1),
            "metal_fully_right": metal["fully"] / max(metal["simulations"], 1),
        }
    return out


def print_metrics(label: str, table: dict[float, dict]) -> None:
    mean = {
        k: 100 * np.mean([row[k] for row in table.values()]) for k in next(iter(table.values()))
    }
    print(
        f"{label}: elements {mean['elements']:.2f} %, fully right {mean['fully_right']:.1f} %, "
        f"metal {mean['metal_elements']:.2f} %, {mean['metal_fully_right']:.1f} % | per noise "
        f"{[round(100 * row['elements'], 2) for row in table.values()]}"
    )


def wrong_atoms(run: dict, answer: dict[int, str]) -> list[dict]:
    """Each atom given the wrong element (or none), with its chemistry in the true structure."""
    sim = run["sim"]
    classes = load_model(str(MODEL_DIR), "heavy").classes
    probabilities = _restricted(run["calls"][-1], site_classes(sim.structure, classes))
    atoms = [k for k, z in enumerate(sim.targets) if z]
    true = sim.structure.with_sites(
        [sim.structure.sites[k].with_element(symbol(sim.targets[k]), None) for k in atoms]
    )
    bonds = connectivity(true)
    graph = nx.Graph((c.i, c.j) for contacts in bonds for c in contacts)
    graph.add_nodes_from(range(len(atoms)))
    cycles = nx.minimum_cycle_basis(graph)
    heights = np.array([s.peak_height for s in sim.structure.sites])
    rank = {k: int((heights > heights[k]).sum()) + 1 for k in range(len(heights))}
    out = []
    for a, k in enumerate(atoms):
        element, chosen = symbol(sim.targets[k]), answer.get(k, "Q")
        if element == chosen:
            continue
        contacts = bonds[a]
        component = nx.node_connected_component(graph, a)
        ring = min((len(c) for c in cycles if a in c), default=0)
        top = np.argsort(-probabilities[k])[:3]
        out.append(
            {
                "structure": run["name"],
                "seed": run["seed"],
                "noise": run["noise"],
                "true": element,
                "chosen": chosen,
                "probabilities": {classes[c]: round(float(probabilities[k, c]), 3) for c in top},
                "neighbours": [
                    (true.sites[c.j].element, answer.get(atoms[c.j], "Q"), round(c.distance, 3))
                    for c in contacts
                ],
                "angles": [
                    round(bond_angle(p.cart_j, true.cartesian(true.sites[a].frac), q.cart_j), 1)
                    for i, p in enumerate(contacts)
                    for q in contacts[i + 1 :]
                ],
                "ring": ring,
                "molecule_atoms": len(component),
                "metal_in_molecule": any(is_metal(true.sites[j].element) for j in component),
                "height_rank": rank[k],
                "height_over_median": round(float(heights[k] / np.median(heights[atoms])), 3),
            }
        )
    return out


def group(atom: dict) -> str:
    """A short name for the chemistry of a wrong atom."""
    neighbours = [n for n, _, _ in atom["neighbours"]]
    if atom["chosen"] == "Q":
        return "atom left as 'not an atom'"
    if atom["true"] not in LIGHT or atom["chosen"] not in LIGHT:
        return "other elements (B, Be, F, Cl, metals)"
    if any(is_metal(n) for n in neighbours):
        return "metal-bound donor (C/N/O)"
    if atom["molecule_atoms"] <= SMALL_MOLECULE and not atom["metal_in_molecule"]:
        return "small molecule: solvent or counter-ion"
    kind = "{" + "/".join(sorted({atom["true"], atom["chosen"]})) + "}"
    if atom["ring"]:
        return f"{kind} in a ring"
    if len(neighbours) <= 1:
        return f"{kind} terminal"
    return f"{kind} in a chain"


def print_groups(errors: list[dict], atoms: int) -> None:
    by_group = defaultdict(list)
    for atom in errors:
        by_group[group(atom)].append(atom)
    print(f"\n{len(errors)} wrong of {atoms} atoms ({100 * len(errors) / atoms:.2f} %)")
    print("| group | wrong atoms | share of errors | pairs (true→chosen) | structures |")
    print("|---|---|---|---|---|")
    for name, members in sorted(by_group.items(), key=lambda kv: -len(kv[1])):
        pairs = Counter(f"{a['true']}→{a['chosen']}" for a in members).most_common(4)
        structures = len({a["structure"] for a in members})
        print(
            f"| {name} | {len(members)} | {100 * len(members) / len(errors):.0f} % | "
            f"{', '.join(f'{p} {n}' for p, n in pairs)} | {structures} |"
        )
    per_structure = Counter(a["structure"] for a in errors).most_common()
    top = sum(n for _, n in per_structure[:4])
    print(
        f"\n{len(per_structure)} structures hold the wrong atoms, the four worst "
        f"{100 * top / len(errors):.0f} % of them (over all seeds and noise levels):"
    )
    for name, n in per_structure[:8]:
        pairs = Counter(f"{a['true']}→{a['chosen']}" for a in errors if a["structure"] == name)
        print(f"  {name}: {n} ({', '.join(f'{p} {k}' for p, k in pairs.most_common(5))})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="val", choices=("val", "test"))
    parser.add_argument("--cache", type=Path, help="simulations and model probabilities (pickle)")
    parser.add_argument("--dump", type=Path, help="every wrong atom as JSON")
    args = parser.parse_args(argv)
    runs = simulations(args.corpus, args.split, args.cache)
    answers = [assigned(run) for run in runs]
    print_metrics(f"{args.split}, {len(runs)} simulations", metrics(runs, answers))
    errors = [atom for run, answer in zip(runs, answers) for atom in wrong_atoms(run, answer)]
    print_groups(errors, sum(1 for run in runs for z in run["sim"].targets if z))
    if args.dump:
        args.dump.write_text(json.dumps(errors, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
