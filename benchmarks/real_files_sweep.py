"""Real files written elsewhere (other labs, other programs), each read by CrystalX and by an
independent reader, then run through `crystalx assign`: what a user's own files meet.

For every .res, .ins, .cif and .mcif (and .pdb/.ent, refused as macromolecules) under FOLDER:
CrystalX's reader (crystalx_core.io.load) is compared with iotbx.shelx
(`xray.structure.from_shelx`, and its lexer for SFAC/UNIT) for a SHELX file, with gemmi
(`make_small_structure_from_block`, the block CrystalX chose) for a CIF: cell, atom count,
SFAC/UNIT, occupancies and U (Uiso, Uij) by label. Then `crystalx assign FILE --json` runs in its
own process (nice'd, --timeout seconds), with `--hkl` where a .hkl of the same name lies beside
it (unless --no-hkl), its outputs in a scratch folder; the input's bytes are compared before and
after, the elements and H counts against the file's own (its published model).

Prints one row per file (file, reader agreement, exit code, one-line outcome) and the counts.

    PYTHONPATH=. python benchmarks/real_files_sweep.py /work/realfiles [--timeout 300]
        [--jsonl rows.jsonl] [--no-assign] [--no-hkl] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# a user's model files, and what else one may hand over: a magnetic CIF (.mcif), the PDB's
# macromolecular models (.pdb, .ent), which CrystalX refuses as out of scope
SUFFIXES = {".res", ".ins", ".cif", ".mcif", ".pdb", ".ent"}
CIF_LIKE = {".cif", ".mcif"}
_Q_PEAK = re.compile(r"^Q\d+$", re.I)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _our_sites(structure) -> list:
    """Every atom CrystalX read, the atoms of a mixed site (EXYZ) counted each; peaks left out."""
    out = []
    for site in structure.sites:
        for s in (site, *site.mixed):
            if s.element is not None and not _Q_PEAK.match(s.label):
                out.append(s)
    return out


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def _compare_cell(ours, theirs, diffs: list[str]) -> None:
    if any(not _close(a, b, 2e-4 * max(1.0, abs(b))) for a, b in zip(ours, theirs)):
        diffs.append(
            f"cell {tuple(round(x, 4) for x in ours)} vs {tuple(round(x, 4) for x in theirs)}"
        )


def _compare_sites(ours: dict, theirs: dict, diffs: list[str]) -> None:
    """ours/theirs: label -> (occupancy, u_iso or None, u_cif 6-tuple or None, xyz)."""
    if len(ours) != len(theirs):
        only_ours = sorted(set(ours) - set(theirs))[:4]
        only_theirs = sorted(set(theirs) - set(ours))[:4]
        diffs.append(
            f"atoms {len(ours)} vs {len(theirs)}"
            + (f" (only ours {only_ours})" if only_ours else "")
            + (f" (only theirs {only_theirs})" if only_theirs else "")
        )
    occ, uiso, uij, xyz = [], [], [], []
    for label in sorted(set(ours) & set(theirs)):
        (o1, i1, a1, x1), (o2, i2, a2, x2) = ours[label], theirs[label]
        if any(not _close(a, b, 2e-4) for a, b in zip(x1, x2)):
            xyz.append(f"{label} {tuple(round(v, 4) for v in x1)}/{tuple(round(v, 4) for v in x2)}")
        if o2 is not None and not _close(o1, o2, 2e-3):
            occ.append(f"{label} {o1:.4g}/{o2:.4g}")
        if a1 is not None and a2 is not None:
            if any(not _close(x, y, 2e-4) for x, y in zip(a1, a2)):
                uij.append(label)
        elif (a1 is None) != (a2 is None):
            uij.append(f"{label}(aniso {'ours' if a1 else 'theirs'} only)")
        elif i1 is not None and i2 is not None and i2 > 0 and not _close(i1, i2, 2e-4):
            uiso.append(f"{label} {i1:.4g}/{i2:.4g}")
    for what, bad in (("xyz", xyz), ("occupancy", occ), ("Uiso", uiso), ("Uij", uij)):
        if bad:
            diffs.append(f"{what} differs at {len(bad)}: {', '.join(bad[:3])}")


def _ours_by_label(structure) -> dict:
    out = {}
    for s in _our_sites(structure):
        out.setdefault(s.label.upper(), (s.occupancy, s.u_iso, s.u_aniso, s.frac))
    return out


def _shelx_independent(path: Path, structure, diffs: list[str]) -> None:
    """iotbx.shelx: its lexer for CELL/SFAC/UNIT, its structure builder for the atoms."""
    from cctbx import adptbx, xray
    from iotbx.shelx import lexer

    text = path.read_bytes().decode("latin-1")
    sfac, unit, cell = [], [], None
    for command, _line in lexer.command_stream(file=io.StringIO(text)):
        name, args = command[0], command[-1]
        if name == "SFAC":
            # SFAC El a1 b1 ... (a scattering factor given in full): the first is the type
            if len(args) > 2 and isinstance(args[1], float):
                sfac.append(str(args[0]).upper())
            else:
                sfac += [str(a).upper() for a in args]
        elif name == "UNIT":
            unit += [float(a) for a in args]
        elif name == "CELL":
            cell = tuple(float(a) for a in args[1:7])
        elif name == "END":
            break
    if cell is not None:
        _compare_cell(structure.cell, cell, diffs)
    ours_sfac = [s.upper() for s in structure.sfac]
    if ours_sfac != sfac:
        diffs.append(f"SFAC {ours_sfac} vs {sfac}")
    if [round(u, 3) for u in structure.unit] != [round(u, 3) for u in unit]:
        diffs.append(f"UNIT {list(structure.unit)} vs {unit}")
    try:
        xs = xray.structure.from_shelx(file=io.StringIO(text), strictly_shelxl=False)
    except Exception as exc:  # the independent reader's own limits are reported, not ours
        diffs.append(f"(iotbx cannot build atoms: {type(exc).__name__}: {str(exc)[:60]})")
        return
    uc = xs.unit_cell()
    theirs = {}
    for sc in xs.scatterers():
        if _Q_PEAK.match(sc.label):
            continue
        aniso = adptbx.u_star_as_u_cif(uc, sc.u_star) if sc.flags.use_u_aniso() else None
        # cctbx's order U11 U22 U33 U12 U13 U23; ours is SHELX's U11 U22 U33 U23 U13 U12
        aniso = (
            None if aniso is None else (aniso[0], aniso[1], aniso[2], aniso[5], aniso[4], aniso[3])
        )
        # iotbx gives the occupancy divided by the site's multiplicity factor as SHELX codes it;
        # where an atom sits on a special position the chemical occupancy is what we both hold
        theirs.setdefault(
            sc.label.upper(),
            (sc.occupancy, sc.u_iso if not sc.flags.use_u_aniso() else None, aniso, sc.site),
        )
    _compare_sites(_ours_by_label(structure), theirs, diffs)


def _cif_independent(path: Path, block_name: str, structure, diffs: list[str]) -> None:
    """gemmi's small-structure reader on the block CrystalX read."""
    import gemmi

    doc = gemmi.cif.read(str(path))
    block = doc.find_block(block_name) if block_name else None
    if block is None:
        block = next((b for b in doc if b.find_values("_atom_site_fract_x")), doc[0])
    small = gemmi.make_small_structure_from_block(block)
    if not small.sites:  # gemmi reads DDL1 names only: a CIF2 file's _atom_site.fract_x is none
        diffs.append("(gemmi reads no atom site: CIF2 dotted names)")
        return
    c = small.cell
    _compare_cell(structure.cell, (c.a, c.b, c.c, c.alpha, c.beta, c.gamma), diffs)
    theirs = {}
    for site in small.sites:
        if site.element.atomic_number == 0:
            continue
        aniso = None
        if site.aniso.nonzero():
            a = site.aniso
            aniso = (a.u11, a.u22, a.u33, a.u23, a.u13, a.u12)
        theirs.setdefault(
            site.label.upper(),
            (site.occ, site.u_iso if aniso is None else None, aniso, tuple(site.fract.tolist())),
        )
    _compare_sites(_ours_by_label(structure), theirs, diffs)


def read_both(path: Path) -> tuple[str, str, list]:
    """('agree' or the differences, what CrystalX's reader said when it refused the file, and
    (label, element, published H count) of each non-H atom as the file gives them)."""
    import crystalx_core  # noqa: F401  (cctbx before gemmi)
    from crystalx_core.errors import InputError
    from crystalx_core.io import load

    try:
        loaded = load(path)
    except InputError as exc:
        return "ours refused", str(exc).splitlines()[0][:160], []
    except Exception as exc:  # a traceback in our reader is the finding
        return "ours crashed", f"{type(exc).__name__}: {exc}"[:160], []
    diffs: list[str] = []
    try:
        if path.suffix.lower() in CIF_LIKE:
            block = getattr(loaded, "block", None) or ""
            title = loaded.structure.title or ""
            _cif_independent(path, block or title, loaded.structure, diffs)
        else:
            _shelx_independent(path, loaded.structure, diffs)
    except Exception as exc:
        diffs.append(f"(independent reader failed: {type(exc).__name__}: {str(exc)[:80]})")
    return ("agree" if not diffs else "; ".join(diffs)), "", _published(loaded.structure)


def _published(structure) -> list:
    """(label, element, H count or None) of each non-H atom as the file gives them, in its order:
    the H its published H atoms put there (compare.hydrogens_per_atom), None where the file
    has no H at all (nothing to judge against)."""
    from crystalx_core.crystallography.compare import hydrogens_per_atom

    sites = _our_sites(structure)
    has_h = any(s.element in ("H", "D") for s in sites)
    counts = hydrogens_per_atom(structure) if has_h else {}
    return [
        (s.label, s.element, counts.get(s.label) if has_h else None)
        for s in sites
        if s.element not in ("H", "D")
    ]


def _outcome(rc: int, stdout: str, stderr: str, given: list) -> str:
    if "Traceback" in stderr:
        last = [ln for ln in stderr.splitlines() if ln.strip()][-1:]
        return "TRACEBACK " + (last[0] if last else "")
    if rc == 0:
        try:
            result = json.loads(stdout)
        except ValueError:
            return "ok (no JSON)"
        atoms = result.get("atoms") or []
        # atoms come back in the input's order; a label may repeat (a CIF's 'Label' twice)
        # (a job may leave out an atom the file lists twice: then by label, where labels are unique)
        by_label = {label: (label, el, h) for label, el, h in given}
        unique = len(by_label) == len(given)
        pairs = (
            list(zip(given, atoms))
            if len(given) == len(atoms)
            else [(by_label[a["label"]], a) for a in atoms if a.get("label") in by_label]
            if unique
            else []
        )
        changed = [
            f"{a['label']}>{a['element']}" for (_, el, _), a in pairs if a.get("element") != el
        ]
        h = sum(a.get("h_count") or 0 for a in atoms)
        text = f"ok {len(atoms)} atoms, {h} H counted, {len(changed)} element changed"
        if changed:
            text += f" ({' '.join(changed[:4])})"
        judged = [(n, a) for (_, _, n), a in pairs if n is not None]
        if judged:  # H counts against the published H, on the atoms the file gives H to judge
            h_differ = [
                f"{a['label']} {a.get('h_count') or 0}/{n:g}"
                for n, a in judged
                if (a.get("h_count") or 0) != round(n)
            ]
            text += f", H as published on {len(judged) - len(h_differ)}/{len(judged)}"
            if h_differ:
                text += f" (ours/published: {' '.join(h_differ[:4])})"
        refinement = result.get("refinement") or {}
        r1 = refinement.get("r1") if isinstance(refinement, dict) else None
        if isinstance(r1, (int, float)):
            text += f", R1 {r1:.3f}"
        return text
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return (lines[-1] if lines else f"exit {rc}, nothing on stderr")[:200]


def run_assign(
    path: Path, timeout: float, given: list, with_hkl: bool = True
) -> tuple[int | None, str, bool]:
    """`crystalx assign` on a copy-safe run: exit code, outcome, whether the input changed."""
    before = _digest(path)
    hkl = next(
        (p for p in (path.with_suffix(".hkl"), path.with_suffix(".HKL")) if p.exists()), None
    )
    hkl = hkl if with_hkl else None
    with tempfile.TemporaryDirectory(prefix="cxsweep") as scratch:
        argv = [
            sys.executable,
            "-c",
            "import sys; from crystalx_core.cli import main; sys.exit(main())",
        ]
        argv += ["assign", str(path), "--json", "--quiet", "--out", scratch + os.sep]
        if hkl is not None:
            argv += ["--hkl", str(hkl)]
        try:
            done = subprocess.run(
                ["nice", "-n", "10", *argv], capture_output=True, text=True, timeout=timeout
            )
            rc, outcome = (
                done.returncode,
                _outcome(done.returncode, done.stdout, done.stderr, given),
            )
        except subprocess.TimeoutExpired:
            rc, outcome = None, f"time limit ({timeout:g} s)"
    changed = _digest(path) != before
    return rc, outcome + (" (+hkl)" if hkl is not None else ""), changed


def _index(folder: Path) -> dict[str, tuple[str, str]]:
    """local path -> (repository, program) from FOLDER/INDEX.tsv where there is one (columns
    local, repo, path, commit, program: where each file came from)."""
    index = folder / "INDEX.tsv"
    if not index.exists():
        return {}
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:] if line.strip()]
    return {r[0]: (r[1], r[4] if len(r) > 4 else "") for r in rows if len(r) > 1}


def sweep(
    folder: Path, timeout: float, assign: bool, only: str = "", with_hkl: bool = True
) -> list[dict]:
    index = _index(folder)
    rows = []
    for path in sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
    ):
        name = str(path.relative_to(folder))
        if only and only not in name:
            continue
        started = time.monotonic()
        agreement, refusal, given = read_both(path)
        repo, program = index.get(name, ("", ""))
        row = {"file": name, "repo": repo, "program": program}
        row.update(readers=agreement, reader_error=refusal)
        if assign:
            rc, outcome, changed = run_assign(path, timeout, given, with_hkl)
            row.update(exit=rc, outcome=outcome, input_changed=changed)
        row["seconds"] = round(time.monotonic() - started, 1)
        rows.append(row)
        print(_row_text(row), flush=True)
    return rows


def _row_text(row: dict) -> str:
    readers = row["readers"] + (f": {row['reader_error']}" if row["reader_error"] else "")
    text = f"{row['file']:<48} | {readers[:110]:<110}"
    if "exit" in row:
        text += f" | {row['exit']!s:>4} | {row['outcome'][:120]}"
        if row["input_changed"]:
            text += " | INPUT CHANGED"
    return text


def summary(rows: list[dict]) -> str:
    kinds = Counter(Path(r["file"]).suffix.lower() for r in rows)
    readers = Counter(
        "agree"
        if r["readers"] == "agree"
        else r["readers"]
        if r["readers"].startswith("ours")
        else "independent reader cannot read"
        if r["readers"].startswith("(")
        else "differ"
        for r in rows
    )
    lines = [f"files: {len(rows)} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"]
    repos = {r["repo"] for r in rows if r.get("repo")}
    if repos:
        lines.append(f"sources: {len(repos)} repositories or packages")
    lines.append("readers: " + ", ".join(f"{n} {k}" for k, n in readers.most_common()))
    if rows and "exit" in rows[0]:
        exits = Counter(
            "traceback"
            if r["outcome"].startswith("TRACEBACK")
            else "time limit"
            if r["exit"] is None
            else f"exit {r['exit']}"
            for r in rows
        )
        lines.append("assign: " + ", ".join(f"{n} {k}" for k, n in exits.most_common()))
        lines.append(f"inputs changed: {sum(r['input_changed'] for r in rows)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per assign run")
    parser.add_argument("--no-assign", action="store_true", help="compare the readers only")
    parser.add_argument("--jsonl", type=Path, help="also write the rows as JSON lines here")
    parser.add_argument("--only", default="", help="only files whose path contains this")
    parser.add_argument(
        "--no-hkl", action="store_true", help="assign from the model alone, a .hkl beside it unused"
    )
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    print(
        f"{'file':<48} | {'reader agreement (ours vs iotbx.shelx / gemmi)':<110} | exit | outcome"
    )
    rows = sweep(args.folder, args.timeout, not args.no_assign, args.only, not args.no_hkl)
    print(summary(rows))
    if args.jsonl:
        args.jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
