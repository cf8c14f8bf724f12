"""Re-assign every structure of a folder: one process per core (or a Dask cluster), models
loaded once per worker, resumable, a failure recorded and the batch going on;
SIGINT/SIGTERM/SIGHUP end it (workers included) at once, and one batch at a time writes to a
folder.

    crystalx batch DIR|GLOB [--workers N] [--out DIR] [--scheduler ADDRESS]
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import threading
import time
import traceback
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator

from crystalx_core.batch_inputs import BatchItem, find_inputs  # noqa: F401  (batch's entry)
from crystalx_core.errors import (
    CrystalXError,
    OutputError,
    Stopped,
    raise_if_stopped,
    signals_raise_stopped,
    wind_down,
)
from crystalx_core.outputs import (
    OUTPUT_MARK,
    drop_temporaries,
    folders_held,
    job_paths,
    quiet_waits,
)

LOW_CONFIDENCE = 0.9
LOCK_NAME = ".crystalx_batch.lock"  # in each output folder while a batch writes there
GRACE_SECONDS = 3.0  # for a stopped worker to drop its temporaries before it is killed
# a lock held longer than this is a running batch's, not another batch's look at it (a batch
# takes and lets go of the locks above and below its folders as it starts)
PROBE_SECONDS = 0.5


@dataclass(frozen=True)
class BatchOptions:
    method: str = "auto"
    hydrogens: str = "auto"
    cycles: int = 10
    out: Path | None = None  # folder for the per-structure outputs (default: next to each input)
    refine: bool = True  # with a same-named .hkl beside the model


def output_prefix(item: BatchItem, options: BatchOptions) -> Path:
    """Beside the model, or under --out in the model's subfolder of the batch's folder (two
    datasets' x.res write x_crystalx.* in folders of their own)."""
    folder = options.out / item.folder if options.out else item.model.parent
    return folder / f"{item.name}{OUTPUT_MARK}"


def _output_root(item: BatchItem, options: BatchOptions) -> Path:
    """The folder the batch was given, or --out: the item's output folder less its subfolder."""
    folder = output_prefix(item, options).parent
    for _ in Path(item.folder).parts:
        folder = folder.parent
    return folder


def finished_row(item: BatchItem, options: BatchOptions) -> dict | None:
    """The row of an earlier run when the model and the reflections it names are the versions
    its job read (resume): their stamps as the job took them before reading, not the outputs'
    time, which an input saved while the job ran (an editor, a .hkl still being written)
    precedes."""
    from crystalx_core.io.files import file_stamp

    report = job_paths(output_prefix(item, options))[".json"]
    try:  # a name too long for the file system (a long file and block name) is no report
        if not report.exists():
            return None
        finished = json.loads(report.read_text())
        read = finished.get("inputs") or {}  # the stamps taken before the job read its inputs
        if read.get("model") != file_stamp(item.model):  # another version: redone, unread
            return None
        loaded = item.load() if options.refine else None  # only for the reflections it names
        reflections = loaded.reflections_file() if loaded else None
        if loaded and read.get("reflections") != file_stamp(reflections):
            return None
        unrefined = loaded.unrefinable(reflections) if loaded else ""
        hkl = "" if unrefined else str(reflections or "")
        row = row_from_report(item, finished, 0.0, resumed=True, hkl=hkl)
        note = _row_note(item, unrefined or _model_only(loaded, reflections), finished, hkl)
        return {**row, "note": note}
    except (CrystalXError, OSError, ValueError, KeyError):  # redone, and reported if it fails
        return None


NO_SOLUTION = (
    "no solution"  # a row's status when the job ran but its model does not explain the data
)


def _row_head(item: BatchItem, hkl: str) -> dict:
    """The columns every row starts with, a failure's included."""
    return {
        "name": item.label,
        "model": str(item.model),
        "hkl": hkl,
        "left_out": [str(path) for path in item.left_out],
    }


def row_from_report(
    item: BatchItem, report: dict, seconds: float, resumed: bool = False, hkl: str = ""
) -> dict:
    """A finished job's row; `hkl` the reflections it refined against."""
    atoms = report["atoms"]
    scores = [
        dict(a["probabilities"]) for a in atoms
    ]  # a report of schema 1 has none: it is redone
    confidences = [s.get(a["element"], 0.0) for a, s in zip(atoms, scores)]
    refinement = report.get("refinement") or {}
    poor = report.get("success") is False  # finished, but the final model does not explain the data
    return {
        **_row_head(item, hkl),
        "status": NO_SOLUTION if poor else "resumed" if resumed else "ok",
        "error": report.get("failure") or "" if poor else "",
        "method": report["method"],
        "atoms": len(atoms),
        "dropped_peaks": len(report.get("dropped_peaks", [])),
        "min_confidence": min(confidences, default=1.0),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else 1.0,
        "flagged": [
            {"label": a["new_label"], "element": a["element"], "p": p, "alternatives": s}
            for a, s, p in zip(atoms, scores, confidences)
            if p < LOW_CONFIDENCE
        ],
        "elements": _count(a["element"] for a in atoms),
        "confidences": confidences,
        "r1": refinement.get("r1"),
        "diff_peak": (refinement.get("difference_map") or {}).get("peak"),
        "seconds": round(seconds, 3),
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def run_one(item: BatchItem, options: BatchOptions) -> dict:
    """Assign (and refine, with reflections) one structure and write its outputs; a failure
    becomes a row, never an exception, so one bad file cannot stop the batch."""
    start = time.perf_counter()
    source = ""
    try:
        from crystalx_core.io import find_reflections
        from crystalx_core.io.files import InputStamps
        from crystalx_core.outputs import write_job_outputs
        from crystalx_core.pipeline import assign_job

        read = InputStamps()
        read.take("model", item.model)
        loaded = item.load()
        where = loaded.reflections_file() if options.refine else None
        read.take("reflections", where)
        unrefined = loaded.unrefinable(where) if options.refine else ""
        model_only = _model_only(loaded if options.refine else None, where)
        if unrefined:  # twin, neutron or Laue data: the atoms are still assigned
            where = None
        source = str(where or "")
        reflections = find_reflections(loaded, where) if where else None
        if reflections is not None:
            source = reflections.path
        result = assign_job(
            loaded.structure,
            reflections,
            options.method,
            options.cycles,
            hydrogens=options.hydrogens,
            shelx=loaded.output_template(),
            cif_weighting=loaded.weighting,
            stated_r1=loaded.stated_r1,
        )
        loaded.add_notes(result, *([unrefined] if unrefined else []))
        changed = read.changed_note()  # a next batch redoes the structure (finished_row)
        if changed:
            result.notes.append(changed)
        inputs = [item.model] + ([where] if where else [])
        _, report, backups = write_job_outputs(  # _run_pending has cleared the temporaries
            result,
            item.model,
            inputs,
            loaded.output_template(),
            output_prefix(item, options),
            stale_after=None,
            read=read.stamps,
        )
        row = row_from_report(item, report, time.perf_counter() - start, hkl=source)
        row_note = _row_note(item, unrefined or model_only, report, source)
        kept = (
            f"the earlier outputs kept as {', '.join(b.name for b in backups)}" if backups else ""
        )
        note = "; ".join(filter(None, (row_note, changed, kept)))
        return {**row, "note": note}
    except OutputError as error:
        row = _failed_row(item, error.one_line(), time.perf_counter() - start, source)
        return {**row, "disk_full": True} if error.disk_full else row
    except CrystalXError as error:
        message = error.one_line()
    except Exception as error:  # noqa: BLE001  (recorded with its traceback's last line; the batch goes on)
        where = traceback.format_exc().splitlines()[-3].strip()
        message = f"internal error: {type(error).__name__}: {error} ({where})"
    return _failed_row(item, message, time.perf_counter() - start, source)


def _model_only(loaded, where: Path | None) -> str:
    """The row's word on a structure (a Loaded; None with --no-refine) assigned without
    reflections because none were found (Loaded.no_reflections_note): an empty R1 column
    otherwise says nothing of why."""
    return loaded.no_reflections_note() if loaded is not None and where is None else ""


def _row_note(item: BatchItem, unrefined: str, report: dict, hkl: str) -> str:
    """The row's word on the file read where its name does not say it (BatchItem.why) and on
    its reflections: why they were not refined, or that their σ were estimated (none given:
    the R1 beside it is not one of measured weights), as the job's notes say at length."""
    note = unrefined
    if not note and (report.get("refinement") or {}).get("sigmas_estimated"):
        note = (
            f"refined with σ estimated: {Path(hkl).name} gives none (each 1 % of the median "
            "Fo², weights from WGHT alone)"
        )
    return "; ".join(filter(None, (item.why, note)))


NOT_DONE = "not done"  # a row's status when a full disk or a stop signal ended the batch before it


def _not_done_row(item: BatchItem, why: str) -> dict:
    return {
        **_row_head(item, ""),
        "status": NOT_DONE,
        "error": f"not done: the batch stopped {why}; the same command does it",
        "seconds": 0.0,
    }


def _full_disk(full: dict) -> str:
    return f"when the disk was full ({full['name']})"


def _failed_row(item: BatchItem, message: str, seconds: float = 0.0, hkl: str = "") -> dict:
    """A structure's failure, with the word on the file read (an .ins edited since SHELXL's
    run read before its .res: the edit is what failed)."""
    return {
        **_row_head(item, hkl),
        "status": "failed",
        "error": message,
        "seconds": round(seconds, 3),
        "note": item.why,
    }


class _WorkerStopped(SystemExit):
    """Raised in a worker by SIGTERM: unwinds the structure in hand (its temporaries are
    removed)."""


def _stop_worker(signum, frame):
    raise _WorkerStopped(128 + signum)


def _watch_parent(parent: int) -> None:
    """A worker whose batch died without stopping it (SIGKILL) stops itself."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(128 + signal.SIGTERM)


# a pool's shared byte, 1 once a worker's outputs found no room (_warm_worker): a lock-free
# RawValue, not an Event, whose lock a worker SIGKILLed inside is_set() would hold for good
_disk_full = None


def _work(item: BatchItem, options: BatchOptions) -> dict | None:
    """run_one in a pool worker; a stopped worker exits instead of taking the next structure,
    and after a full disk none begins another (None: not done). The pool's own cancel comes
    too late for structures already queued to a worker."""
    if _disk_full is not None and _disk_full.value:
        return None
    try:
        row = run_one(item, options)
    except _WorkerStopped as stopped:
        os._exit(stopped.code)
    if row.get("disk_full") and _disk_full is not None:
        _disk_full.value = 1
    return row


def _warm_worker(parent: int, disk_full=None) -> None:
    """Load the ONNX sessions once per worker, before the first structure arrives; one
    onnxruntime thread per worker process (the pool already uses every core).

    Ctrl-C reaches the whole process group: the batch alone handles it and stops the workers;
    one stopped while still loading exits as _work does (the pool would print the exception
    of an initializer, a traceback on the user's terminal).
    """
    global _disk_full
    _disk_full = disk_full
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    try:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
        quiet_waits()  # for its siblings' writes, not "another CrystalX job"
        os.environ.setdefault("CRYSTALX_THREADS", "1")
        with suppress(CrystalXError):  # the structure that needs them reports it
            from crystalx_core.assign import resolve_method

            if resolve_method("auto") == "model":
                from crystalx_core.assign.model import MODEL_DIR, load_model

                load_model(MODEL_DIR, "heavy")
                load_model(MODEL_DIR, "hydrogen")
    except _WorkerStopped as stopped:
        os._exit(stopped.code)


class BatchStopped(Stopped):
    """A stop signal ended the batch: `rows` has every structure's row, in input order, those
    not finished NOT_DONE, for the summary the caller writes (stop signals are ignored until
    its outermost signals_raise_stopped ends: errors.wind_down)."""

    def __init__(self, signum: int, message: str, rows: list[dict]):
        super().__init__(signum, message)
        self.rows = rows


def run_batch(
    items: list[BatchItem],
    options: BatchOptions,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[dict], None] = lambda row: None,
) -> list[dict]:
    """Rows in input order; finished entries from an earlier run are resumed, not redone.

    A stop signal ends the batch and its workers and raises BatchStopped with the rows:
    finished structures keep their outputs, the rest are NOT_DONE and have none, so the same
    command resumes after them. A full disk (a row with disk_full) ends it too, as every later
    structure would compute for minutes and then fail to write: the structures left without a
    row get NOT_DONE ones. In a local pool those are the ones not yet begun (the running ones
    finish or fail); on a Dask cluster every one unfinished, the running ones too
    (run_on_cluster cancels all that remain when it is closed).
    """
    rows: dict[int, dict] = {}
    unfinished: set[int] = set()  # looked at by _run_pending and found not finished before
    started = time.time()
    ran = False  # _run_pending returned: every structure has its row
    try:
        with (
            _folders_locked(
                {output_prefix(item, options).parent for item in items},
                {_output_root(item, options) for item in items},
            ),
            signals_raise_stopped(),
        ):
            try:
                _run_pending(items, options, workers, scheduler, progress, rows, unfinished)
                raise_if_stopped()  # one a finalizer swallowed: still a stopped batch
            except Stopped as stopped:  # the workers have ended (_run_in_pool, run_on_cluster)
                wind_down(stopped)
                why = f"by {signal.Signals(stopped.signum).name}"
                for k, item in enumerate(items):
                    if k not in rows:
                        rows[k] = _row_after_stop(item, options, started, k in unfinished, why)
                raise stopped_batch(stopped.signum, [rows[k] for k in range(len(items))]) from None
            ran = True
    except BatchStopped:
        raise
    except Stopped as stopped:
        if not ran:  # before the batch had its folders: nothing written
            raise
        wind_down(stopped)  # as the batch let go of its folders, every structure done
        raise stopped_batch(stopped.signum, [rows[k] for k in range(len(items))]) from None
    return [rows[k] for k in range(len(items))]


def stopped_batch(signum: int, rows: list[dict]) -> BatchStopped:
    """The BatchStopped of a batch ended by `signum` with these rows (every structure's)."""
    name = signal.Signals(signum).name
    done = sum(1 for row in rows if row["status"] not in ("failed", NOT_DONE))
    rest = "; the same command does the rest" if done < len(rows) else ""
    return BatchStopped(
        signum,
        f"batch stopped by {name}: {done} of {len(rows)} structures finished and keep their "
        f"outputs{rest}",
        rows,
    )


def _row_after_stop(
    item: BatchItem, options: BatchOptions, started: float, looked_at: bool, why: str
) -> dict:
    """The row of a structure left without one by a stop: an earlier run's when _run_pending
    had not looked at it yet (the stop came as it checked what was done before), one written
    meanwhile when it had (its worker finished as the batch stopped), else NOT_DONE."""
    row = _finished_meanwhile(item, options, started) if looked_at else finished_row(item, options)
    return row or _not_done_row(item, why)


def _finished_meanwhile(item: BatchItem, options: BatchOptions, started: float) -> dict | None:
    """The row of a structure whose worker wrote its outputs as the batch was stopping, before
    its result came back; a stat, then a read only for outputs written since `started` (less
    2 s: FAT keeps times to 2 s)."""
    report = job_paths(output_prefix(item, options))[".json"]
    try:
        if report.stat().st_mtime < started - 2.0:
            return None
    except OSError:
        return None
    row = finished_row(item, options)
    return {**row, "status": "ok"} if row and row["status"] == "resumed" else row


def _run_pending(
    items, options, workers, scheduler, progress, rows: dict[int, dict], unfinished: set[int]
) -> None:
    """Resume what an earlier run finished, then run the rest (`unfinished`, filled as they
    are found, tells a stop which structures were already looked at)."""
    pending = []
    for k, item in enumerate(items):
        done = finished_row(item, options)
        if done is not None:
            rows[k] = done
            progress(done)
        else:
            unfinished.add(k)
            pending.append(k)
    _drop_temporaries(items, options, pending)  # under the batch's lock: run_one's writes skip it
    if scheduler:
        cluster = run_on_cluster(scheduler, [items[k] for k in pending], options, pending)
        with closing(cluster):  # closed early, it cancels the rest, running ones too
            for k, row in cluster:
                rows[k] = row
                progress(row)
                if row.get("disk_full"):
                    break
    elif pending:
        workers = max(1, workers or os.cpu_count() or 1)  # each pool no larger than its keys
        tries = dict.fromkeys(pending, 0)
        while pending:
            broken = _run_in_pool(items, options, workers, pending, rows, progress)
            pending = []
            if full_row(rows.values()):
                _drop_temporaries(items, options, broken)
                break
            for k in broken:  # a worker died (killed; the system out of memory): once more
                tries[k] += 1
                if tries[k] < POOL_TRIES:
                    pending.append(k)
                else:
                    rows[k] = _failed_row(items[k], WORKER_DIED)
                    progress(rows[k])
            _drop_temporaries(items, options, pending)  # what the dead workers left
    full = full_row(rows[k] for k in sorted(rows))
    for k, item in enumerate(items):
        if full and k not in rows:
            rows[k] = _not_done_row(item, _full_disk(full))
            progress(rows[k])


def full_row(rows: Iterable[dict]) -> dict | None:
    """The first row whose outputs found the disk full, if one did: it stops the batch."""
    return next((row for row in rows if row.get("disk_full")), None)


def _drop_temporaries(items, options, keys: list[int]) -> None:
    """What a worker killed while writing the outputs of `keys` (this batch or one before it)
    left; one look at each folder."""
    names: dict[Path, set[str]] = {}
    for k in keys:
        for path in job_paths(output_prefix(items[k], options)).values():
            names.setdefault(path.parent, set()).add(path.name)
    with folders_held(names):  # a standalone job writing there now finishes first
        for folder, ours in names.items():
            drop_temporaries(folder, ours)


POOL_TRIES = 2  # a structure whose worker dies twice is recorded as failed, the batch goes on
WORKER_DIED = (
    "the worker process assigning it died twice (killed, or by the system for lack of "
    "memory); the same command tries it again"
)


def _run_in_pool(items, options, workers, keys, rows: dict[int, dict], progress) -> list[int]:
    """Run `keys` in a fresh pool of `workers` processes; returns the keys left unfinished
    because a worker process died (every one then running or queued is)."""
    context = get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(keys)),
        mp_context=context,
        initializer=_warm_worker,
        initargs=(os.getpid(), context.RawValue("b", 0)),
    )
    broken = []
    try:
        futures = {pool.submit(_work, items[k], options): k for k in keys}
        for future in as_completed(futures):
            try:
                row = future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                continue
            except CancelledError:  # after a full disk: not begun, so not done
                continue
            if row is None:  # not begun after a full disk (_work)
                continue
            rows[futures[future]] = row
            progress(rows[futures[future]])
            if rows[futures[future]].get("disk_full"):
                for queued in futures:  # those already running finish (or fail) on their own
                    queued.cancel()
        pool.shutdown()
    except BaseException:
        _stop_pool(pool)
        raise
    return sorted(broken)


def run_on_cluster(
    address: str, items: list[BatchItem], options: BatchOptions, keys: list[int]
) -> Iterator[tuple[int, dict]]:
    """(key, row) as structures finish on the Dask cluster at `address` (extra `dask`), for
    folders that outgrow one machine; each worker loads the ONNX sessions on its first
    structure and keeps them."""
    try:
        from distributed import Client, as_completed as finished
    except ImportError:
        raise CrystalXError("--scheduler needs Dask: pip install 'crystalx[dask]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise CrystalXError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        futures = {
            client.submit(_work_on_cluster, item, options, pure=False): (key, item)
            for key, item in zip(keys, items)
        }
        try:
            for future in finished(futures):
                key, item = futures[future]
                try:
                    row = future.result()
                except Exception as error:  # noqa: BLE001  (KilledWorker: the workers running it died)
                    why = f"the Dask workers running it died ({type(error).__name__}: {error})"
                    row = _failed_row(item, why)
                yield key, row
        # a stop (Stopped), or closed after a full disk (GeneratorExit): the workers drop this
        # batch's structures, running ones too
        except BaseException:
            client.cancel(list(futures), force=True)
            _wait_released(client, [future.key for future in futures])
            raise


def _wait_released(client, keys: list) -> None:
    """Return once no worker holds one of the stopped batch's tasks (GRACE_SECONDS at most):
    the cancel reaches a worker a moment after it is sent, and a structure finishing in that
    moment would otherwise write its outputs after the batch had said it stopped."""
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        try:
            held = client.run(_holds_any, keys)
        except Exception:  # a worker gone or unreachable holds nothing we can wait for
            return
        if not any(held.values()):
            return
        time.sleep(0.05)


def _holds_any(keys: list, dask_worker=None) -> bool:
    """On a worker (Client.run passes it as dask_worker): whether it still holds one of keys."""
    return any(key in dask_worker.state.tasks for key in keys)


def _work_on_cluster(item: BatchItem, options: BatchOptions) -> dict | None:
    """run_one in a Dask task. Dask never interrupts a running task, so once the batch cancels
    this one, _CancelWatch raises _WorkerStopped in its thread, as SIGTERM does in a pool
    worker: the structure in hand unwinds and writes nothing."""
    try:
        watch = _CancelWatch()
        try:
            return run_one(item, options)
        finally:
            watch.end()
    except _WorkerStopped:
        return None


class _CancelWatch:
    """Watches the calling Dask task from a second thread; when the worker has cancelled or
    forgotten it, raises _WorkerStopped in the task's thread, never after end()."""

    def __init__(self, interval: float = 0.1):
        from distributed import get_worker

        self.worker = get_worker()
        self.key = self.worker.get_current_task()
        self.thread = threading.get_ident()
        self.lock = threading.Lock()
        self.ended = threading.Event()
        threading.Thread(target=self._watch, args=(interval,), daemon=True).start()

    def _cancelled(self) -> bool:
        task = self.worker.state.tasks.get(self.key)
        return task is None or task.state == "cancelled"

    def _watch(self, interval: float) -> None:
        while not self.ended.wait(interval):
            if self._cancelled():
                with self.lock:
                    if not self.ended.is_set():
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(self.thread), ctypes.py_object(_WorkerStopped)
                        )
                return

    def end(self) -> None:
        with self.lock:
            self.ended.set()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """End the workers now; the executor alone would let each finish its structure and the
    ones already queued. SIGTERM first, so they remove their temporaries; SIGKILL after a grace."""
    workers = list((pool._processes or {}).values())  # no public handle on them before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        with suppress(OSError):
            worker.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join(1.0)


@contextmanager
def _folders_locked(folders: set[Path], roots: set[Path] = frozenset()):
    """One batch at a time per output folder, so two batches never compute every structure
    twice; the lock is the system's (flock), so a killed batch's lock goes with it. The batch
    holds the lock of each folder that lies in none of the others nor in one of `roots` (the
    folder it was given, or --out): a tree of a thousand datasets is one open file, not a
    thousand (macOS allows 256); a batch holding a lock below those folders, or above them,
    stops this one."""
    from filelock import FileLock, Timeout

    held = _outermost(folders | set(roots))
    # each output folder and the folders between it and the one held: a batch running on
    # ROOT/lab holds ROOT/lab's lock, which a batch on ROOT (writing to ROOT/lab/s1) must see
    below = {
        path
        for folder in folders
        for path in (folder, *folder.parents)
        if any(root in path.parents for root in held)
    }
    above = {parent for folder in held for parent in folder.resolve().parents}
    with ExitStack() as stack:
        for folder in sorted(held | below | above):
            lock = folder / LOCK_NAME
            if folder not in held and not lock.is_file():  # no batch ever ran there
                continue
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with ExitStack() as probe:  # a folder below or above: looked at, then let go
                    probe.enter_context(FileLock(str(lock), timeout=PROBE_SECONDS))
                    if folder in held:
                        stack.push(probe.pop_all())
            except Timeout:
                raise CrystalXError(
                    "another crystalx batch is writing to this folder; wait for it to end or "
                    "stop it",
                    str(folder.resolve()),
                ) from None
            except OSError as error:
                if folder not in held:  # a lock we may not open is no batch of ours
                    continue
                raise OutputError(
                    f"cannot lock the folder: {error.strerror or error}",
                    str(folder),
                    errno=error.errno,
                ) from None
        yield


def _outermost(folders: set[Path]) -> set[Path]:
    """The folders that lie in none of the others."""
    resolved = {folder: folder.resolve() for folder in folders}
    return {
        folder
        for folder, path in resolved.items()
        if not any(other in path.parents for other in resolved.values())
    }
