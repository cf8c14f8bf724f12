"""Public structure sources beyond the shared corpus, fetched as pinned PyPI wheels.

    python -m crystalx_core.training.sources data/sources

downloads the wheels (no install) and unpacks what training reads:
- CoRE MOF 2019 (`core-mof`): metal-organic frameworks from the CSD, free solvent removed
  (FSR), written in P1; entries the database flags as disordered are left out;
- pyxtal's bundled CSD/ICSD examples (`pyxtal/database/cifs`);
- DARTassembler's MetaLigDB (`dartassembler`): CSD ligands with their H atoms, as isolated
  molecules in a P1 box; they feed the hydrogen model, and with the dataset's --ligand-peaks
  also the heavy model (the simulated map of the molecule in its box).

Everything here is rebuilt from the same pinned versions, so a dataset built from it is
reproducible; the product never reads these files.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from crystalx_core.elements import normalise_symbol
from crystalx_core.io.cif import read_consistent_cif
from crystalx_core.structure import Site, Structure

WHEELS = {"core-mof": "2019.1", "pyxtal": "1.1.5", "dartassembler": "1.1.1"}
MOF_ARCHIVE = "CoRE_MOF/data/2019-FSR"  # .csv (properties, DISORDER flag) and .tar.xz (CIFs)
PYXTAL_CIFS = "pyxtal/database/cifs/"
LIGANDS = "DARTassembler/data/metalig/MetaLigDB_v1.1.0.jsonlines.bz2"
BOX_MARGIN = 10.0  # Å of vacuum around a lone ligand: beyond every cutoff the models use


@dataclass
class Entry:
    """One structure a source offers: `name` decides its split, `load` reads it lazily."""

    name: str
    source: str
    load: Callable[[], Structure]
    heavy: bool = True  # usable for the heavy-atom (solver peaks) model
    disorder: str = "no"
    split: str | None = None  # a fixed split instead of the one the name's hash gives


def fetch(folder: Path) -> None:
    """Download the pinned wheels and unpack the structure files into `folder`."""
    wheels = folder / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for name, version in WHEELS.items():
        if not any(wheels.glob(f"{name.replace('-', '_')}-{version}-*.whl")):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--quiet",
                    f"{name}=={version}",
                    "-d",
                    str(wheels),
                ],
                check=True,
            )
    _unpack_mofs(_wheel(wheels, "core-mof"), folder / "coremof")
    _unpack_pyxtal(_wheel(wheels, "pyxtal"), folder / "pyxtal")
    with zipfile.ZipFile(_wheel(wheels, "dartassembler")) as archive:
        (folder / "ligands.jsonlines.bz2").write_bytes(archive.read(LIGANDS))


def _wheel(wheels: Path, name: str) -> Path:
    return next(wheels.glob(f"{name.replace('-', '_')}-{WHEELS[name]}-*.whl"))


def _unpack_mofs(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        rows = list(
            csv.DictReader(io.TextIOWrapper(archive.open(MOF_ARCHIVE + ".csv"), encoding="utf-8"))
        )
        disordered = {row["filename"] for row in rows if row.get("DISORDER", "").strip()}
        with tarfile.open(fileobj=archive.open(MOF_ARCHIVE + ".tar.xz"), mode="r:xz") as tar:
            for member in tar:
                name = Path(member.name).name
                if member.isfile() and name.endswith(".cif") and name[:-4] not in disordered:
                    (out / name).write_bytes(tar.extractfile(member).read())


def _unpack_pyxtal(wheel: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(PYXTAL_CIFS) and name.endswith(".cif"):
                (out / Path(name).name).write_bytes(archive.read(name))


def split_of(name: str) -> str:
    """80/10/10 train/val/test by a stable hash of the structure's name."""
    bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def corpus_entries(corpus: Path) -> Iterator[Entry]:
    """The shared corpus, with its own disorder column (INDEX.tsv)."""
    lines = (corpus / "INDEX.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        if line.strip():
            row = dict(zip(header, line.split("\t")))
            path = corpus / row["file"]
            yield Entry(
                row["file"],
                row["file"].split("_")[0],
                _cif_loader(path),
                disorder=row.get("disorder", "no"),
            )


def folder_entries(folder: Path, source: str) -> Iterator[Entry]:
    for path in sorted(folder.glob("*.cif")):
        yield Entry(f"{source}_{path.stem}", source, _cif_loader(path))


def ligand_entries(path: Path, heavy: bool = False) -> Iterator[Entry]:
    """MetaLigDB ligands as molecules in a P1 box (for the heavy model too only when asked)."""
    with bz2.open(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            yield Entry(f"ligand_{record['key']}", "ligand", _ligand_loader(record), heavy=heavy)


def extra_entries(folder: Path, ligand_peaks: bool = False) -> dict[str, Iterator[Entry]]:
    """Every source `fetch` unpacked into `folder`, by tag; ligand_peaks: the ligands give
    heavy-model examples too."""
    return {
        "coremof": folder_entries(folder / "coremof", "coremof"),
        "pyxtal": folder_entries(folder / "pyxtal", "pyxtal"),
        "ligand": ligand_entries(folder / "ligands.jsonlines.bz2", heavy=ligand_peaks),
    }


def _cif_loader(path: Path) -> Callable[[], Structure]:
    """A corpus file read as `crystalx assign` reads it: what a job refuses is no truth."""
    return lambda: read_consistent_cif(path).structure


def _ligand_loader(record: dict) -> Callable[[], Structure]:
    def load() -> Structure:
        props = record["value"]["atomic_props"]
        xyz = np.column_stack([props["x"], props["y"], props["z"]]).astype(float)
        xyz -= xyz.min(axis=0) - BOX_MARGIN / 2
        edges = xyz.max(axis=0) + BOX_MARGIN / 2
        elements = [normalise_symbol(e) for e in props["atoms"]]
        counts: dict[str, int] = {}
        sites = []
        for element, position in zip(elements, xyz):
            counts[element] = counts.get(element, 0) + 1
            sites.append(Site(f"{element}{counts[element]}", element, tuple(position / edges)))
        return Structure(
            cell=(*edges, 90.0, 90.0, 90.0),
            symops=["x,y,z"],
            sites=sites,
            sfac=list(counts),
            unit=[float(n) for n in counts.values()],
            title=record["key"],
            source="MetaLigDB",
        )

    return load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the wheels and unpacked structures go")
    args = parser.parse_args(argv)
    fetch(args.folder)
    counts = {tag: sum(1 for _ in entries) for tag, entries in extra_entries(args.folder).items()}
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
