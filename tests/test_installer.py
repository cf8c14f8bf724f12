"""The installer against a fake Olex2 folder: registration beside other plugins, idempotence,
exact uninstall, and refusals."""

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from installer import olex2_setup
from installer.olex2_setup import InstallError, install, uninstall

from .conftest import fake_olex2

ROOT = Path(__file__).resolve().parents[1]


def tree(base):
    return {
        str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


def test_install_registers_beside_other_plugins_and_records_the_core(tmp_path):
    base = fake_olex2(tmp_path)
    target = Path(install(str(base), sys.executable))
    assert (target / "CrystalX.py").is_file() and not list(target.rglob("__pycache__"))
    assert (
        base / "plugins.xld"
    ).read_bytes() == b"<Plugin\r\n  <CrystalX>\r\n  <FragmentDB>\r\n  <olex2qcrbox>\r\n>\r\n"
    assert f"core_interpreter = '{sys.executable}'" in (target / "crystalx.phil").read_text()


def test_install_twice_is_install_once_and_uninstall_restores_every_byte(tmp_path):
    base = fake_olex2(tmp_path)
    original = tree(base)
    install(str(base), sys.executable)
    once = tree(base)
    install(str(base), sys.executable)
    assert tree(base) == once
    uninstall(str(base))
    assert tree(base) == original


def test_a_missing_plugin_list_is_created_and_removed_again(tmp_path):
    base = fake_olex2(tmp_path, xld=None)
    install(str(base), sys.executable)
    assert (base / "plugins.xld").read_text() == "<Plugin\n  <CrystalX>\n>\n"
    uninstall(str(base))
    assert not (base / "plugins.xld").exists()


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_files_written_keep_what_other_users_may_read(tmp_path, umask_022):
    """A shared Olex2 (one install, several users): plugins.xld must stay readable by all, or
    Olex2 fails to read it for them (LoadFromXLFile throws) and loads no plugin. A file
    rewritten keeps its mode, a new one gets what the umask allows (tempfile's 0600 was kept
    before)."""
    base = fake_olex2(tmp_path)
    (base / "plugins.xld").chmod(0o664)
    install(str(base), sys.executable)
    folder = base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX"
    modes = {
        name: path.stat().st_mode & 0o777
        for name, path in (
            ("plugins.xld", base / "plugins.xld"),
            ("manifest", base / olex2_setup.MANIFEST),
            ("phil", folder / "crystalx.phil"),
        )
    }
    assert modes == {"plugins.xld": 0o664, "manifest": 0o644, "phil": 0o644}
    (base / "plugins.xld").unlink()
    uninstall(str(base))
    install(str(base), sys.executable)
    assert (base / "plugins.xld").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in base.iterdir() if p.name.startswith("tmp")] == []


def test_the_users_edit_after_install_survives_uninstall(tmp_path):
    base = fake_olex2(tmp_path, xld="<Plugin\n  <FragmentDB>\n>\n")
    install(str(base), sys.executable)
    xld = base / "plugins.xld"
    xld.write_text(xld.read_text()[:-2] + "  <Later>\n>\n")  # another plugin registered later
    uninstall(str(base))
    assert "<Later>" in xld.read_text() and "<CrystalX>" not in xld.read_text()


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda base: None, "does not look like an Olex2"),
        (
            lambda base: (
                (base / "util" / "pyUtil" / "PluginLib").mkdir(parents=True)
                or (base / "plugins.xld").write_text("garbage\n")
            ),
            "not a plugin list",
        ),
    ],
)
def test_refusals_leave_the_folder_alone(tmp_path, setup, words):
    base = tmp_path / "olex2"
    base.mkdir()
    setup(base)
    before = tree(base)
    with pytest.raises(InstallError, match=words):
        install(str(base), sys.executable)
    assert tree(base) == before
    plugin_lib = base / "util" / "pyUtil" / "PluginLib"
    assert not plugin_lib.exists() or list(plugin_lib.iterdir()) == []  # no orphan plugin folder


def test_no_write_access_is_reported(tmp_path, monkeypatch):
    base = fake_olex2(tmp_path)

    def refuse(dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", dir)

    monkeypatch.setattr(olex2_setup.tempfile, "mkstemp", refuse)
    with pytest.raises(InstallError, match="no write access"):
        install(str(base), sys.executable)


def test_uninstall_without_install_and_a_missing_core_are_errors(tmp_path):
    base = fake_olex2(tmp_path)
    with pytest.raises(InstallError, match="not installed"):
        uninstall(str(base))
    with pytest.raises(InstallError, match="does not exist"):
        install(str(base), str(tmp_path / "no-python"))


def test_command_line(tmp_path):
    base = fake_olex2(tmp_path)
    run = [
        sys.executable,
        "-m",
        "installer",
        "--olex2-dir",
        str(base),
        "--core-python",
        sys.executable,
    ]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "Work tab" in done.stdout
    done = subprocess.run(run + ["--uninstall"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    done = subprocess.run(run + ["--uninstall"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "not installed" in done.stderr


def py_run(path):
    """Olex2's `py.run FILE`: the file's text executed in `__main__`, without `__file__`, after
    changing into the file's folder (Olex2 pyext.cpp)."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(Path(path).read_text(encoding="utf-8"), str(path), "exec"), namespace)


def test_install_py_runs_inside_olex2_without_file(tmp_path, monkeypatch):
    """Issue 21 point 4: py.run gives no __file__; the installer finds its checkout from the
    working directory and installs with the checkout's .venv python."""
    base = fake_olex2(tmp_path)
    venv_python = tmp_path / "checkout" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    monkeypatch.setattr(
        olex2_setup, "checkout_root", lambda source=None: str(tmp_path / "checkout")
    )
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "olex2_double"))
    for name in ("olx", "_olex2"):
        sys.modules.pop(name, None)
    importlib.import_module("_olex2").STATE.params["_base_dir"] = str(base)
    monkeypatch.chdir(ROOT / "installer")
    py_run(ROOT / "installer" / "install.py")
    assert (base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "CrystalX.py").is_file()
    assert "<CrystalX>" in (base / "plugins.xld").read_text()
    phil = (base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "crystalx.phil").read_text(
        encoding="utf-8"
    )
    assert f"core_interpreter = '{venv_python}'" in phil


def test_inside_olex2_the_installer_never_takes_olex2_for_the_core(tmp_path, monkeypatch, capsys):
    """Issue 21 point 6: inside Olex2 sys.executable is Olex2's program; with no .venv the
    installer says which python to point at instead of recording Olex2's binary."""
    base = fake_olex2(tmp_path)
    olex2_binary = base / "olex2"
    olex2_binary.write_text("not a python\n")
    monkeypatch.setattr(sys, "executable", str(olex2_binary))
    monkeypatch.setattr(
        olex2_setup, "checkout_root", lambda source=None: str(tmp_path / "no-checkout")
    )
    with pytest.raises(InstallError, match="no core Python found.*--core-python"):
        olex2_setup.default_core_python()
    with pytest.raises(InstallError, match="is not a python"):
        install(str(base), str(olex2_binary))
    assert not (base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX").exists()


def test_the_settings_file_is_utf8_whatever_the_locale(tmp_path):
    """Issue 21 point 5: PluginTools reads crystalx.phil as UTF-8; a user folder with an
    accent must be written as UTF-8 on a cp1252 Windows too. This machine has no cp1252
    locale, so the installer runs with every open() that would use the locale's encoding
    turned into an error (PEP 597), and the bytes are checked."""
    base = fake_olex2(tmp_path)
    python = tmp_path / "Jürgen Ødegård" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    script = "from installer.olex2_setup import install; install(%r, %r)" % (str(base), str(python))
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "warn_default_encoding",
            "-W",
            "error::EncodingWarning",
            "-c",
            script,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-800:]
    phil = (
        base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "crystalx.phil"
    ).read_bytes()
    assert ("core_interpreter = '%s'" % python).encode("utf-8") in phil
    assert ("core_directory = '%s'" % ROOT).encode("utf-8") in phil


def olex2_plugins(base):
    """The plugins the Olex2 double reads from `base`/plugins.xld as Olex2 reads it."""
    sys.path.insert(0, str(ROOT / "tests" / "olex2_double"))
    try:
        return importlib.import_module("_olex2").plugin_list(str(base))
    finally:
        sys.path.remove(str(ROOT / "tests" / "olex2_double"))


def test_a_plugin_list_on_one_line_gets_the_entry_inside_it(tmp_path):
    """Olex2 reads plugins.xld as XL data, blind to line ends (sdl/datafile.cpp), so a list
    written on one line is a list; before, the entry went on a line after its closing '>'."""
    base = fake_olex2(tmp_path, xld="<Plugin <FragmentDB> <olex2qcrbox> >")
    install(str(base), sys.executable)
    assert olex2_plugins(base) == ["CrystalX", "FragmentDB", "olex2qcrbox"]
    uninstall(str(base))
    assert olex2_plugins(base) == ["FragmentDB", "olex2qcrbox"]


def test_olex2_lists_its_plugins_sorted_without_case_and_duplicates_kept(tmp_path):
    """The double as olex2app.h InitOlex2App: a SortedObjectList with a case-blind comparator
    filled with Add (not AddUnique), so GetPluginList is sorted without regard to case and
    a name written twice is there twice."""
    base = fake_olex2(tmp_path, xld="<Plugin <olex2qcrbox> <Zeta> <FragmentDB> <alpha> <Zeta> >")
    assert olex2_plugins(base) == ["alpha", "FragmentDB", "olex2qcrbox", "Zeta", "Zeta"]


@pytest.mark.parametrize(
    "xld, plugins",
    [
        # a Plugin item inside another item is not the list: Olex2 reads df.Root().FindItem
        ("<Other <Plugin <Nested> > >\n<Plugin\n <FragmentDB>\n>\n", ["CrystalX", "FragmentDB"]),
        # `< Plugin`: the name ends at the blank (dataitem.cpp), so no Plugin item at all
        ("< Plugin\n <FragmentDB>\n>\n", None),
    ],
)
def test_the_list_is_the_top_level_item_named_plugin(tmp_path, xld, plugins):
    base = fake_olex2(tmp_path, xld=xld)
    if plugins is None:
        with pytest.raises(InstallError, match="not a plugin list"):
            install(str(base), sys.executable)
        assert olex2_plugins(base) == []
        return
    install(str(base), sys.executable)
    assert olex2_plugins(base) == plugins
    assert (base / "plugins.xld").read_text().startswith("<Other <Plugin <Nested> > >\n")
    uninstall(str(base))
    assert (base / "plugins.xld").read_text() == xld


def test_an_entry_olex2_wrote_with_fields_is_ours_and_another_case_is_not(tmp_path):
    """Olex2 writes one item a line indented by one blank and an item may carry fields
    (olex2app.h AddPluginField): `<CrystalX version=...>` is ours already, so nothing is
    added and uninstall leaves it. Olex2 imports each name as a module (initpy_funcs.py
    `import NAME`, case-sensitive): `<crystalx>` cannot load CrystalX.py, so ours is added
    beside it and uninstall gives the file back as it was."""
    xld = '<Plugin\n <CrystalX version="1.0">\n <FragmentDB>\n>'
    base = fake_olex2(tmp_path, xld=xld)
    install(str(base), sys.executable)
    assert (base / "plugins.xld").read_text() == xld
    uninstall(str(base))
    assert (base / "plugins.xld").read_text() == xld
    shutil.rmtree(base)
    xld = '<Plugin\n <crystalx version="1.0">\n <FragmentDB>\n>'
    base = fake_olex2(tmp_path, xld=xld)
    install(str(base), sys.executable)
    assert sorted(olex2_plugins(base)) == ["CrystalX", "FragmentDB", "crystalx"]
    uninstall(str(base))
    assert (base / "plugins.xld").read_text() == xld


def test_a_copy_that_fails_keeps_the_installed_plugin(tmp_path, monkeypatch):
    """An upgrade whose copy fails (here the disk fills while CrystalX.py is written) is one
    line naming the file (copytree gathers its failures into a shutil.Error with no file
    name), and the plugin installed before is still there, whole; no half-copied folder is
    left."""
    base = fake_olex2(tmp_path)
    install(str(base), sys.executable)
    before = tree(base)
    copyfile = shutil.copyfile

    def full(source, target, **kwargs):
        if os.path.basename(source) != "CrystalX.py":
            return copyfile(source, target, **kwargs)
        with open(target, "wb") as stream:
            stream.write(b"# half")
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(olex2_setup.shutil, "copyfile", full)
    with pytest.raises(InstallError) as refused:
        install(str(base), sys.executable)
    assert str(refused.value) == (
        "could not copy %s: No space left on device; run the installer again once that is "
        "mended" % os.path.join(olex2_setup.SOURCE, "CrystalX.py")
    )
    assert tree(base) == before
    assert sorted(p.name for p in (base / "util" / "pyUtil" / "PluginLib").iterdir()) == [
        "plugin-CrystalX",
        "plugin-FragmentDB",
    ]


def test_a_swap_that_fails_puts_the_installed_plugin_back(tmp_path, monkeypatch):
    """The new copy is in place by renames: the old folder into the staging folder, the new
    one into its place. When the second rename fails (a file Windows holds open, say), the
    old plugin is renamed back, whole; before, it had been deleted file by file first."""
    base = fake_olex2(tmp_path)
    install(str(base), sys.executable)
    before = tree(base)
    replace = os.replace

    def held_open(source, target):
        staged = os.path.basename(os.path.dirname(source)).startswith("plugin-CrystalX.")
        if staged and os.path.basename(source) == "plugin-CrystalX":  # the new copy
            raise PermissionError(13, "Permission denied", source)
        return replace(source, target)

    monkeypatch.setattr(olex2_setup.os, "replace", held_open)
    with pytest.raises(InstallError) as refused:
        install(str(base), sys.executable)
    monkeypatch.undo()
    assert str(refused.value) == (
        "could not change %s: Permission denied; run the installer again once that is mended"
        % (base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX")
    )
    assert tree(base) == before
    assert sorted(p.name for p in (base / "util" / "pyUtil" / "PluginLib").iterdir()) == [
        "plugin-CrystalX",
        "plugin-FragmentDB",
    ]


def test_olex2_starts_the_installed_plugin_beside_a_broken_one(tmp_path, olex2_start):
    """Olex2's start as olex2-gui's initpy_funcs does it (the double's start_plugins): the
    installed plugin is imported from PluginLib/plugin-CrystalX and registers its spy
    commands; a plugin that fails to import costs one line and stops nothing; after
    uninstall CrystalX is not loaded. The user's saved settings (DataDir/crystalx.phil, read
    by PluginTools) clear the core interpreter, so no core starts here."""
    base = fake_olex2(tmp_path, xld="<Plugin\n  <Broken>\n  <FragmentDB>\n>\n")
    broken = base / "util" / "pyUtil" / "PluginLib" / "plugin-Broken"
    broken.mkdir()
    (broken / "Broken.py").write_text("import no_such_module_here\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "crystalx.phil").write_text("crystalx {\n  core_interpreter = ''\n}\n")
    install(str(base), sys.executable)
    olex2, printed = olex2_start(base, data)
    assert printed == ["Failed to load plugin 'Broken': No module named 'no_such_module_here'"]
    assert "FragmentDB" in sys.modules and "crystalx.assign" in olex2.STATE.functions
    assert sys.modules["CrystalX"].__file__ == str(
        base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "CrystalX.py"
    )
    assert olex2.STATE.params["crystalx.core_interpreter"] == ""
    panel = (
        base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "CrystalX.htm"
    ).read_text()
    links = set(re.findall(r"spy\.(crystalx\.\w+)\(", panel))
    assert links and links <= set(olex2.STATE.functions), links - set(olex2.STATE.functions)
    uninstall(str(base))
    olex2, _ = olex2_start(base, data)
    assert "CrystalX" not in sys.modules and olex2.STATE.functions == {}


def test_a_mac_bundle_is_taken_for_the_program_folder_inside_it(tmp_path):
    """On macOS Olex2's BaseDir() is the program's folder, Olex2.app/Contents/MacOS
    (mainform.cpp: GuessBaseDir(argv[0], "OLEX2_DIR")); the bundle a user drags is accepted
    for it, and a folder that is neither says which folder to give."""
    app = tmp_path / "Olex2.app"
    program = fake_olex2(tmp_path / "bundle")
    (app / "Contents").mkdir(parents=True)
    program.rename(app / "Contents" / "MacOS")
    target = Path(install(str(app), sys.executable))
    assert (
        target == app / "Contents" / "MacOS" / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX"
    )
    assert "<CrystalX>" in (app / "Contents" / "MacOS" / "plugins.xld").read_text()
    uninstall(str(app))
    assert not target.exists()
    with pytest.raises(InstallError, match="the one Olex2's BaseDir\\(\\) names"):
        install(str(tmp_path), sys.executable)


def test_a_read_only_olex2_folder_is_one_line_on_the_command_line():
    """An Olex2 the user may not change (Program Files, /Applications, a shared /opt) is
    refused in one line on stderr, exit 2, nothing changed. Run as a user without write
    access: as root the installer runs as nobody (root writes anywhere), else the folders
    are made read-only."""
    top = Path(tempfile.mkdtemp(prefix="olex2-read-only-"))  # outside pytest's private tmp
    base = fake_olex2(top)
    folders = [base, base / "util" / "pyUtil" / "PluginLib"]
    try:
        for path in [top] + sorted(top.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        for folder in folders:
            folder.chmod(0o555)
        before = tree(base)
        other_user = {"user": 65534} if os.geteuid() == 0 else {}
        done = None
        for python in (sys.executable, "/usr/bin/python3"):  # one that user may run
            run = [python, "-m", "installer", "--olex2-dir", str(base), "--core-python", python]
            try:
                done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, **other_user)
                break
            except PermissionError:
                continue
        if done is None:
            pytest.skip("no python that user nobody may run")
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.splitlines() == [
            "installer: error: no write access to %s: run as a user who may change the "
            "Olex2 installation" % base
        ]
        assert tree(base) == before
    finally:
        for folder in folders:
            folder.chmod(0o755)
        shutil.rmtree(top)


HELPERS = ("session", "core_client", "olex_model", "panel_html")  # the plugin's, before session 14


def test_another_plugins_module_of_a_helpers_name_does_not_shadow_ours(tmp_path, olex2_start):
    """Olex2 puts every listed plugin's folder on sys.path before it imports one (olex2-gui
    util/pyUtil/initpy.py set_plugins_paths; the double's start_plugins), so top-level names
    are shared: a plugin listed before CrystalX with a session.py of its own made ours fail
    to load ('cannot import name Session'). The helpers are now in the package
    crystalx_plugin (as plugin-olex2qcrbox keeps its own in qcrbox_plugin/), and both load."""
    base = fake_olex2(tmp_path, xld="<Plugin\n  <Other>\n  <FragmentDB>\n>\n")
    other = base / "util" / "pyUtil" / "PluginLib" / "plugin-Other"
    other.mkdir()
    for name in HELPERS:
        (other / f"{name}.py").write_text(f"WHOSE = 'Other'  # {name}\n")
    (other / "Other.py").write_text(
        "import session, core_client, olex_model, panel_html\nassert session.WHOSE == 'Other'\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "crystalx.phil").write_text("crystalx {\n  core_interpreter = ''\n}\n")
    install(str(base), sys.executable)
    try:
        olex2, printed = olex2_start(base, data)
        assert (
            printed == [] and "Other" in sys.modules and "crystalx.assign" in olex2.STATE.functions
        )
        crystalx = sys.modules["CrystalX"]
        assert crystalx.Session.__module__ == "crystalx_plugin.session"
        assert sys.modules["session"].WHOSE == "Other"
        folder = base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX"
        assert sorted(p.name for p in folder.glob("*.py")) == ["CrystalX.py"]
    finally:
        for name in HELPERS + ("Other",):
            sys.modules.pop(name, None)


def test_an_upgrade_leaves_none_of_the_old_helper_files_behind(tmp_path):
    """An installation from before the helpers moved into crystalx_plugin/ had session.py and
    the others at the top of plugin-CrystalX (with their __pycache__): left there, they would
    shadow another plugin's modules of those names. The install replaces the folder whole."""
    base = fake_olex2(tmp_path)
    old = base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX"
    (old / "__pycache__").mkdir(parents=True)
    for name in HELPERS:
        (old / f"{name}.py").write_text("# the old layout\n")
        (old / "__pycache__" / f"{name}.cpython-38.pyc").write_bytes(b"\0")
    (old / "CrystalX.py").write_text("from session import Session\n")
    install(str(base), sys.executable)
    names = {p.relative_to(old).as_posix() for p in old.rglob("*")}
    assert not {n for n in names if n.split("/")[0] in {f"{h}.py" for h in HELPERS}}
    assert "__pycache__" not in names and "crystalx_plugin/session.py" in names
    assert (old / "CrystalX.py").read_text() == Path(olex2_setup.SOURCE, "CrystalX.py").read_text()


OLD_OLEX2_STUBS = {  # Olex2's modules as names only: the plugin must stop before it uses any
    "olex.py": "",
    "olex_core.py": "",
    "olx.py": "def BaseDir():\n    return 'unused'\n",
    "olexFunctions.py": "class OlexFunctions(object):\n    pass\n",
    "PluginTools.py": "class PluginTools(object):\n    pass\n",
}
OLD_PYTHON_LINE = (
    "CrystalX needs an Olex2 whose Python is 3.8 or later (Olex2 1.5 and newer); this Olex2 "
    "runs Python %s"
)


def python_2():
    """A real Python 2.7 (pyenv's, or python2.7 on PATH that runs), or None."""
    candidates = sorted(Path.home().glob(".pyenv/versions/2.7*/bin/python"))
    candidates += [Path(p) for p in [shutil.which("python2.7")] if p]
    for candidate in candidates:
        try:
            done = subprocess.run(
                [str(candidate), "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == "(2, 7)":
            return str(candidate)
    return None


def test_an_olex2_with_an_older_python_says_why_in_one_line(tmp_path, olex2_start, monkeypatch):
    """Olex2 prints a plugin's import error in one line and goes on (olex2-gui
    util/pyUtil/initpy_funcs.py set_plugins_paths: "Failed to load plugin '%s': %s"); under
    a Python older than 3.8 that line says what CrystalX needs instead of a SyntaxError or
    a missing name from deep in its helpers, and no spy command is half registered. py.run
    of the installer there says the same and installs nothing."""
    base = fake_olex2(tmp_path, xld="<Plugin\n  <FragmentDB>\n>\n")
    data = tmp_path / "data"
    data.mkdir()
    install(str(base), sys.executable)
    monkeypatch.setattr(sys, "version_info", (3, 7, 16, "final", 0))
    olex2, printed = olex2_start(base, data)
    assert printed == ["Failed to load plugin 'CrystalX': " + OLD_PYTHON_LINE % "3.7"]
    assert olex2.STATE.functions == {}
    other = tmp_path / "other"
    other.mkdir()
    target = fake_olex2(other)
    olex2.STATE.params["_base_dir"] = str(target)  # the folder py.run would install into
    venv_python = tmp_path / "checkout" / ".venv" / "bin" / "python"  # with a core to record
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    monkeypatch.setattr(
        olex2_setup, "checkout_root", lambda source=None: str(tmp_path / "checkout")
    )
    before = tree(target)
    monkeypatch.setattr(sys, "version_info", (2, 7, 18, "final", 0))
    monkeypatch.chdir(ROOT / "installer")
    printed = []
    monkeypatch.setattr("builtins.print", lambda *words: printed.append(" ".join(words)))
    py_run(ROOT / "installer" / "install.py")
    assert tree(target) == before
    assert printed == ["CrystalX installer: %s; nothing was installed" % OLD_PYTHON_LINE % "2.7"]


def test_a_real_python_2_reads_the_plugin_and_the_installer_and_says_why_not(tmp_path):
    """The same with a real Python 2.7 (the Python of older Olex2 releases), where one is
    installed: CrystalX.py and install.py compile there and stop with the line above; the
    helpers, which they never reach, need not (the stubs stand for Olex2's own modules)."""
    python = python_2()
    if python is None:
        pytest.skip("no Python 2.7 here")
    base = fake_olex2(tmp_path)
    install(str(base), sys.executable)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in OLD_OLEX2_STUBS.items():
        (stubs / name).write_text(text)
    plugin = base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX"
    start = (  # initpy_funcs.py set_plugins_paths, as an Olex2 whose Python is 2.7 runs it
        "import sys\nsys.path[:0] = [%r, %r]\n"
        "try:\n    __import__('CrystalX')\n"
        "except Exception as err:\n    print(\"Failed to load plugin '%%s': %%s\" %% "
        "('CrystalX', err))\n" % (str(stubs), str(plugin))
    )
    done = subprocess.run([python, "-c", start], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.splitlines() == [
        "Failed to load plugin 'CrystalX': " + OLD_PYTHON_LINE % "2.7"
    ], done.stderr
    py_run_2 = (  # Olex2's py.run: the file's text in __main__, no __file__, in its folder
        "import sys\nsys.path.insert(0, %r)\n"
        "exec(compile(open('install.py').read(), 'install.py', 'exec'), "
        "{'__name__': '__main__'})\n" % str(stubs)
    )
    other = tmp_path / "other"
    other.mkdir()
    before = tree(fake_olex2(other))
    done = subprocess.run(
        [python, "-c", py_run_2], capture_output=True, text=True, cwd=ROOT / "installer"
    )
    assert done.stdout.splitlines() == [
        "CrystalX installer: %s; nothing was installed" % OLD_PYTHON_LINE % "2.7"
    ], done.stderr
    assert tree(other / "olex2") == before
