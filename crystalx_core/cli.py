"""`crystalx` command line: a thin translator from arguments to library calls and back."""

from __future__ import annotations

import argparse
import codecs
import errno
import json
import os
import re
import signal
import sys
import traceback
from contextlib import contextmanager, suppress
from pathlib import Path

from crystalx_core import __version__, _supervisor
from crystalx_core.errors import (
    STDOUT,
    CrystalXError,
    InputError,
    OutputError,
    RefinementError,
    SolveError,
    Stopped,
    printable,
    signals_raise_stopped,
    wind_down,
)

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_SOLVE, EXIT_REFINE, EXIT_OTHER = 0, 70, 2, 3, 4, 1
EXIT_OUTPUT = 73  # sysexits' EX_CANTCREAT: an output could not be written, the old ones are kept
EXIT_POOR = (
    5  # the job ran to the end, but its final model does not explain the data (pipeline.verdict)
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with _error_stream():
        return _run(args, ends_process=argv is None)


def _run(args, ends_process: bool) -> int:
    """The command, its errors as one line each and the exit code that tells them apart."""
    try:
        # `kill PID` ends a job as Ctrl-C does; ends_process: this is the program, and ends with it
        with signals_raise_stopped(ends_process=ends_process), _reporting() as report:
            _check_current_folder()
            code = args.run(args)
        # the reader went away (`| head`) and the job ran on to its end: as a shell tool killed
        # by SIGPIPE, unless the job has a failure of its own to tell
        return _reader_gone() if report.reader_gone and code == EXIT_OK else code
    except InputError as error:
        return _fail(error, EXIT_INPUT)
    except SolveError as error:
        return _fail(error, EXIT_SOLVE)
    except RefinementError as error:
        return _fail(error, EXIT_REFINE)
    except OutputError as error:
        return _fail(_naming_out(error, args), EXIT_OUTPUT)
    except CrystalXError as error:
        return _fail(error, EXIT_OTHER)
    except BrokenPipeError:  # the reader went away (`| head`): the outputs are written
        return _reader_gone()
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"crystalx: error: {printable(f'{where}{error.strerror or error}')}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as stopped:  # Ctrl-C, or Stopped by another signal
        if not isinstance(stopped, Stopped):
            stopped = Stopped(signal.SIGINT)
        print(f"crystalx: {stopped}", file=sys.stderr)
        return 128 + stopped.signum
    except Exception as error:  # noqa: BLE001  (the user gets one line, --debug gives the traceback)
        if args.debug:
            traceback.print_exc()
        print(
            f"crystalx: internal error: {type(error).__name__}: {printable(str(error))} (run "
            "with --debug for "
            "details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        _supervisor.answer()  # the job is over: a later signal must not be said to have stopped it


# why a default output place fails, and what --out does for it
_OUT_HELPS = {
    errno.ENAMETOOLONG: "name the outputs with --out",
    errno.EROFS: "write them elsewhere with --out DIR/",
    errno.EACCES: "write them elsewhere with --out DIR/",
    errno.EPERM: "write them elsewhere with --out DIR/",
}


def _naming_out(error: OutputError, args) -> OutputError:
    """The default outputs, beside the input, where they cannot be: a name too long for the
    file system (an input named near the 255-byte limit, plus '_crystalx.res'), or a folder
    that cannot be written (a read-only share, a CD, a colleague's folder). --out is the way
    out, so the line says how."""
    if (
        error.errno not in _OUT_HELPS
        or getattr(args, "out", False) is not None
        or getattr(args, "command", "") == "demo"  # placed by --dir, not beside an input
    ):
        return error  # not the place's fault, or a place the user chose (or no --out to give)
    return OutputError(
        f"{error.message}; {_OUT_HELPS[error.errno]}", error.path, error.line, error.errno
    )


def _check_current_folder() -> None:
    """The folder the shell sits in, deleted under it (`rm -rf run1` from another terminal):
    cctbx's import asks for it (os.getcwd in libtbx.env_config.get_local_env), and its bare
    ENOENT named nothing. Said first, in words, for every command."""
    try:
        os.getcwd()
    except OSError:
        raise InputError(
            "the current folder no longer exists (deleted or moved): cd into a folder and run "
            "the command again"
        ) from None


@contextmanager
def _error_stream():
    """sys.stderr while a command runs, as one whose failure ends nothing. Where there is none
    (fd 2 closed: `2>&-`, cron; Python sets sys.stderr to None), a sink: print(file=None)
    writes to standard output, where an error line would spoil a --json report, and
    sys.stderr.isatty() was an AttributeError. Where its writes fail (`2>/dev/full`, or fd 2
    left read-only: a bash script run with `2>&-` opens itself there), they are dropped: the
    error line has nowhere to go, and the exit code still tells it."""
    stream = sys.stderr
    sink = open(os.devnull, "w", encoding="utf-8") if stream is None else None
    sys.stderr = _Unfailing(sink or stream)
    try:
        yield
    finally:
        sys.stderr = stream
        if sink is not None:
            sink.close()


class _Unfailing:
    """A stream whose write, writelines and flush never raise: what could not be said is
    dropped, and the stream, once failed, writes to /dev/null (_silence)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):  # ValueError: the stream was closed
            _silence(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            _silence(self._stream)

    def writelines(self, lines) -> None:  # a library's traceback or log lines
        for line in lines:
            self.write(line)

    def __getattr__(self, name):  # isatty, encoding, fileno: the stream's own
        return getattr(self._stream, name)


def _reader_gone() -> int:
    """Quiet, as a shell tool killed by SIGPIPE: 128 + SIGPIPE."""
    _silence_stdout()
    return 128 + getattr(signal, "SIGPIPE", 13)  # 13 on every POSIX system; Windows has none


def _silence_stdout() -> None:
    """Standard output pointed at /dev/null, so that what is still buffered for the reader that
    went away, and Python's flush at exit, find no broken pipe to complain of (the way the
    signal module's documentation recommends)."""
    _silence(sys.__stdout__)


def _silence(stream) -> None:
    """The stream's file descriptor pointed at /dev/null: a write that failed stays in its
    buffer, and Python's flush at exit would fail on it again (exit 120, not the command's)."""
    with suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextmanager
def _reporting():
    """sys.stdout while a command runs, yielding it (its reader_gone says whether the reader of
    the report went away): a write that fails (standard output redirected to a full disk) is an
    OutputError naming it, not a bare OSError read as an input's. Once it has failed, the
    stream is set aside (None, as with no standard output: print() writes nothing and Python's
    flush at exit skips it, where the failed stream's flush would end in exit 120). Where
    there is no standard output at all (fd 1 closed: `>&-`, cron, pythonw: sys.stdout is
    None), there is nothing to guard."""
    stream = sys.stdout
    if stream is None:
        yield _Report(None)
        return
    sys.stdout = report = _Report(stream)
    errors = _escaping_beyond_encoding(stream)
    failed = True
    try:
        yield report
        sys.stdout.flush()
        failed = False
    except OutputError as error:
        failed = error.path == STDOUT
        raise
    except BrokenPipeError:
        raise
    except BaseException:
        failed = False
        raise
    finally:
        sys.stdout = stream if not failed else None
        if errors is not None:
            with suppress(ValueError, OSError):
                stream.reconfigure(errors=errors)


def _escaping_beyond_encoding(stream) -> str | None:
    """A report to a stream that is not UTF-8 (Windows writes a redirected standard output in
    its ANSI code page, cp1252; PYTHONIOENCODING=latin-1; an old cluster's ISO-8859-1 locale)
    writes a character it cannot hold (Å⁻³, a label's letter) as a backslash escape: it was a
    UnicodeEncodeError, exit 70 after the outputs were written. Returns the error handler to
    put back, None where nothing was changed (UTF-8 holds every character)."""
    try:
        if codecs.lookup(stream.encoding).name == "utf-8":
            return None
        before = stream.errors
        stream.reconfigure(errors="backslashreplace")
    except (AttributeError, LookupError, TypeError, ValueError, OSError):
        return None  # not a text stream Python made (a test's, an embedding program's)
    return before


class _Report:
    """A stream whose OSError is an OutputError naming standard output, and whose broken pipe
    (the reader gone: `| head`) is noted, not raised: the job runs on to write its outputs,
    which a print before them (with PYTHONUNBUFFERED=1, each print is a write) would
    otherwise have cut short. What is printed after that goes nowhere."""

    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        return self._guarded(self._stream.write, text) if not self.reader_gone else len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            self._guarded(self._stream.flush)

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            self.reader_gone = True
            _silence_stdout()
            return len(args[0]) if args else None
        except OSError as error:
            raise OutputError(
                f"cannot write the report: {error.strerror or error}",
                STDOUT,
                errno=error.errno or 0,
            ) from None

    def __getattr__(self, name):  # isatty, encoding, buffer, fileno: the stream's own
        return getattr(self._stream, name)


def _fail(error: CrystalXError, code: int) -> int:
    print(f"crystalx: error: {error.one_line()}", file=sys.stderr)
    return code


def _add_block(command: argparse.ArgumentParser) -> None:
    """The --block option of every command that reads a CIF model."""
    command.add_argument(
        "--block", help="the CIF data block to read (default: the first with atoms)"
    )


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage error also says how to name a file that begins with '-': it takes
    `crystalx assign -x.res` for an unknown option and says only that 'model' is missing."""

    def parse_known_args(self, args=None, namespace=None):
        self._words = list(sys.argv[1:] if args is None else args)  # each command's own words
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        words = getattr(self, "_words", [])
        words = words[: words.index("--")] if "--" in words else words  # after it: names already
        dashed = next((word for word in words if _dashed_name(word)), None)
        if dashed:
            message += (
                f"; '{printable(dashed)}' begins with '-' and was taken for an option: "
                f"write it as ./{printable(dashed)}"
            )
        super().error(message)


def _dashed_name(word: str) -> bool:
    """A word that argparse reads as an option but that names a file: one that is there, or one
    written as a file name (a suffix or a folder in it), which no option of ours is."""
    if not word.startswith("-") or word in ("-", "--") or re.fullmatch(r"-[\d.e+-]+", word):
        return False  # a negative number is a value (--wavelength -1.5 is refused as a value)
    if os.path.lexists(word):
        return True
    return not word.startswith("--") and any(mark in word for mark in (".", "/", os.sep))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crystalx",
        description=(
            "Assign elements and hydrogen counts to the peaks of a small-molecule crystal "
            "structure."
        ),
    )
    parser.add_argument("--version", action="version", version=f"crystalx {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)  # --out is per command: its default differs
    common.add_argument(
        "--method",
        default="auto",
        choices=("auto", "model", "baseline"),
        help="assignment method: the shipped models, the rule-based baseline, or "
        "auto = the models, an error when they are missing (default)",
    )
    common.add_argument(
        "--hydrogens",
        default="auto",
        choices=("auto", "rules", "model"),
        help="H counts from the hydrogen model (which reads the rules' answer), the geometry "
        "rules alone, or auto = the model, an error when it is missing (default)",
    )
    common.add_argument(
        "--cycles",
        type=_at_least_one,
        default=10,
        help="least-squares cycles per stage (default 10)",
    )
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display and no per-site notes (they stay in the JSON); "
        "the summary and errors are still printed",
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    next_to_input = (
        "output prefix, or a folder for the default names (default: <input>_crystalx next to "
        "the input, <input>_<block>_crystalx for one of several structures of a CIF)"
    )
    solve = commands.add_parser(
        "solve", parents=[common], help="solve from .ins + .hkl, assign, refine"
    )
    solve.add_argument("--out", type=_output_name, help=next_to_input)
    solve.add_argument(
        "ins",
        type=Path,
        help="SHELX .ins with CELL, LATT/SYMM, SFAC and UNIT (or a CIF with cell and contents)",
    )
    solve.add_argument(
        "hkl",
        type=Path,
        nargs="?",
        help="reflections: SHELX HKLF 4 (or 3), a SHELXL CIF with _shelx_hkl_file, an .fcf "
        "(LIST 4 or 6), XDS_ASCII.HKL or a merged Scalepack .sca (default: the CIF's own, else "
        "the .hkl, or .fcf, of the same name beside the .ins)",
    )
    _add_block(solve)
    solve.set_defaults(run=_run_solve)

    assign = commands.add_parser(
        "assign", parents=[common], help="assign the peaks of an existing solution"
    )
    assign.add_argument("--out", type=_output_name, help=next_to_input)
    assign.add_argument("model", type=Path, help="SHELX .res/.ins or CIF with peaks or atoms")
    assign.add_argument(
        "--hkl",
        type=Path,
        help="reflections (HKLF 4, a SHELXL CIF with _shelx_hkl_file, an .fcf of LIST 4 or 6, "
        "XDS_ASCII.HKL or a Scalepack .sca): refine after assigning",
    )
    _add_block(assign)
    assign.set_defaults(run=_run_assign)

    batch = commands.add_parser(
        "batch", parents=[common], help="re-assign every structure in a folder"
    )
    batch.add_argument(
        "--out",
        type=_output_folder,
        help="folder for every structure's outputs and the summary (default: beside the inputs)",
    )
    batch.add_argument(
        "target",
        help="folder (or quoted glob) of .res/.ins/.cif files; a same-named .hkl (or .fcf) is used",
    )
    batch.add_argument("--workers", type=_at_least_one, help="processes (default: all cores)")
    batch.add_argument(
        "--no-refine", action="store_true", help="assign only, even where a .hkl is present"
    )
    batch.add_argument(
        "--scheduler", help="address of a Dask scheduler to run on instead (extra 'dask')"
    )
    batch.set_defaults(run=_run_batch)

    audit = commands.add_parser(
        "audit", parents=[common], help="check a published structure's elements and H"
    )
    audit.add_argument(
        "--out", type=_output_name, help="output prefix (default: <input>_audit next to the input)"
    )
    audit.add_argument("model", type=Path, help="CIF (or .res) with the published atoms and H")
    audit.add_argument(
        "--hkl",
        type=Path,
        help="reflections (HKLF 4, an .fcf of LIST 4 or 6, XDS_ASCII.HKL or a Scalepack .sca); "
        "default: the CIF's own "
        "_shelx_hkl_file, or the file Olex2 names in the .res (HklSrc)",
    )
    _add_block(audit)
    audit.set_defaults(run=_run_audit)

    pxrd = commands.add_parser(
        "pxrd", help="space groups from a powder pattern; check a CIF against it"
    )
    pxrd.add_argument(
        "pattern",
        type=Path,
        nargs="?",
        help="powder pattern: .xy/.xye/.csv columns, XRDML, Rigaku RAS/.rasx, GSAS, UXD, "
        "Fit2D .chi, pyFAI .dat, powder CIF (told apart by content)",
    )
    pxrd.add_argument(
        "--wavelength",
        type=float,
        default=None,
        help="of the pattern, Å (default: the file's own, else Cu Kα1 1.5406)",
    )
    pxrd.add_argument(
        "--from-cif",
        type=Path,
        help="simulate this structure's pattern: overlay on the measured one "
        "(PNG) and rank its space group among the predictions",
    )
    pxrd.add_argument(
        "--kind",
        choices=["molecular", "mof"],
        default="molecular",
        help="which space-group model: molecular crystals (default) or metal-organic frameworks",
    )
    pxrd.add_argument(
        "--out", type=_output_name, help="output prefix (default: <pattern or CIF>_pxrd)"
    )
    pxrd.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    pxrd.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    pxrd.set_defaults(run=_run_pxrd, usage=pxrd)

    serve = commands.add_parser("serve", help="answer the Olex2 plugin: JSON lines on stdin/stdout")
    serve.add_argument("--stdio", action="store_true", required=True, help="talk over stdin/stdout")
    serve.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(run=_run_serve)

    demo = commands.add_parser(
        "demo", parents=[common], help="the whole job on an embedded example"
    )
    demo.add_argument(
        "--out", type=_output_name, help="output prefix (default: <dir>/demo_crystalx)"
    )
    demo.add_argument(
        "--dir",
        type=_output_folder,
        default=Path("crystalx_demo"),
        help="working folder (default ./crystalx_demo)",
    )
    demo.set_defaults(run=_run_demo)
    return parser


def _output_name(text: str) -> str:
    """An output prefix or folder as typed, never '': Path('') is '.', so an empty --out (an
    unset shell variable, `--out "$OUT"`) wrote into whatever folder the command ran in.
    Refused as cp and sort refuse an empty file name."""
    if not text:
        raise argparse.ArgumentTypeError("empty: give a name ('.' for this folder)")
    return text


def _output_folder(text: str) -> Path:
    return Path(_output_name(text))


def _at_least_one(text: str) -> int:
    """A count that must be 1 or more (cycles, workers): refused at the door, not ignored."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _run_solve(args) -> int:
    from crystalx_core.io import load, solve_reflections
    from crystalx_core.io.files import InputStamps
    from crystalx_core.pipeline import solve_job

    read = InputStamps()  # each before it is read: a version saved meanwhile is named
    read.take("model", args.ins)
    loaded = load(args.ins, args.block)
    loaded.check_writable()
    read.take("reflections", args.hkl or loaded.reflections_file())
    reflections = solve_reflections(loaded, args.hkl)
    with _progress(args) as progress:
        result = solve_job(
            loaded.structure,
            reflections,
            args.method,
            args.cycles,
            progress,
            args.hydrogens,
            shelx=loaded.output_template(),
        )
    loaded.add_notes(result)
    inputs = [args.ins] + ([args.hkl] if args.hkl else [])
    return _finish(args, result, loaded, inputs, read)


def _run_assign(args) -> int:
    from crystalx_core.io import load
    from crystalx_core.io.files import InputStamps
    from crystalx_core.pipeline import assign_job

    read = InputStamps()
    read.take("model", args.model)
    loaded = load(args.model, args.block)
    loaded.check_writable()
    read.take("reflections", args.hkl)
    reflections = loaded.read(args.hkl) if args.hkl else None
    with _progress(args) as progress:
        result = assign_job(
            loaded.structure,
            reflections,
            args.method,
            args.cycles,
            progress,
            args.hydrogens,
            shelx=loaded.output_template(),
            cif_weighting=loaded.weighting,
            stated_r1=loaded.stated_r1,
        )
    hint = (
        f"{args.model.name} carries its reflections "
        f"({loaded.hkl_tag if loaded.hkl_text else loaded.refln_tag}"
        f"{', without σ: estimated' if loaded.refln_without_sigma else ''}): add --hkl "
        f"{args.model} to refine against them"
    )
    # else --hkl refuses
    refinable = loaded.carries_reflections and not args.hkl and not loaded.not_xray
    loaded.add_notes(result, *([hint] if refinable else []))
    inputs = [args.model] + ([args.hkl] if args.hkl else [])
    return _finish(args, result, loaded, inputs, read)


def _files_read(row: dict, no_refine: bool) -> str:
    """'read x.res with x.hkl, not x.ins': the files of a name read and those left out; the
    .hkl inside a CIF left out as a model (SHELXL's x.cif beside x.res) said as such."""
    hkl = _reflections_file_name(row["hkl"]) if row["hkl"] and not no_refine else ""
    left_out = [Path(p).name for p in row["left_out"]]
    with_hkl = f" with {hkl}" if hkl else ""
    if hkl in left_out:
        left_out.remove(hkl)
        with_hkl = f" with the .hkl inside {hkl}"
    line = f"read {Path(row['model']).name}{with_hkl}"
    return line + (f", not {', '.join(left_out)}" if left_out else "")


def _reflections_file_name(hkl: str) -> str:
    """The file of a row's reflections, without the ' (data_x _shelx_hkl_file)' that names a
    CIF's embedded ones (cif.REFLECTION_TAGS; imported only here, the CLI starts without gemmi)."""
    from crystalx_core.io.cif import REFLECTION_TAGS

    tags = "|".join(map(re.escape, REFLECTION_TAGS))
    return Path(re.sub(rf" \((data_\S+ )?({tags})\)$", "", hkl)).name


def _run_batch(args) -> int:
    from crystalx_core.batch import (
        NO_SOLUTION,
        NOT_DONE,
        BatchOptions,
        BatchStopped,
        find_inputs,
        full_row,
        run_batch,
        stopped_batch,
    )
    from crystalx_core.batch_report import write_summary

    found = find_inputs(args.target, args.out)  # its outputs are not inputs
    items, unsearched = found.items, found.unsearched
    if unsearched:  # a dataset there is not in the batch: said once, before any work
        more = f" and {len(unsearched) - 1} more" if len(unsearched) > 1 else ""
        print(printable(f"crystalx: not searched: {unsearched[0]}{more}"), file=sys.stderr)
    if not items:
        raise InputError("no .res, .ins or .cif files to assign", args.target)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise OutputError("--out names a file: a batch writes into a folder", str(args.out))
    options = BatchOptions(args.method, args.hydrogens, args.cycles, args.out, not args.no_refine)
    folder = args.out or (
        Path(args.target) if Path(args.target).is_dir() else items[0].model.parent
    )
    rows = stopped = summary = None
    try:
        try:
            with _bar(args, len(items)) as advance:
                rows = run_batch(items, options, args.workers, args.scheduler, advance)
        except BatchStopped as stop:  # the summary still tells what is done (errors.wind_down)
            rows, stopped = stop.rows, stop
        summary = _batch_summary(write_summary, rows, folder, args.target)
    except Stopped as stop:
        if rows is None or stopped is not None:  # before the batch ran: nothing written
            raise
        wind_down(stop)  # every structure finished: the summary is owed as after any stop
        stopped = stopped_batch(stop.signum, rows)
    paths, kept, unwritten = summary or _batch_summary(write_summary, rows, folder, args.target)
    failed = [r for r in rows if r["status"] == "failed"]
    not_done = [r for r in rows if r["status"] == NOT_DONE]
    if args.json:
        print(json.dumps({"rows": rows, "files": {k: str(v) for k, v in paths.items()}}, indent=1))
    else:
        resumed = sum(1 for r in rows if r["status"] == "resumed")
        poor = [r for r in rows if r["status"] == NO_SOLUTION]
        print(
            f"{len(rows) - len(failed) - len(not_done)} of {len(rows)} structures assigned "
            f"({resumed} from an earlier run), "
            f"{len(failed)} failed"
            + (f", {len(poor)} with no solution" if poor else "")
            + (f", {len(not_done)} not done ({_why_not_done(stopped)})" if not_done else "")
        )
        for row in failed:
            print(printable(f"  {row['name']}: {row['error']}"))
        for row in poor:
            print(
                printable(
                    f"  {row['name']}: no solution: {row['error']}; {_to_check(row['model'])}"
                )
            )
        for row in rows:  # assigned, with a word on it (reflections not refined: why)
            if row.get("note"):
                print(printable(f"  {row['name']}: {row['note']}"))
        for row in rows:  # where a name had several files: the one read, and its reflections
            if row.get("left_out"):
                print(printable(f"  {row['name']}: {_files_read(row, args.no_refine)}"))
        if paths:
            earlier = f" (the earlier ones kept as {' and '.join(b.name for b in kept)})"
            print(
                printable(f"wrote {paths['csv']} and {paths['html']}" + (earlier if kept else ""))
            )
    if stopped is not None:
        print(
            f"crystalx: {stopped}"
            + (
                ""
                if unwritten is None
                else f" (the summary could not be written: {unwritten.one_line()})"
            ),
            file=sys.stderr,
        )
        return 128 + stopped.signum
    full = full_row(rows)
    if full is not None:
        done = len(rows) - len(failed) - len(not_done)
        print(
            f"crystalx: error: {full['error']}; the batch stopped: {done} of {len(rows)} "
            f"structures have their outputs, {len(failed) + len(not_done)} not; free some space "
            "and run the same command to do the rest"
            + ("" if paths else " (the summary could not be written either)"),
            file=sys.stderr,
        )
        return EXIT_OUTPUT
    if unwritten is not None:
        raise unwritten
    return EXIT_OTHER if failed else EXIT_OK


def _batch_summary(write_summary, rows, folder: Path, target: str):
    """(paths, backups, None) of the csv and html summary written and the earlier ones kept, or
    ({}, [], the OutputError) when they could not be: the rows still reach the terminal, then
    that line."""
    try:
        return *write_summary(rows, folder, f"CrystalX batch: {target}"), None
    except OutputError as error:
        return {}, [], error


def _why_not_done(stopped) -> str:
    """Why a batch left structures undone: a stop signal (BatchStopped), else a full disk."""
    if stopped is None:
        return "the disk was full"
    return f"stopped by {signal.Signals(stopped.signum).name}"


@contextmanager
def _bar(args, total: int):
    """A progress bar over structures on stderr; silent with --quiet/--json or without a
    terminal."""
    if args.quiet or args.json or not sys.stderr.isatty():
        yield lambda row: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("assigning", total=total)
        yield lambda row: bar.update(task, advance=1, description=row["name"])


def _run_audit(args) -> int:
    from crystalx_core.audit import audit
    from crystalx_core.audit_report import audit_html, audit_json, audit_lines
    from crystalx_core.io import load
    from crystalx_core.outputs import write_outputs

    loaded = load(args.model, args.block)
    # the file's own reflections, where they can be refined: the atoms are audited without
    # them otherwise (as batch assigns), while reflections named with --hkl must be refinable
    unrefined = "" if args.hkl else loaded.unrefinable(loaded.reflections_file(beside=False))
    if args.hkl:
        reflections = loaded.read(args.hkl)
    else:
        reflections = None if unrefined else loaded.own_reflections()
    with _progress(args) as progress:
        result = audit(
            loaded.structure, reflections, args.method, args.hydrogens, args.cycles, progress
        )
    notes = reflections.notes if reflections is not None else ([unrefined] if unrefined else [])
    loaded.add_notes(result, *notes)
    prefix = _out_prefix(args.out, loaded.output_prefix("_audit"))
    report = audit_json(result)
    paths = [prefix.with_name(prefix.name + ext) for ext in (".json", ".html")]
    backups = write_outputs(
        {paths[0]: json.dumps(report, indent=1) + "\n", paths[1]: audit_html(result)},
        protected=[args.model] + ([args.hkl] if args.hkl else []),
    )
    return _print_report(args, report, audit_lines(result), paths, backups)


def _out_prefix(text: str | None, default: Path) -> Path:
    """The outputs' prefix: `default` without --out; in a folder --out names (`.` too, or one
    written with a trailing separator, made if it is not there), the default's name there;
    --out x.res (one of the outputs' names) as x, not x.res.res."""
    from crystalx_core.batch_inputs import MODEL_SUFFIXES
    from crystalx_core.outputs import JOB_SUFFIXES

    if text is None:
        return default
    out = Path(text)  # as typed (a str): Path() drops the trailing separator of `--out new/`
    try:
        is_folder = out.is_dir()
    except OSError as error:  # a name too long for the file system: an output's, not an input's
        raise OutputError(
            f"cannot write there: {error.strerror}", text, errno=error.errno
        ) from None
    if is_folder or text.endswith(tuple(filter(None, ("/", os.sep, os.altsep)))):
        return out / default.name
    named = out.suffix.lower() in JOB_SUFFIXES + MODEL_SUFFIXES + (".html", ".png")
    return out.with_suffix("") if named else out


def _print_report(args, report: dict, lines: list[str], written, backups=()) -> int:
    """--json: the report; else the text lines, the previous outputs kept and the files
    written (as a job's summary says them)."""
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("\n".join(map(printable, lines)))  # an atom label or file name may hold ESC
        for backup in backups:
            print(printable(f"kept the previous output as {backup}"))
        print(printable("wrote " + ", ".join(str(p) for p in written)))
    return EXIT_OK


def _run_pxrd(args) -> int:
    if args.pattern is None and args.from_cif is None:
        args.usage.error("give a pattern file, --from-cif, or both")  # exit 2, as argparse's own
    from crystalx_core.outputs import write_outputs
    from crystalx_core.pxrd.job import overlay_png, report_lines, run_pxrd
    from crystalx_core.pxrd.patterns import xy_text
    from crystalx_core.pxrd.simulate import GRID

    report = run_pxrd(args.pattern, args.wavelength, args.from_cif, args.kind)
    source = args.pattern or args.from_cif
    prefix = _out_prefix(args.out, source.with_name(source.stem + "_pxrd"))
    arrays = report.pop("_arrays")
    files = {prefix.with_name(prefix.name + ".json"): json.dumps(report, indent=1) + "\n"}
    if args.from_cif is not None:
        files[prefix.with_name(prefix.name + "_simulated.xy")] = xy_text(
            GRID,
            arrays["simulated"],
            f"{args.from_cif} simulated on the model grid (Cu Ka): 2theta, intensity",
        )
        files[prefix.with_name(prefix.name + ".png")] = overlay_png({**report, "_arrays": arrays})
    inputs = [p for p in (args.pattern, args.from_cif) if p is not None]
    backups = write_outputs(files, protected=inputs)
    return _print_report(args, report, report_lines(report), list(files), backups)


def _run_serve(args) -> int:
    from crystalx_core.service import main as serve_main

    return serve_main()


def _run_demo(args) -> int:
    from crystalx_core.demo import D_MIN, run_demo
    from crystalx_core.io.files import InputStamps

    with _progress(args) as progress:
        demo = run_demo(args.dir, args.method, args.cycles, args.hydrogens, progress)
    if not args.json:
        print(f"demo: sucrose C12H22O11, P2(1); simulated Mo Kα data to {D_MIN} Å with noise")
        print(
            f"      inputs written to {' and '.join(map(str, demo.inputs))} (cell, symmetry and "
            "formula only)"
        )
    code = _finish(args, demo.result, demo.loaded, demo.inputs, InputStamps())  # its own inputs
    if not args.json:
        match = demo.match
        print(
            f"against the true model: {match.n_found}/{match.n_reference} non-H atoms found within "
            "0.5 Å, "
            f"{match.n_right_element} with the right element, rms {match.rms:.3f} Å"
        )
    return code


def _finish(args, result, loaded, inputs: list[Path], read) -> int:
    """Write x_crystalx.res/.cif/.json (or --out's) together, or not at all, over the input's
    template, and print the summary; `read`, the inputs' io.files.InputStamps."""
    from crystalx_core.outputs import OUTPUT_MARK, write_job_outputs
    from crystalx_core.report import summary_lines

    changed = read.changed_note()
    if changed:
        result.notes.append(changed)
    prefix = _out_prefix(args.out, loaded.output_prefix(OUTPUT_MARK))
    paths, report, backups = write_job_outputs(
        result, loaded.path, inputs, loaded.output_template(), prefix, read=read.stamps
    )
    lines = summary_lines(result, site_notes=not args.quiet)
    _print_report(args, report, lines, paths.values(), backups)
    if result.failure:
        print(
            f"crystalx: no solution: {loaded.path}: {result.failure}; {_to_check(loaded.path)}",
            file=sys.stderr,
        )
        return EXIT_POOR
    return EXIT_OK


def _to_check(model) -> str:
    """What of the input `model` decides whether a model can explain its data, in the file's own
    terms (a wrong SFAC, cell or LATT/SYMM refines to nonsense without any error of its own)."""
    from crystalx_core.io import SHELX_SUFFIXES

    if Path(model).suffix.lower() in SHELX_SUFFIXES:
        return (
            "check SFAC/UNIT (the elements), CELL and LATT/SYMM (the space group) against the data"
        )
    return "check the CIF's elements, cell and space group against the data"


@contextmanager
def _progress(args):
    """A live spinner with the current stage and elapsed time on stderr (silent with
    --quiet/--json)."""
    if args.quiet or args.json or not sys.stderr.isatty():
        yield lambda stage: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda stage: bar.update(task, description=stage)


if __name__ == "__main__":
    sys.exit(main())
