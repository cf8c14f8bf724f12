"""Build the training set from real structures: simulated solver peaks for the heavy-atom
model, true non-H atoms with their H counts for the hydrogen model.

    python -m crystalx_core.training.sources data/sources      # CoRE MOF, pyxtal, MetaLigDB wheels
    python -m crystalx_core.training.atoms.dataset ../shared/data/corpus data/train_set.pkl.gz \
        --extra data/sources --take coremof=1000 pyxtal=100 ligand=4000
    python -m crystalx_core.training.atoms.dataset ../shared/data/corpus data/train_set_v7.pkl.gz \
        --augmentations 12 --disorder major      # disordered structures as their major part
    python -m crystalx_core.training.atoms.dataset ../shared/data/corpus data/tmqm_0.pkl.gz
    --no-corpus \
        --tmqm ../shared/data/tmqm/tmqm.xyz.xz --take tmqm=0:3000 --extra-augmentations 4
                                                 # tmQM complexes 0-2999 packed into crystals
                                                 (atoms.tmqm)

Each structure is split into train/val/test by a hash of its file name (never by atom),
so every augmentation of a structure lands in the same split.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import assign_baseline, baseline_h_counts
from crystalx_core.crystallography.refine import MAX_U
from crystalx_core.elements import atomic_number, covalent_radius, is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.features import build_graph, height_bins
from crystalx_core.geometry import bonded_h_counts, neighbours, overlapping_sites
from crystalx_core.io.cif import sfac_unit_from_sites
from crystalx_core.structure import Structure
from crystalx_core.training.atoms.samples import (  # noqa: F401  (their home before)
    MAX_DEGREE,
    MAX_H,
    TRAINING_H_REACH,
    is_physical,
    load,
)
from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks
from crystalx_core.training.atoms.tmqm import tmqm_entries
from crystalx_core.training.sources import Entry, corpus_entries, extra_entries, split_of

MAX_NON_H = {
    "default": 300,  # larger asymmetric units are rare and dominate the training time
    "coremof": 150,
}  # framework cells are P1: the whole cell counts
BOND_TOLERANCE = 0.45  # Å over the sum of covalent radii
CONTEXT = 3.2  # Å: symmetry context both models see (the CrystalX paper's for hydrogens; for the
# heavy model a 5 Å context made CPU training ~8x slower for little extra information)
NO_HEIGHTS = 0.2  # share of heavy examples whose peaks lose their heights (re-assigning atoms)
SECOND_PASS_ERRORS = 0.15  # the largest share of wrong guesses in a second-pass example


@dataclass
class DatasetSummary:
    structures: Counter = field(default_factory=Counter)  # split → structures used
    skipped: Counter = field(default_factory=Counter)  # reason → structures
    heavy_samples: Counter = field(default_factory=Counter)
    elements: Counter = field(
        default_factory=Counter
    )  # element → atoms (train structures, once each)
    sources: Counter = field(default_factory=Counter)  # source tag → structures used
    major_parts: Counter = field(
        default_factory=Counter
    )  # split → disordered structures used as their major part


def h_counts(truth: Structure) -> list[int]:
    """Number of H atoms bonded to each non-H site (geometry.bonded_h_counts within the training
    convention's TRAINING_H_REACH for every element), at most MAX_H."""
    return [min(MAX_H, n) for n in bonded_h_counts(truth, TRAINING_H_REACH)]


def heavy_sample(truth: Structure, rng: np.random.Generator) -> dict:
    """One heavy-model example: peaks with baseline guesses in, true element (or 0) out.

    "z_second" holds the guesses of a second pass on the same peaks: the truth with a
    random share (up to SECOND_PASS_ERRORS) of the peaks given another SFAC element or
    'no atom', which is what pass 1 hands pass 2 at inference (training picks one of the
    two per example)."""
    sim = simulate_peaks(truth, SimulationSettings.random(rng), rng)
    assignment = assign_baseline(sim.structure).by_index()
    guesses = [
        atomic_number(assignment[i].element) if i in assignment else 0
        for i in range(len(sim.structure.sites))
    ]
    graph = build_graph(sim.structure, guesses, context=CONTEXT)
    peaks = sim.structure.sites
    second = second_pass_guesses(sim.targets, truth.sfac, rng)
    heights = [None] * len(peaks) if rng.random() < NO_HEIGHTS else [s.peak_height for s in peaks]
    bins = height_bins(heights, sum(sim.structure.asymmetric_unit_contents().values()))
    return {
        **_graph_arrays(graph),
        "z_second": second[graph.site].astype(np.int8),
        "height_bin": bins[graph.site].astype(np.int8),
        "y": np.asarray(sim.targets, dtype=np.int64),
        "sfac": list(truth.sfac),
    }


def second_pass_guesses(
    targets: list[int], sfac: list[str], rng: np.random.Generator
) -> np.ndarray:
    """Per peak: its true atomic number (0 = no atom), a random share of them replaced."""
    choices = [0] + [atomic_number(el) for el in sfac if not is_hydrogen(el)]
    guesses = np.asarray(targets, dtype=np.int64).copy()
    wrong = rng.random(len(guesses)) < rng.uniform(0.0, SECOND_PASS_ERRORS)
    for k in np.flatnonzero(wrong):
        others = [z for z in choices if z != guesses[k]]
        guesses[k] = rng.choice(others) if others else guesses[k]
    return guesses


def hydrogen_sample(truth: Structure, rng: np.random.Generator, noise: float) -> dict:
    """One hydrogen-model example: non-H atoms with their elements in, H count per atom out."""
    counts = h_counts(truth)
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    if noise:
        jitter = rng.normal(0.0, noise / np.sqrt(3), (len(heavy.sites), 3))
        heavy = heavy.with_sites(
            [_moved(heavy, site, delta) for site, delta in zip(heavy.sites, jitter)]
        )
    graph = build_graph(heavy, [atomic_number(s.element) for s in heavy.sites], context=CONTEXT)
    # as the shipped hydrogen model's tokens were made (assign.model reads them so)
    rules = np.asarray(baseline_h_counts(heavy, metal_oxygens=False), dtype=np.int8)
    return {
        **_graph_arrays(graph),
        "rules": rules[graph.site],
        "y": np.asarray(counts, dtype=np.int64),
    }


def _graph_arrays(graph) -> dict:
    """Compact storage: node indices fit int32; training widens them again."""
    return {
        "z": graph.z.astype(np.int8),
        "pos": graph.pos,
        "edge_index": graph.edge_index.astype(np.int32),
        "n_centre": graph.n_centre,
    }


def _moved(structure: Structure, site, delta):
    return replace(site, frac=tuple(structure.fractional(structure.cartesian(site.frac) + delta)))


def usable(entry: Entry, disorder: str = "skip") -> tuple[Structure | None, str]:
    """The structure, or None and why it is left out. A disordered structure is skipped, or
    with disorder="major" replaced by its major part (major_part)."""
    if entry.disorder != "no" and disorder == "skip":
        return None, f"disorder ({entry.disorder})"
    try:
        truth = entry.load()
    except (CrystalXError, ValueError, KeyError) as error:
        return None, f"unreadable: {error}"
    if entry.disorder != "no":
        truth, why = major_part(truth)
        if truth is None:
            return None, f"disorder ({why})"
    n_heavy = sum(1 for s in truth.sites if not is_hydrogen(s.element))
    limit = MAX_NON_H.get(entry.source, MAX_NON_H["default"])
    if n_heavy > limit:
        return None, f"more than {limit} non-H atoms"
    if n_heavy < 2:
        return None, "fewer than 2 non-H atoms"
    if any(s.element == "D" for s in truth.sites):
        return None, "deuterated"
    # U given in 10⁻⁴ Å² (old CIFs) makes every structure factor vanish: the simulated map would be
    # empty
    if any(not is_hydrogen(s.element) and _largest_u(s) > MAX_U for s in truth.sites):
        return None, "displacement parameters over %g Å²" % MAX_U
    return truth, ""


def _largest_u(site) -> float:
    """The largest displacement parameter the structure factors will use for the site."""
    return max(site.u_aniso[:3]) if site.u_aniso else site.u_iso


MAJOR_OCCUPANCY = 0.5  # sites outside disorder groups at this occupancy or less are left out
FULL = 0.99  # a disorder group this occupied is no alternative: it is kept whole
PARTS_OVERLAP = 0.8  # Å: two kept non-H atoms this close mean the parts were not separated


def major_part(truth: Structure) -> tuple[Structure | None, str]:
    """The ordered model of a disordered structure, all at full occupancy: atoms outside
    disorder groups (those partially occupied only when more than half there), fully occupied
    groups, and of the partly occupied groups the one of highest mean occupancy. None (and
    why) when that leaves under half of the non-H sites, or when kept atoms still overlap
    (the CIF's groups do not separate the alternatives)."""
    groups: dict[int, list[float]] = {}
    for site in truth.sites:
        if site.part > 0:
            groups.setdefault(site.part, []).append(site.occupancy)
    mean_occupancy = {part: float(np.mean(occ)) for part, occ in groups.items()}
    alternatives = {part: occ for part, occ in mean_occupancy.items() if occ < FULL}
    kept_parts = {0} | (set(groups) - set(alternatives))
    if alternatives:
        kept_parts.add(max(alternatives, key=lambda part: (alternatives[part], -part)))
    kept = [
        replace(site, occupancy=1.0, part=0)
        for site in truth.sites
        if site.part in kept_parts and (site.part != 0 or site.occupancy > MAJOR_OCCUPANCY)
    ]
    heavy = [i for i, s in enumerate(kept) if not is_hydrogen(s.element)]
    if 2 * len(heavy) < sum(1 for s in truth.sites if not is_hydrogen(s.element)):
        return None, "no ordered major part"  # e.g. a molecule disordered over a symmetry element
    ordered = truth.with_sites(kept)
    ordered.sfac, ordered.unit = sfac_unit_from_sites(ordered)
    if any(not is_hydrogen(kept[i].element) for i in overlapping_sites(ordered, PARTS_OVERLAP)):
        return None, "parts overlap"
    return ordered, ""


def hydrogens_complete(truth: Structure) -> bool:
    """False when some carbon has at most one bonded neighbour: its H atoms were not deposited
    (common in framework and old entries), so its H counts would teach the model wrong."""
    carbons = [i for i, s in enumerate(truth.sites) if s.element == "C"]
    for _, near in zip(carbons, neighbours(truth, 2.2, centres=carbons)):
        bonded = [
            c
            for c in near
            if c.distance
            <= BOND_TOLERANCE + covalent_radius("C") + covalent_radius(truth.sites[c.j].element)
        ]
        if len(bonded) <= 1:
            return False
    return True


def entries(
    corpus: Path | None,
    extra: Path | None,
    take: dict[str, str],
    ligand_peaks: bool = False,
    tmqm: Path | None = None,
) -> Iterator[Entry]:
    """The corpus (unless None), then each extra source in a fixed pseudo-random order up to its
    quota, then the tmQM crystals START:STOP in file order (a build in parts takes one range
    each); ligand_peaks: lone ligands give heavy-model examples too (the map of the molecule in its
    box)."""
    if corpus is not None:
        yield from corpus_entries(corpus)
    if extra is not None:
        for tag, found in extra_entries(extra, ligand_peaks).items():
            quota = int(take.get(tag, 0))
            if quota:
                ordered = sorted(found, key=lambda e: hashlib.sha256(e.name.encode()).hexdigest())
                yield from ordered[:quota]
    if tmqm is not None:
        start, _, stop = take.get("tmqm", "0").rpartition(":")
        yield from islice(tmqm_entries(tmqm), int(start or 0), int(stop))


def build(
    corpus: Path,
    augmentations: int,
    seed: int,
    limit: int | None = None,
    extra: Path | None = None,
    take: dict[str, str] | None = None,
    extra_augmentations: int = 3,
    disorder: str = "skip",
    ligand_peaks: bool = False,
    tmqm: Path | None = None,
    with_corpus: bool = True,
    log=print,
) -> tuple[dict, DatasetSummary]:
    data = {split: {"heavy": [], "hydrogen": []} for split in ("train", "val", "test")}
    summary = DatasetSummary()
    rng = np.random.default_rng(seed)
    corpus_sources = {e.source for e in corpus_entries(corpus)}
    for k, entry in enumerate(
        islice(
            entries(corpus if with_corpus else None, extra, take or {}, ligand_peaks, tmqm), limit
        )
    ):
        truth, why = usable(entry, disorder)
        if truth is None:
            summary.skipped[f"{entry.source}: {why.split(':')[0]}"] += 1
            continue
        split = entry.split or split_of(entry.name)
        complete = hydrogens_complete(truth)
        try:
            copies = (
                (augmentations if entry.source in corpus_sources else extra_augmentations)
                if entry.heavy
                else 0
            )
            heavy = [heavy_sample(truth, rng) for _ in range(copies)]
            hydrogen = (
                [hydrogen_sample(truth, rng, noise) for noise in (0.0, 0.05)] if complete else []
            )
        except (CrystalXError, RuntimeError, AssertionError, ValueError) as error:
            summary.skipped[f"{entry.source}: simulation failed ({type(error).__name__})"] += 1
            continue
        if not all(is_physical(sample) for sample in heavy + hydrogen):
            summary.skipped[
                f"{entry.source}: overlapping atoms (over {MAX_DEGREE} within the cutoff)"
            ] += 1
            continue
        if not heavy and not hydrogen:
            summary.skipped[f"{entry.source}: H atoms missing"] += 1
            continue
        if not complete:
            summary.skipped[f"{entry.source}: H atoms missing (heavy model only)"] += 1
        for sample in heavy + hydrogen:
            sample["name"] = entry.name
        data[split]["heavy"] += heavy
        data[split]["hydrogen"] += hydrogen
        summary.structures[split] += 1
        summary.sources[entry.source] += 1
        if entry.disorder != "no":
            summary.major_parts[split] += 1
        summary.heavy_samples[split] += len(heavy)
        if split == "train":
            summary.elements.update(s.element for s in truth.sites)
        if (k + 1) % 50 == 0:
            log(
                f"{k + 1} structures read, {sum(summary.structures.values())} used "
                f"({dict(summary.sources)})"
            )
    return data, summary


def save(data: dict, summary: DatasetSummary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as stream:  # level 9 takes minutes on edge lists
        pickle.dump(data, stream, protocol=pickle.HIGHEST_PROTOCOL)
    path.with_suffix("").with_suffix(".summary.json").write_text(
        json.dumps(
            {
                "structures": summary.structures,
                "skipped": summary.skipped,
                "heavy_samples": summary.heavy_samples,
                "elements_in_train": dict(summary.elements.most_common()),
                "sources": summary.sources,
                "major_parts": summary.major_parts,
            },
            indent=1,
        )
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "corpus", type=Path, help="folder of CIFs with INDEX.tsv (shared/data/corpus)"
    )
    parser.add_argument("output", type=Path)
    parser.add_argument(
        "--augmentations", type=int, default=6, help="simulated peak sets per structure"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="only the first N structures (quick runs)")
    parser.add_argument(
        "--extra", type=Path, help="folder filled by crystalx_core.training.sources"
    )
    parser.add_argument(
        "--take",
        nargs="*",
        default=[],
        metavar="SOURCE=N",
        help="structures per extra source, e.g. coremof=1000 pyxtal=100 ligand=3000",
    )
    parser.add_argument("--extra-augmentations", type=int, default=3)
    parser.add_argument(
        "--tmqm",
        type=Path,
        help="tmqm.xyz.xz: complexes packed into crystals "
        "(atoms.tmqm); --take tmqm=START:STOP chooses the range of the file",
    )
    parser.add_argument(
        "--no-corpus", action="store_true", help="only the extra sources (a build in parts)"
    )
    parser.add_argument(
        "--disorder",
        choices=("skip", "major"),
        default="skip",
        help="disordered structures: left out, or their major part as an ordered model",
    )
    parser.add_argument(
        "--ligand-peaks",
        action="store_true",
        help="MetaLigDB ligands (--take ligand=N) give heavy-model examples too, not only hydrogen",
    )
    args = parser.parse_args(argv)
    take = dict(item.split("=") for item in args.take)
    data, summary = build(
        args.corpus,
        args.augmentations,
        args.seed,
        args.limit,
        args.extra,
        take,
        args.extra_augmentations,
        args.disorder,
        args.ligand_peaks,
        args.tmqm,
        not args.no_corpus,
    )
    save(data, summary, args.output)
    print(json.dumps({"structures": summary.structures, "skipped": summary.skipped}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
