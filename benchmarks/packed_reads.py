"""What reading reflections packed in gzip, bzip2 or xz costs beside the plain file.

    PYTHONPATH=TREE python benchmarks/packed_reads.py [--hkl FILE] [--repeat 3]

Packs FILE (default FC_sucrose's data.hkl, 119,065 reflections) with Python's gzip, bz2 and lzma
at their default levels in a temporary folder and prints, for the plain file and each packed
copy, its size and the best of --repeat timings of read_reflections. Run from the tree's root.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import tempfile
import time
from pathlib import Path

from crystalx_core.io import read_reflections

PACKERS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def best_seconds(path: Path, repeat: int) -> tuple[float, int]:
    """(the fastest of `repeat` reads, the reflections read)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(read_reflections(path))
        times.append(time.perf_counter() - start)
    return min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hkl", type=Path, default=Path("../shared/data/benchmark/FC_sucrose/data.hkl")
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    raw = args.hkl.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        files = {"plain": args.hkl}
        for suffix, pack in PACKERS.items():
            files[suffix] = Path(folder) / f"data.hkl{suffix}"
            files[suffix].write_bytes(pack(raw))
        for name, path in files.items():
            seconds, count = best_seconds(path, args.repeat)
            print(
                f"{name:6s} {path.stat().st_size:>10,d} bytes  {count} reflections  {seconds:.2f} s"
            )


if __name__ == "__main__":
    main()
