"""Shared fixtures: the read-only real data beside the checkout, a small disk to fill; the line
of a text a message should name; a fake Olex2 folder and the Olex2 double started on it (the
installer's and the plugin's tests both install into one)."""

import errno
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import crystalx_core  # noqa: F401  (fixes the cctbx-before-gemmi import order for every test)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BENCHMARK = SHARED / "benchmark"
CORPUS = SHARED / "corpus"


def benchmark_script(name: str):
    """benchmarks/NAME.py as a module: the scripts are not a package, the tests call into them."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def line_of(text: str, start: str) -> int:
    """1-based number of the first line of `text` (after its first) that starts with `start`."""
    return text[: text.index("\n" + start) + 1].count("\n") + 1


@pytest.fixture(autouse=True)
def _stop_signal_handlers_restored():
    """Each test leaves SIGINT and SIGTERM as it found them. A job main() runs in-process ends
    as the command does: after a stop it wound down from, it keeps ignoring stop signals
    (errors.signals_raise_stopped, ends_process) so that one more cannot change its exit code;
    in the test process that SIG_IGN would outlive the test, and every later subprocess
    inherits an ignored SIGINT (POSIX keeps SIG_IGN across exec): tests/test_startup_signals'
    Ctrl-C then never arrives."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        if handler is not None and signal.getsignal(number) is not handler:
            signal.signal(number, handler)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system to fill up; skipped only where this process cannot mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
        )
    except FileNotFoundError:
        pytest.skip("no mount command")
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder, leave: int) -> None:
    """Fill the file system to ENOSPC, then free `leave` bytes again."""
    filler = folder / "filler"
    handle = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(handle, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(handle)
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def snapshot(folder):
    """Every entry: its bytes, mode and inode, so a restored file must be the old file itself."""
    state = {}
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        state[entry.name] = (
            entry.read_bytes() if entry.is_file() else None,
            info.st_mode,
            info.st_ino,
        )
    return state


OTHERS = "<Plugin\r\n  <FragmentDB>\r\n  <olex2qcrbox>\r\n>\r\n"


def fake_olex2(tmp_path, xld=OTHERS):
    """An Olex2 folder with another plugin (FragmentDB) installed and listed in `xld`."""
    base = tmp_path / "olex2"
    (base / "util" / "pyUtil" / "PluginLib" / "plugin-FragmentDB").mkdir(parents=True)
    (base / "util" / "pyUtil" / "PluginLib" / "plugin-FragmentDB" / "FragmentDB.py").write_text(
        "# theirs\n"
    )
    if xld is not None:
        (base / "plugins.xld").write_bytes(xld.encode())
    return base


PLUGIN_MODULES = (
    "CrystalX",
    "crystalx_plugin",
    "crystalx_plugin.session",
    "crystalx_plugin.olex_model",
    "crystalx_plugin.core_client",
    "crystalx_plugin.panel_html",
)
DOUBLE_MODULES = ("olex", "olx", "olex_core", "olexFunctions", "PluginTools", "History", "_olex2")


@pytest.fixture
def olex2_start(monkeypatch):
    """start(base, data, **params): a fresh Olex2 double started on the Olex2 folder `base`
    with data folder `data` (its plugins imported as olex2-gui's initpy_funcs does), the
    params set before as saved settings; returns (the double's _olex2 module, what it
    printed). Every module it imported is forgotten afterwards."""
    double = Path(__file__).resolve().parent / "olex2_double"
    monkeypatch.setattr(sys, "path", [str(double)] + sys.path)
    names = PLUGIN_MODULES + DOUBLE_MODULES + ("FragmentDB", "Broken")

    def start(base, data, **params):
        for name in names:
            sys.modules.pop(name, None)
        olex2 = importlib.import_module("_olex2")
        olex2.STATE.reset()
        olex2.STATE.params.update({"_data_dir": str(data), "_base_dir": str(base), **params})
        return olex2, olex2.start_plugins(str(base))

    yield start
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def olex2_reader(monkeypatch):
    """(the double's state, the plugin's olex_model): Olex2's modules and the plugin's reader
    of its model, freshly imported and forgotten afterwards."""
    root = Path(__file__).resolve().parents[1]
    for path in (root / "tests" / "olex2_double", root / "plugin" / "plugin-CrystalX"):
        monkeypatch.syspath_prepend(str(path))
    for name in PLUGIN_MODULES + DOUBLE_MODULES:
        sys.modules.pop(name, None)
    state = importlib.import_module("_olex2").STATE
    state.reset()
    for name in ("olx", "olex_core"):
        importlib.import_module(name)
    yield state, importlib.import_module("crystalx_plugin.olex_model")
    for name in PLUGIN_MODULES + DOUBLE_MODULES:
        sys.modules.pop(name, None)
