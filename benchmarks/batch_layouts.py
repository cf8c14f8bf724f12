"""What `crystalx batch` finds in a tree of APEX dataset folders as the instruments leave
them, and what finding it costs: each dataset a folder with SAINT/SADABS files, XPREP's
name.ins without atoms, SHELXT's name_a.res and name_b.res with their .hkl, the SHELXL
refinement name.res, an Explorer copy 'name - Copy.res', and `--frames` detector frames;
the same datasets also laid flat in one folder (no subfolders, as the code of main reads).

    PYTHONPATH=. python benchmarks/batch_layouts.py [--datasets 200] [--frames 500] [--layout tree]

Each layout's line gives the growth of the process's peak RSS while it was searched (the
flat layout's after the tree's: only what goes beyond it); `--layout` searches one alone.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from crystalx_core.batch import find_inputs

# SHELXL's refinement of SHELXT's DK_Zucker2_0m_a.res (dkratzert/FinalCif test data)
SUCROSE = Path(__file__).resolve().parents[2] / "shared/data/benchmark/FC_sucrose/published.res"
HKL = "   1   0   0  100.00    2.00\n   0   0   0    0.00    0.00\n"


def dataset(folder: Path, name: str, frames: int) -> None:
    """One APEX dataset's files in `folder`, named after `name`."""
    res = SUCROSE.read_text()
    files = {f"{name}_0m.{ext}": "x\n" for ext in ("raw", "_ls", "p4p", "abs")}
    files |= {f"{name}_0m.hkl": HKL, f"{name}.hkl": HKL, f"{name}.prp": "x\n"}
    files[f"{name}.ins"] = res[: res.index("L.S.")] + "TREF\nHKLF 4\nEND\n"
    for letter in "ab":  # titled as SHELXT titles each solution (the refinement kept its title)
        solution = res.replace("TITL DK_Zucker2_0m_a.res", f"TITL {name}_{letter}.res")
        files |= {f"{name}_{letter}.res": solution, f"{name}_{letter}.hkl": HKL}
    refined = res.replace("DK_Zucker2_0m_a.res", f"{name}_a.res", 1)  # SHELXL keeps the TITL
    files |= {f"{name}.res": refined, f"{name} - Copy.res": refined}
    files |= {f"{name}_01_{k:04d}.sfrm": "" for k in range(frames)}
    folder.mkdir(parents=True, exist_ok=True)
    for file, text in files.items():
        (folder / file).write_text(text)


def timed(target: str) -> tuple[int, float, float]:
    """Structures found, seconds, and MiB the process's peak RSS grew by meanwhile."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    items = find_inputs(target).items
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024  # KiB on Linux
    return len(items), seconds, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--layout", choices=("tree", "flat", "both"), default="both")
    args = parser.parse_args()
    layouts = ("tree", "flat") if args.layout == "both" else (args.layout,)
    with tempfile.TemporaryDirectory() as tmp:
        find_inputs(tmp)  # the readers' imports (scipy: seconds) are not the search's
        tree, flat = Path(tmp) / "tree", Path(tmp) / "flat"
        for k in range(args.datasets):
            for label in layouts:
                folder = tree / f"s{k:04d}" if label == "tree" else flat
                dataset(folder, f"s{k:04d}", args.frames)
        for label in layouts:
            found, seconds, grown = timed(str(tree if label == "tree" else flat))
            print(
                f"{label}: {args.datasets} datasets, {args.frames} frames each: "
                f"{found} structures in {seconds:.2f} s, peak RSS +{grown:.0f} MiB"
            )


if __name__ == "__main__":
    main()
