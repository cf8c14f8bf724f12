"""Speed and memory: ONNX Runtime against the same weights in eager PyTorch, per structure size,
and batch throughput on the shared corpus. Prints the figures and writes docs/benchmarks.md.

    python benchmarks/perf_benchmark.py ../shared/data/corpus [--sizes 20 50 100 370 1000]
    python benchmarks/perf_benchmark.py ../shared/data/corpus --scaling [1000 2000 5000]
    python benchmarks/perf_benchmark.py ../shared/data/corpus --models onnx_models B --sizes 100

Structures are real corpus entries; sizes beyond the largest asymmetric unit are the full
unit-cell contents (P1) of a real structure. Each (size, runtime) runs in its own process so
its peak RSS is its own. Needs the `train` extra for the PyTorch side (checkpoints/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.geometry import _expand
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Site, Structure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, _cpu_name, write_section  # noqa: E402

REPEATS = 5
MAX_COPIES = 32  # unit cells side by side for the largest sizes (5,000 atoms: 19 cells, a = 280 Å)
SCALING_SIZES = (1000, 2000, 5000)
SCALING_REPEATS = 3
INTERLEAVED_REPEATS = 41  # the ratio: both runtimes in one process, calls alternating
CHECKPOINTS = REPO / "checkpoints"


def structure_of_size(corpus: Path, target: int) -> tuple[str, Structure]:
    """Ordered corpus entry whose asymmetric unit (or, if needed, unit cell) is nearest `target`
    non-H atoms."""
    lines = (corpus / "INDEX.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]
    rows = [r for r in rows if r["disorder"] == "no"]
    best = min(rows, key=lambda r: abs(int(r["n_nonH"]) - target))
    if abs(int(best["n_nonH"]) - target) <= 0.1 * target:
        return best["file"], _heavy_peaks(read_cif(corpus / best["file"]).structure)
    for row in sorted(
        rows, key=lambda r: -int(r["n_nonH"])
    ):  # the cell contents of a real structure
        structure = read_cif(corpus / row["file"]).structure
        cell = _p1(structure)
        n = sum(1 for s in cell.sites if not is_hydrogen(s.element))
        if abs(n - target) <= 0.1 * target:
            return f"{row['file']} (unit cell, P1)", _heavy_peaks(cell)
    for row in sorted(
        rows, key=lambda r: -int(r["n_nonH"])
    ):  # a supercell of a real structure's unit cell
        cell = _p1(read_cif(corpus / row["file"]).structure)
        n = sum(1 for s in cell.sites if not is_hydrogen(s.element))
        copies = round(target / n)
        if 2 <= copies <= MAX_COPIES and abs(copies * n - target) <= 0.1 * target:
            return f"{row['file']} ({copies} unit cells along a, P1)", _heavy_peaks(
                _along_a(cell, copies)
            )
    raise SystemExit(f"no corpus structure near {target} non-H atoms")


def _p1(structure: Structure) -> Structure:
    images = _expand(structure)
    sites = [
        Site(f"{structure.sites[i].element}{k + 1}", structure.sites[i].element, tuple(f % 1.0))
        for k, (i, f) in enumerate(zip(images.site, images.frac))
    ]
    return Structure(
        cell=structure.cell, symops=["x,y,z"], sites=sites, sfac=structure.sfac, unit=structure.unit
    )


def _along_a(cell: Structure, copies: int) -> Structure:
    """`copies` P1 cells side by side along a."""
    a, b, c, alpha, beta, gamma = cell.cell
    sites = [
        Site(
            f"{s.element}{k * len(cell.sites) + i + 1}",
            s.element,
            ((s.frac[0] + k) / copies, *s.frac[1:]),
        )
        for k in range(copies)
        for i, s in enumerate(cell.sites)
    ]
    return Structure(
        cell=(copies * a, b, c, alpha, beta, gamma),
        symops=["x,y,z"],
        sites=sites,
        sfac=cell.sfac,
        unit=[copies * u for u in cell.unit],
    )


def _heavy_peaks(structure: Structure) -> Structure:
    heavy = [s for s in structure.sites if not is_hydrogen(s.element)]
    return structure.with_sites(
        [
            Site(f"Q{k + 1}", None, s.frac, peak_height=float(atomic_number(s.element)))
            for k, s in enumerate(heavy)
        ]
    )


# --- one measurement, in a child process --------------------------------------------------------


def measure(path: Path, runtime: str) -> dict:
    """Featurisation, heavy and hydrogen inference (median of REPEATS) and end-to-end assign."""
    import pickle
    from crystalx_core.assign import apply_assignment
    from crystalx_core.assign.model import MODEL_DIR, assign_model, load_model
    from crystalx_core.features import build_graph

    structure = pickle.loads(path.read_bytes())
    heavy_onnx, hydrogen_onnx = (
        load_model(str(MODEL_DIR), "heavy"),
        load_model(str(MODEL_DIR), "hydrogen"),
    )
    answer = assign_model(structure)
    assigned = apply_assignment(structure, answer)
    guesses = [atomic_number(s.element) for s in assigned.sites]
    timings: dict[str, list[float]] = {"featurise": [], "heavy": [], "hydrogen": [], "assign": []}
    if runtime == "torch":
        heavy_run, hydrogen_run = _torch_runner("heavy"), _torch_runner("hydrogen")
    else:
        heavy_run, hydrogen_run = heavy_onnx.predict, hydrogen_onnx.predict
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        graph = build_graph(assigned, guesses, heavy_onnx.cutoff, heavy_onnx.context)
        t1 = time.perf_counter()
        heavy_run(graph)
        t2 = time.perf_counter()
        hydrogen_run(graph)
        t3 = time.perf_counter()
        if runtime == "onnx":
            from crystalx_core.pipeline import assign_job

            assign_job(structure, None, "model")
        t4 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            timings[key].append(value)
    row = {key: statistics.median(values) for key, values in timings.items()}
    row["provider"] = heavy_onnx.provider if runtime == "onnx" else "torch eager (CPU)"
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def measure_interleaved(path: Path) -> dict:
    """Inference times of both runtimes in one process, calls alternating (ONNX, torch, ONNX, ...),
    so machine noise hits both alike; medians of INTERLEAVED_REPEATS."""
    import pickle
    from crystalx_core.assign import apply_assignment
    from crystalx_core.assign.model import MODEL_DIR, assign_model, load_model
    from crystalx_core.features import build_graph

    structure = pickle.loads(path.read_bytes())
    assigned = apply_assignment(structure, assign_model(structure))
    runners = {}
    for name in ("heavy", "hydrogen"):
        model = load_model(str(MODEL_DIR), name)
        runners[f"onnx_{name}"], runners[f"torch_{name}"] = model.predict, _torch_runner(name)
        runners[f"stock_{name}"] = _torch_runner(name, stock=True)
    graph = build_graph(
        assigned, [atomic_number(s.element) for s in assigned.sites], model.cutoff, model.context
    )
    for name in ("heavy", "hydrogen"):  # same weights, same answers, whichever forward runs them
        onnx, ours, stock = (
            runners[f"{kind}_{name}"](graph) for kind in ("onnx", "torch", "stock")
        )
        assert np.abs(onnx - ours).max() < 1e-3 and np.abs(onnx - stock).max() < 1e-3, name
    timings: dict[str, list[float]] = {key: [] for key in runners}
    for repeat in range(INTERLEAVED_REPEATS + 1):
        for key, run in runners.items():
            t0 = time.perf_counter()
            run(graph)
            if repeat:  # the first round warms both up
                timings[key].append(time.perf_counter() - t0)
    result = {key: statistics.median(values) for key, values in timings.items()}
    for name in ("heavy", "hydrogen"):  # per round: each torch run over the ONNX run of that round
        for torch_kind in ("stock", "torch"):
            result[f"ratio_{torch_kind}_{name}"] = statistics.median(
                t / o for o, t in zip(timings[f"onnx_{name}"], timings[f"{torch_kind}_{name}"])
            )
    return result


def _torch_runner(name: str, stock: bool = False):
    """The checkpoint's weights in eager PyTorch: our export forward on the same graph, or with
    `stock` torchmd-net's own TorchMD_ET forward (its neighbour list, its scatter) and our head."""
    import numpy as np
    import torch
    import crystalx_core.training  # noqa: F401  (torch beside cctbx: see its docstring)
    from crystalx_core.training.atoms.model import AtomClassifier, ModelConfig

    config = ModelConfig.load(CHECKPOINTS / name / "config.json")
    model = AtomClassifier(config)
    model.load_state_dict(torch.load(CHECKPOINTS / name / "best.pt", weights_only=True))
    model.eval()

    def logits_of(graph):
        z, pos = torch.from_numpy(graph.z), torch.from_numpy(graph.pos)
        if not stock:
            return model(
                z, pos, torch.from_numpy(graph.edge_index), torch.from_numpy(graph.incoming)
            )
        x, vec, *_ = model.representation(z, pos, torch.zeros(len(z), dtype=torch.long))
        return model.classify(x, vec)

    def run(graph):
        with torch.inference_mode():
            logits = logits_of(graph)
        return np.asarray(torch.softmax(logits[: graph.n_centre], dim=1))

    return run


# --- end to end at scale ------------------------------------------------------------------------

# `crystalx assign`, then the process's own peak RSS (KiB) and CPU seconds as the last line on
# stderr
_CHILD = (
    "import resource, sys; from crystalx_core.cli import main; code = main(sys.argv[1:]); "
    "use = resource.getrusage(resource.RUSAGE_SELF); "
    "print(use.ru_maxrss, use.ru_utime + use.ru_stime, file=sys.stderr); sys.exit(code)"
)


def end_to_end(
    corpus: Path, size: int, work: Path, models: Path | None = None, repeats: int = SCALING_REPEATS
) -> dict:
    """`crystalx assign x.res` in a fresh process (start-up, reading, both models, riding H and
    the three output files), on the peaks of a real structure of about `size` non-H atoms:
    median wall and CPU time of `repeats` runs and the largest peak RSS. CPU time
    (user + system) is what the run costs on an idle machine; on a shared one the wall time
    also holds the waits for a core. `models`: the model folder (CRYSTALX_MODELS) to run."""
    from crystalx_core.io.shelx_write import new_ins_text

    name, structure = structure_of_size(corpus, size)
    res = work / f"scale{size}.res"
    res.write_text(new_ins_text(structure, keep_peaks=True))
    seconds, cpu, peaks = [], [], []
    env = {**os.environ, "CRYSTALX_THREADS": "1"}
    if models is not None:
        env["CRYSTALX_MODELS"] = str(models.resolve())
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                "assign",
                str(res),
                "--quiet",
                "--json",
                "--out",
                str(work / f"scale{size}_out"),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        seconds.append(time.perf_counter() - t0)
        if done.returncode:
            raise SystemExit(f"assign failed at {size} atoms: {done.stderr.strip()}")
        rss, used = done.stderr.strip().splitlines()[-1].split()
        peaks.append(int(rss) / 1024)
        cpu.append(float(used))
    return {
        "atoms": len(structure.sites),
        "structure": name,
        "seconds": statistics.median(seconds),
        "cpu_seconds": statistics.median(cpu),
        "all_seconds": seconds,
        "peak_rss_mib": max(peaks),
        "load": os.getloadavg()[0],
    }


COMPARE_ROUNDS = 7


def compare_models(corpus: Path, folders: list[Path], sizes, output: Path) -> int:
    """`crystalx assign` end to end with each model folder, side by side: rounds of one run per
    folder in turn, so the machine's load hits all alike; medians of COMPARE_ROUNDS rounds."""
    lines = [
        "### `crystalx assign` end to end, model folders side by side "
        "(`benchmarks/perf_benchmark.py --models`)",
        "",
        f"Machine: {_cpu_name()}. As the scaling table (fresh process, one thread), the folders "
        f"taking turns, median of {COMPARE_ROUNDS} runs each; the ratio is to the first folder.",
        "",
        "| non-H peaks | structure | model folder | ONNX files | CPU (s) | wall (s) "
        "| ratio (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as work:
        for size in sizes:
            runs = {folder: [] for folder in folders}
            for _ in range(COMPARE_ROUNDS):
                for folder in folders:
                    runs[folder].append(end_to_end(corpus, size, Path(work), folder, repeats=1))
            first = statistics.median(r["cpu_seconds"] for r in runs[folders[0]])
            for folder in folders:
                cpu = statistics.median(r["cpu_seconds"] for r in runs[folder])
                wall = statistics.median(r["seconds"] for r in runs[folder])
                files = len(list(folder.glob("heavy*.onnx"))) + len(
                    list(folder.glob("hydrogen*.onnx"))
                )
                row = runs[folder][0]
                lines.append(
                    f"| {row['atoms']} | {row['structure']} | `{folder}` | {files} | {cpu:.2f} | "
                    f"{wall:.2f} | {cpu / first:.2f} |"
                )
                print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(text, "perf_benchmark:models", output)
    return 0


def scaling_exponent(rows: list[dict], key: str = "seconds") -> float:
    """Slope of log(time) against log(atoms): 1 is linear, 2 quadratic."""
    x = np.log([r["atoms"] for r in rows])
    y = np.log([r[key] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def scaling_markdown(rows: list[dict]) -> str:
    lines = [
        "### `crystalx assign` end to end at scale (`benchmarks/perf_benchmark.py --scaling`)",
        "",
        f"Machine: {_cpu_name()}. `crystalx assign x.res` without reflections in a fresh process, "
        "as a user "
        "runs it: start-up and imports, reading, two heavy-model passes and the formula, H counts, "
        "riding H, "
        "and the .res/.cif/.json written. Peaks of real structures (P1 unit cells side by side); "
        "median of "
        f"{SCALING_REPEATS} runs, the largest peak RSS of the process. One thread "
        "(CRYSTALX_THREADS=1), so "
        "the CPU time is the wall time the run takes on an idle core; the wall time here also "
        "holds the "
        "waits for a core on this shared machine (its load average at the time in the table).",
        "",
        "| non-H peaks | structure | CPU (s) | wall (s) | wall of each run (s) | load average | "
        "peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        runs = " / ".join(f"{t:.1f}" for t in r["all_seconds"])
        lines.append(
            f"| {r['atoms']} | {r['structure']} | {r['cpu_seconds']:.1f} | {r['seconds']:.1f} | "
            f"{runs} "
            f"| {r['load']:.1f} | {r['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        f"Scaling exponent (slope of log time on log atoms, {rows[0]['atoms']}–{rows[-1]['atoms']} "
        f"peaks): {scaling_exponent(rows, 'cpu_seconds'):.2f} in CPU time, "
        f"{scaling_exponent(rows):.2f} in wall time.",
    ]
    return "\n".join(lines) + "\n"


# --- batch throughput ---------------------------------------------------------------------------


def batch_throughput(corpus: Path, workers: int, limit: int | None) -> dict:
    """`crystalx batch` over copies of the corpus CIFs; peak RSS summed over its processes."""
    with tempfile.TemporaryDirectory() as work:
        files = sorted(corpus.glob("*.cif"))[:limit]
        for f in files:
            shutil.copy(f, work)
        command = [
            sys.executable,
            "-m",
            "crystalx_core.cli",
            "batch",
            work,
            "--workers",
            str(workers),
            "--quiet",
            "--json",
        ]
        t0 = time.perf_counter()
        stdout, peak_total = _run_sampling_rss(command)
        seconds = time.perf_counter() - t0
        rows = json.loads(stdout)["rows"]
    largest = (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )  # run first: no other children yet
    return {
        "structures": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "seconds": seconds,
        "per_second": len(rows) / seconds,
        "largest_process_rss_mib": largest,
        "peak_total_rss_mib": peak_total,
        "workers": workers,
    }


def _run_sampling_rss(command: list[str]) -> tuple[str, float]:
    """Run `command`; (its stdout, the peak of the summed RSS of it and all its children in MiB),
    sampled every 0.1 s with psutil (installed with the `dask` extra)."""
    import psutil

    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        peak = 0.0
        while process.poll() is None:
            try:
                tree = [psutil.Process(process.pid)] + psutil.Process(process.pid).children(
                    recursive=True
                )
                total = 0
                for member in tree:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
                peak = max(peak, total / 2**20)
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.1)
        out.seek(0)
        return out.read(), peak


def markdown(rows: list[dict], batch: dict | None) -> str:
    lines = [
        "### Speed and memory (`benchmarks/perf_benchmark.py`)",
        "",
        f"Machine: {_cpu_name()}. Per structure, models loaded once; featurise and assign: median "
        "of "
        f"{REPEATS} runs; heavy / hydrogen = one model pass, median of {INTERLEAVED_REPEATS} calls "
        "with "
        "ONNX and torch alternating in one process (so machine noise hits both alike). Torch runs "
        "the "
        "same weights two ways: our export forward on the same graph (\"torch\") and torchmd-net's "
        "own "
        "TorchMD_ET forward with its neighbour list and scatter (\"stock\"); all three agree to "
        "1e-3. "
        "Ratios: median over the rounds of (torch run) / (ONNX run) in the same round, against the "
        "stock "
        "forward (×stock, the library as a PyTorch user runs it) and against our forward in eager "
        "torch "
        "(×torch). Assign = `crystalx assign` without refinement (baseline guesses, two heavy "
        "passes, "
        "H counts, riding H). One thread each (torch is held to one beside cctbx; "
        "CRYSTALX_THREADS=1 for onnxruntime). Peak RSS of the measuring process.",
        "",
        "| non-H atoms | structure | featurise (s) | heavy ONNX / torch / stock (s) | ×stock | "
        "×torch "
        "| hydrogen ONNX / torch / stock (s) | ×stock | ×torch | assign end to end (s) "
        "| peak RSS ONNX / torch (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, t, i = r["onnx"], r["torch"], r["both"]
        cells = []
        for name in ("heavy", "hydrogen"):
            onnx, ours, stock = i[f"onnx_{name}"], i[f"torch_{name}"], i[f"stock_{name}"]
            cells += [
                f"{onnx:.3f} / {ours:.3f} / {stock:.3f}",
                f"{i[f'ratio_stock_{name}']:.1f}×",
                f"{i[f'ratio_torch_{name}']:.1f}×",
            ]
        lines.append(
            f"| {r['atoms']} | {r['structure']} | {o['featurise']:.3f} | {' | '.join(cells)} "
            f"| {o['assign']:.3f} | {o['peak_rss_mib']:.0f} / {t['peak_rss_mib']:.0f} |"
        )
    if batch:
        lines += [
            "",
            f"Batch: `crystalx batch` on {batch['structures']} corpus CIFs with {batch['workers']} "
            "workers: "
            f"{batch['ok']} assigned in {batch['seconds']:.0f} s = {batch['per_second']:.2f} "
            "structures/s; "
            f"peak RSS of the parent and its {batch['workers']} workers together "
            f"{batch['peak_total_rss_mib'] / 1024:.2f} GiB (sampled every 0.1 s), largest single "
            "process "
            f"{batch['largest_process_rss_mib']:.0f} MiB.",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sizes", type=int, nargs="*", default=[20, 50, 100, 370, 1000])
    parser.add_argument(
        "--batch-limit", type=int, help="only the first N corpus files in the batch run"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--measure", nargs=2, metavar=("PICKLE", "RUNTIME"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--scaling",
        type=int,
        nargs="*",
        metavar="ATOMS",
        help="only `crystalx assign` end to end at these sizes "
        f"(default {' '.join(map(str, SCALING_SIZES))})",
    )
    parser.add_argument(
        "--models",
        type=Path,
        nargs="+",
        metavar="FOLDER",
        help="only `crystalx assign` end to end at --sizes with each model folder, side by side",
    )
    args = parser.parse_args(argv)
    if args.models:
        return compare_models(args.corpus, args.models, args.sizes, args.output)
    if args.scaling is not None:
        return run_scaling(args.corpus, args.scaling or SCALING_SIZES, args.output)
    if args.measure:
        result = (
            measure_interleaved(Path(args.measure[0]))
            if args.measure[1] == "both"
            else measure(Path(args.measure[0]), args.measure[1])
        )
        print(json.dumps(result))
        return 0
    import pickle

    batch = batch_throughput(args.corpus, args.workers, args.batch_limit)
    print(json.dumps(batch), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for size in args.sizes:
            name, structure = structure_of_size(args.corpus, size)
            path = Path(work) / f"{size}.pickle"
            path.write_bytes(pickle.dumps(structure))
            row = {"atoms": len(structure.sites), "structure": name}
            for runtime in ("onnx", "torch", "both"):
                done = subprocess.run(
                    [sys.executable, __file__, str(args.corpus), "--measure", str(path), runtime],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "CRYSTALX_THREADS": "1"},
                )
                row[runtime] = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    text = markdown(rows, batch)
    print(text)
    write_section(text, "perf_benchmark", args.output)
    return run_scaling(args.corpus, SCALING_SIZES, args.output)


def run_scaling(corpus: Path, sizes, output: Path) -> int:
    with tempfile.TemporaryDirectory() as work:
        rows = []
        for size in sizes:
            rows.append(end_to_end(corpus, size, Path(work)))
            print(json.dumps(rows[-1]), flush=True)
    text = scaling_markdown(rows)
    print(text)
    print(
        f"scaling exponent: {scaling_exponent(rows, 'cpu_seconds'):.2f} (CPU time), "
        f"{scaling_exponent(rows):.2f} (wall time)"
    )
    write_section(text, "perf_benchmark:scaling", output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
