"""Powder patterns of real MOFs (CoRE MOF 2019 ASR + FSR and 2014, from the `core-mof`
wheel on PyPI) labelled with the space group recovered from their P1 cells, split 50/50 by
structure as Chemical Sight Net did; "MOF" is the test half with its natural class
frequencies, "MOF-Balanced" 10 test structures from every class with more than 10.

    python -m crystalx_core.training.pxrd.mof data/pxrd_mof.npz      # fetches the wheel into data/

Symmetry: spglib on the P1 cell with all atoms (H included), SYMPREC = 0.1 Å and
ANGLE_TOLERANCE = 5° (CoRE MOF cells carry computed H positions and edited solvent, so a
strict 0.01 Å would leave many in lower groups than the CSD deposits). spglib
searches the reduced cell and reports the standard setting's number; the pattern does not
depend on the setting, so it is simulated from the file's P1 cell. Files that cannot be
read, that have no atoms, or where spglib finds no group are left out and counted.
Duplicates: one entry per CSD refcode (or per file stem for non-CSD entries), ASR first,
then FSR, then 2014; the 50/50 split is by refcode family (the first six letters, so
redeterminations ABCDEF01, ABCDEF02 share a side); 10 % of the training half is validation.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from cctbx import crystal, xray
import gemmi
import spglib
import spglib.error

from crystalx_core.pxrd.simulate import (
    GRID_STOP,
    Sticks,
    measured_like,
    real_sample_effects,
    sticks_from_xray,
)
from crystalx_core.training.arguments import span
from crystalx_core.training.pxrd import dataset

WHEEL = "core-mof==2019.1"
SETS = ("2019-ASR", "2019-FSR", "2014")  # preference order when a refcode is in several
SYMPREC, ANGLE_TOLERANCE = 0.1, 5.0
AUGMENTATIONS = {"train": 2, "val": 1, "test": 1}
TEST_FRACTION, VAL_FRACTION = 0.5, 0.1  # of all structures; of the training half
BALANCED_PER_CLASS = 10
MAX_ATOMS = 3000
_REFCODE = re.compile(r"^[A-Z]{6}(\d{2})?$")
_SUFFIX = re.compile(r"_(clean\w*|freeONLY|charged|ion_b|manual|auto|SL)$")
_UNQUOTED_SYMBOL = re.compile(
    r"^(_symmetry_space_group_name_H-M|_space_group_name_H-M_alt)[ \t]+([^'\"\s][^\n]*?)[ \t]*$",
    re.M,
)


def fetch_wheel(folder: Path) -> Path:
    """The core-mof wheel in `folder`, downloaded with pip if it is not there yet."""
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob("core_mof-2019.1-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(folder)],
            check=True,
        )
        found = sorted(folder.glob("core_mof-2019.1-*.whl"))
    return found[0]


def entry_key(stem: str, matched: dict[str, str]) -> str:
    """The CSD refcode of a CoRE MOF file (or its stem without the cleaning suffix)."""
    base = _SUFFIX.sub("", stem)
    if _REFCODE.match(base):
        return base
    return matched.get(stem) or base


def family(key: str) -> str:
    return key[:6] if _REFCODE.match(key) else key


def split_of(key: str) -> str:
    """test for half the refcode families, val for 10 % of the rest, train otherwise (stable
    hash)."""
    u = int(hashlib.sha1(family(key).encode()).hexdigest()[:8], 16) / 2**32
    if u >= 1 - TEST_FRACTION:
        return "test"
    return "val" if u < (1 - TEST_FRACTION) * VAL_FRACTION else "train"


def lenient_cif(text: str) -> str:
    """Quote an unquoted multi-word H-M symbol (`P 1`), which strict CIF readers reject."""
    return _UNQUOTED_SYMBOL.sub(lambda m: f"{m.group(1)} '{m.group(2)}'", text)


def read_p1(text: str) -> tuple[tuple[float, ...], np.ndarray, list[str]]:
    """Cell, fractional coordinates and element symbols of a P1 CIF (ValueError if unusable)."""
    block = gemmi.cif.read_string(lenient_cif(text)).sole_block()
    cell = tuple(
        gemmi.cif.as_number(block.find_value(f"_cell_{k}"))
        for k in ("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")
    )
    operators = [
        o
        for o in (
            block.find_values("_symmetry_equiv_pos_as_xyz")
            or block.find_values("_space_group_symop_operation_xyz")
        )
    ]
    if len(operators) > 1:
        raise ValueError("not a P1 file")
    table = block.find("_atom_site_", ["fract_x", "fract_y", "fract_z", "type_symbol"])
    xyz = np.array([[gemmi.cif.as_number(row[i]) for i in range(3)] for row in table], dtype=float)
    elements = [gemmi.cif.as_string(row[3]) for row in table]
    if not len(elements) or not np.all(np.isfinite(xyz)) or not all(np.isfinite(cell)):
        raise ValueError("no atoms or bad numbers")
    if len(elements) > MAX_ATOMS:
        raise ValueError(f"more than {MAX_ATOMS} atoms")
    return cell, xyz, elements


def space_group_number(
    cell, xyz: np.ndarray, elements: list[str], symprec: float = SYMPREC
) -> int | None:
    lattice = np.array(gemmi.UnitCell(*cell).orth.mat.tolist()).T
    numbers = [gemmi.Element(e).atomic_number for e in elements]
    if 0 in numbers:
        return None
    spglib.error.OLD_ERROR_HANDLING = (
        False  # errors as exceptions (the old None return is deprecated)
    )
    try:
        found = spglib.get_symmetry_dataset(
            (lattice, xyz % 1.0, numbers), symprec=symprec, angle_tolerance=ANGLE_TOLERANCE
        )
    except spglib.error.SpglibError:
        return None
    return None if found is None else int(found.number)


def p1_sticks(
    cell, xyz: np.ndarray, elements: list[str], u_iso: float
) -> tuple[Sticks, np.ndarray]:
    """Every reflection of the P1 cell to the grid's end, and the Cartesian reciprocal-lattice
    matrix that preferred orientation needs."""
    xs = xray.structure(crystal_symmetry=crystal.symmetry(unit_cell=cell, space_group_symbol="P1"))
    for k, (site, element) in enumerate(zip(xyz, elements)):
        xs.add_scatterer(
            xray.scatterer(
                label=f"{element}{k}", site=tuple(site), u=u_iso, scattering_type=element
            )
        )
    sticks = sticks_from_xray(
        xs, two_theta_max=GRID_STOP + 1.0, algorithm="fft", max_reflections=None
    )
    return sticks, np.array(xs.unit_cell().fractionalization_matrix()).reshape(3, 3)


def entries(wheel: Path):
    """(set, file stem, CIF text, refcode map) for every CIF in the wheel, sets in preference
    order."""
    with zipfile.ZipFile(wheel) as archive:
        for name in SETS:
            matched = {}
            with archive.open(f"CoRE_MOF/data/{name}.csv") as handle:
                for row in csv.DictReader(
                    io.TextIOWrapper(handle, encoding="utf-8", errors="replace")
                ):
                    code = (row.get("Matched_CSD_of_CoRE") or "").strip()
                    if code and _REFCODE.match(code):
                        matched[row["filename"]] = code
            with (
                archive.open(f"CoRE_MOF/data/{name}.tar.xz") as handle,
                tarfile.open(fileobj=io.BytesIO(handle.read()), mode="r:xz") as tar,
            ):
                for member in tar:
                    if member.isfile() and member.name.endswith(".cif"):
                        stem = Path(member.name).stem
                        yield name, stem, tar.extractfile(member).read().decode("latin-1"), matched


def build(wheel: Path, share: tuple[float, float] = (0.0, 1.0), seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    data = {split: {"patterns": [], "labels": [], "names": []} for split in AUGMENTATIONS}
    seen, counts, left_out, started = set(), Counter(), Counter(), time.perf_counter()
    for set_name, stem, text, matched in entries(wheel):
        counts[f"files {set_name}"] += 1
        key = entry_key(stem, matched)
        if key in seen:
            counts["duplicate refcodes"] += 1
            continue
        seen.add(key)
        split = split_of(key)
        if not share[0] <= int(hashlib.sha1(key.encode()).hexdigest()[8:16], 16) / 2**32 < share[1]:
            counts["outside the sampled fraction"] += 1
            continue
        try:
            cell, xyz, elements = read_p1(text)
            number = space_group_number(cell, xyz, elements)
            if number is None:
                left_out["spglib found no group"] += 1
                continue
            sticks, reciprocal = p1_sticks(cell, xyz, elements, float(rng.uniform(0.01, 0.05)))
        except (ValueError, RuntimeError) as error:
            left_out[
                f"unreadable: {str(error)[:40]}"
                if "atoms" in str(error) or "P1" in str(error)
                else "unreadable CIF or cell"
            ] += 1
            continue
        for _ in range(AUGMENTATIONS[split]):
            pattern = measured_like(real_sample_effects(sticks, reciprocal, rng), rng)
            data[split]["patterns"].append(pattern.astype(np.float16))
            data[split]["labels"].append(number)
            data[split]["names"].append(f"mof_{key}")
        counts[f"kept {split}"] += 1
        kept = sum(counts[f"kept {s}"] for s in AUGMENTATIONS)
        if kept % 250 == 0:
            print(f"{kept} structures, {time.perf_counter() - started:.0f} s", flush=True)
    labels = np.array(data["test"]["labels"], dtype=int)
    balanced = balanced_subset(labels, rng)
    summary = {
        "source": WHEEL,
        "symprec": SYMPREC,
        "angle_tolerance": ANGLE_TOLERANCE,
        "structures": dict(sorted(counts.items())),
        "left_out": dict(left_out),
        "fraction": share[1] - share[0],
        "share": list(share),
        "seed": seed,
        "test_space_groups": int(len(np.unique(labels))) if len(labels) else 0,
        "balanced_classes": int(len(np.unique(labels[balanced]))) if balanced.any() else 0,
        "balanced_structures": int(balanced.sum()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    data["test"]["balanced"] = balanced
    return data, summary


def balanced_subset(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """MOF-Balanced: BALANCED_PER_CLASS random test structures of every class with more than
    that."""
    mask = np.zeros(len(labels), dtype=bool)
    for number, count in zip(*np.unique(labels, return_counts=True)):
        if count > BALANCED_PER_CLASS:
            mask[
                rng.choice(np.flatnonzero(labels == number), BALANCED_PER_CLASS, replace=False)
            ] = True
    return mask


def merge(paths: list[Path], seed: int = 0) -> tuple[dict, dict]:
    """Sets built on disjoint shares as one (MOF-Balanced drawn again from the joint test split)."""
    data = {split: {"patterns": [], "labels": [], "names": []} for split in AUGMENTATIONS}
    summary: dict = {
        "merged": [str(p) for p in paths],
        "structures": Counter(),
        "left_out": Counter(),
        "fraction": 0.0,
        "seed": seed,
    }
    for path in paths:
        with np.load(path) as stored:
            for split in AUGMENTATIONS:
                for field in ("patterns", "labels", "names"):
                    data[split][field].extend(stored[f"{split}_{field}"])
        part = json.loads(path.with_suffix(".summary.json").read_text())
        summary["structures"].update(
            {k: v for k, v in part["structures"].items() if k != "outside the sampled fraction"}
        )
        summary["left_out"].update(part["left_out"])
        summary["fraction"] += part["fraction"]
        summary.update(
            source=part["source"], symprec=part["symprec"], angle_tolerance=part["angle_tolerance"]
        )
    for name in SETS:  # every part reads every file and sees the same duplicates
        summary["structures"][f"files {name}"] //= len(paths)
    summary["structures"]["duplicate refcodes"] //= len(paths)
    labels = np.array(data["test"]["labels"], dtype=int)
    data["test"]["balanced"] = balanced = balanced_subset(labels, np.random.default_rng(seed))
    summary.update(
        structures=dict(sorted(summary["structures"].items())),
        left_out=dict(summary["left_out"]),
        test_space_groups=int(len(np.unique(labels))),
        balanced_classes=int(len(np.unique(labels[balanced]))),
        balanced_structures=int(balanced.sum()),
    )
    return data, summary


def save(data: dict, summary: dict, output: Path) -> None:
    dataset.save(data, summary, output, {"test_balanced": data["test"]["balanced"]})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument(
        "--wheel-dir", type=Path, default=Path("data/core_mof"), help="where the wheel is kept"
    )
    parser.add_argument(
        "--share",
        type=span(float),
        default=(0.0, 1.0),
        help="A:B keeps the distinct structures whose refcode hash falls in [A, B): a partial set",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="merge these sets (disjoint shares) into OUTPUT instead",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.merge:
        data, summary = merge(args.merge, args.seed)
    else:
        data, summary = build(fetch_wheel(args.wheel_dir), args.share, args.seed)
    save(data, summary, args.output)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
