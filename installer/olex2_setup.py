"""Copy plugin-CrystalX into an Olex2 folder, list it in plugins.xld and record the core
interpreter; uninstall reverses exactly that. Standard library only, Python 3.8 (it also
runs inside Olex2)."""

import json
import os
import re
import shutil
import stat
import tempfile

PLUGIN = "CrystalX"
PLUGIN_DIR = "plugin-" + PLUGIN
SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin", PLUGIN_DIR
)
MANIFEST = "crystalx_install.json"
ENTRY = "<%s>" % PLUGIN


class InstallError(Exception):
    """Why the installation cannot go ahead, in one line."""


def plugin_lib(olex2_dir):
    return os.path.join(olex2_dir, "util", "pyUtil", "PluginLib")


def base_dir(olex2_dir):
    """Olex2's own folder (its BaseDir(): the program's folder or $OLEX2_DIR, pcxod/olex2
    olex/mainform.cpp TBasicApp::GuessBaseDir(argv[0], "OLEX2_DIR")); a macOS bundle given
    as Olex2.app stands for its Contents/MacOS, where the program is."""
    bundle = os.path.join(olex2_dir, "Contents", "MacOS")
    if not os.path.isdir(plugin_lib(olex2_dir)) and os.path.isdir(plugin_lib(bundle)):
        return bundle
    return olex2_dir


def check(olex2_dir):
    """The folder must be an Olex2 installation we can write to."""
    if not os.path.isdir(plugin_lib(olex2_dir)):
        raise InstallError(
            "%s does not look like an Olex2 installation (no util/pyUtil/PluginLib): give "
            "the folder of the olex2 program, the one Olex2's BaseDir() names" % olex2_dir
        )
    for folder in (olex2_dir, plugin_lib(olex2_dir)):
        try:
            handle, probe = tempfile.mkstemp(dir=folder)
            os.close(handle)
            os.remove(probe)
        except OSError:
            raise InstallError(
                "no write access to %s: run as a user who may change the Olex2 installation"
                % folder
            ) from None


def checkout_root(source=SOURCE):
    """The CrystalX checkout the plugin comes from (the core runs there)."""
    return os.path.dirname(os.path.dirname(source))


def default_core_python():
    """The venv beside this checkout (README's set-up). Never the interpreter running us:
    inside Olex2 that is Olex2's own program, not a Python with the core."""
    root = checkout_root()
    for candidate in (
        os.path.join(root, ".venv", "bin", "python"),
        os.path.join(root, ".venv", "Scripts", "python.exe"),
    ):
        if os.path.isfile(candidate):
            return candidate
    raise InstallError(
        "no core Python found: create the venv %s as the README says, or pass --core-python "
        "with the python of the environment where crystalx-core is installed"
        % os.path.join(root, ".venv")
    )


def looks_like_python(path):
    """python, python3, python3.12, python.exe, pythonw.exe: not Olex2's olex2 or unirun."""
    return os.path.basename(path).lower().startswith("python")


def install(olex2_dir, core_python, source=SOURCE):
    """Install or refresh; running it twice gives the same result as once."""
    olex2_dir = base_dir(olex2_dir)
    check(olex2_dir)
    if not os.path.isfile(os.path.join(source, PLUGIN + ".py")):
        raise InstallError("plugin sources not found at %s" % source)
    if not os.path.isfile(core_python):
        raise InstallError("core interpreter %s does not exist" % core_python)
    if not looks_like_python(core_python):
        raise InstallError(
            "core interpreter %s is not a python; point --core-python at the python of the "
            "environment where crystalx-core is installed" % core_python
        )
    manifest = _read_manifest(olex2_dir)
    xld = os.path.join(olex2_dir, "plugins.xld")
    try:
        if os.path.exists(xld):
            _plugin_list(xld, _read_text(xld))  # refused before anything is copied
        target = _replace_plugin_folder(olex2_dir, source, core_python)
        if manifest is None:
            manifest = {"plugins_xld_created": not os.path.exists(xld), "plugins_xld_added": False}
        if _add_entry(xld):
            manifest["plugins_xld_added"] = True
        manifest["core_interpreter"] = core_python
        _write(os.path.join(olex2_dir, MANIFEST), json.dumps(manifest, indent=1) + "\n")
    except OSError as error:
        raise InstallError(_refused(error)) from None
    return target


def _replace_plugin_folder(olex2_dir, source, core_python):
    """The new plugin folder is copied and set up beside the old one first, so that a copy that
    fails (disk full) leaves the installed plugin as it was; then the old folder is renamed
    into the staging folder and the new one into its place, the old one put back if that
    fails (a file Windows holds open), and deleted only once the new one is in place."""
    target = os.path.join(plugin_lib(olex2_dir), PLUGIN_DIR)
    staging = tempfile.mkdtemp(prefix=PLUGIN_DIR + ".", dir=plugin_lib(olex2_dir))
    try:
        copy = os.path.join(staging, PLUGIN_DIR)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _set_settings(os.path.join(copy, "crystalx.phil"), core_python, checkout_root(source))
        old = os.path.join(staging, "old")
        if os.path.exists(target):
            os.replace(target, old)
        try:
            os.replace(copy, target)
        except OSError as error:
            if os.path.exists(old):
                os.replace(old, target)
            raise OSError(error.errno, error.strerror, target) from None  # not the staging path
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _refused(error):
    """An OSError as one line naming the file. A failed copytree raises shutil.Error, which
    holds a list of (source, destination, message) and no file name: the first source is
    named (its destination lies in the staging folder, gone by then), the others counted."""
    failures = error.args[0] if isinstance(error, shutil.Error) and error.args else None
    if isinstance(failures, list) and failures:
        source, _, message = failures[0]
        more = " (and %d more)" % (len(failures) - 1) if len(failures) > 1 else ""
        return "could not copy %s: %s%s; run the installer again once that is mended" % (
            source,
            _reason(str(message)),
            more,
        )
    where = error.filename or "the Olex2 folder"
    return "could not change %s: %s; run the installer again once that is mended" % (
        where,
        error.strerror or error,
    )


def _reason(message):
    """An OSError's text without its number and paths: "[Errno 28] No space left on device:
    '/x'" is "No space left on device"."""
    message = re.sub(r"^\[(?:Errno|WinError) -?\d+\] ", "", message)
    return re.sub(r": '[^']*'(?: -> '[^']*')?$", "", message)


def uninstall(olex2_dir):
    """Remove what install added, and only that."""
    olex2_dir = base_dir(olex2_dir)
    check(olex2_dir)
    manifest = _read_manifest(olex2_dir)
    if manifest is None:
        raise InstallError("CrystalX is not installed in %s (no %s)" % (olex2_dir, MANIFEST))
    target = os.path.join(plugin_lib(olex2_dir), PLUGIN_DIR)
    xld = os.path.join(olex2_dir, "plugins.xld")
    try:
        if manifest.get("plugins_xld_added") and os.path.exists(xld):
            _remove_entry(xld)
            if manifest.get("plugins_xld_created") and _entries(xld) == []:
                os.remove(xld)
        if os.path.exists(target):
            shutil.rmtree(target)
        os.remove(os.path.join(olex2_dir, MANIFEST))
    except OSError as error:
        raise InstallError(_refused(error)) from None


# --- plugins.xld: Olex2's plugin list, an XL data file -------------------------------------------
# Olex2 reads it with TDataFile::LoadFromXLFile (pcxod/olex2 sdl/datafile.cpp): line ends are
# dropped and runs of blanks are one, so `<Plugin <A> <B> >` on one line is the same list as one
# entry a line; the plugins are the items of the item named `Plugin` (AOlex2App::InitOlex2App,
# olex2app.h), each imported as the module of that name, case and all, and an item may carry
# fields, `<A version="1">` (AddPluginField). Olex2 writes it back one item a line
# (TDataItem::SaveToStrBuffer). So entries are found as items, not as lines.

_NAME = re.compile(r"<([^\s<>\"]*)")  # TDataItem::LoadFromString: the name ends at a blank or <>"


def _plugin_items(text):
    """(end of the `<Plugin` name, [(name, start, end) of each item in it]) or None when the
    text has no Plugin item. As Olex2 reads it: the first top-level item named exactly
    `Plugin` (df.Root().FindItem), a name is what follows `<` up to a blank or `<>"` (so
    `< Plugin` is an item with an empty name), quoted values are skipped."""
    depth, k, after, items, entry = 0, 0, None, [], None
    while k < len(text):
        char = text[k]
        if char == '"':
            closing = text.find('"', k + 1)
            k = len(text) if closing < 0 else closing + 1
            continue
        if char == "<":
            name = _NAME.match(text, k).group(1)
            depth += 1
            if depth == 1 and after is None and name == "Plugin":
                after = k + 1 + len(name)
            elif depth == 2 and after is not None:
                entry = (name, k)
            k += 1 + len(name)
            continue
        if char == ">" and depth > 0:
            if depth == 2 and entry is not None:
                items.append((entry[0], entry[1], k + 1))
                entry = None
            elif depth == 1 and after is not None:
                return after, items
            depth -= 1
        k += 1
    return None if after is None else (after, items)


def _plugin_list(xld, text):
    """_plugin_items of a plugins.xld that has a Plugin item; else the installation stops."""
    found = _plugin_items(text)
    if found is None:
        raise InstallError("%s is not a plugin list (no '<Plugin' item); not changed" % xld)
    return found


def _entries(xld):
    found = _plugin_items(_read_text(xld))
    return [name for name, _, _ in found[1]] if found else []


def _ours(name):
    """Exactly our name: Olex2 imports each entry as a module of that name (olex2-gui
    initpy_funcs.py `import NAME`), and a Python import is case-sensitive, so `<crystalx>`
    cannot load CrystalX.py and is not our entry."""
    return name == PLUGIN


def _add_entry(xld):
    """Add our entry unless present; False when the file already lists it."""
    if not os.path.exists(xld):
        _write(xld, "<Plugin\n  %s\n>\n" % ENTRY)
        return True
    text = _read_text(xld)
    after, items = _plugin_list(xld, text)
    if any(_ours(name) for name, _, _ in items):
        return False
    newline = "\r\n" if "\r\n" in text else "\n"
    _write(xld, text[:after] + newline + "  " + ENTRY + text[after:])
    return True


def _remove_entry(xld):
    """Take our item out of the list, with its line when it stood alone on it."""
    text = original = _read_text(xld)
    found = _plugin_items(text)
    for _, start, end in reversed([item for item in (found[1] if found else []) if _ours(item[0])]):
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end + 1
        if not text[line_start:start].strip() and not text[end:line_end].strip():
            start, end = line_start, line_end
        text = text[:start] + text[end:]
    if text != original:
        _write(xld, text)


def _set_settings(phil, core_python, core_directory):
    """Record the core's python and folder; read and written as UTF-8, which Olex2's
    PluginTools reads (a user folder with an accent must survive a cp1252 Windows)."""
    with open(phil, encoding="utf-8") as stream:
        text = stream.read()
    for name, value in (("core_interpreter", core_python), ("core_directory", core_directory)):
        quoted = value.replace("\\", "/").replace("'", "\\'")
        text = text.replace("%s = ''" % name, "%s = '%s'" % (name, quoted), 1)
    _write(phil, text)


def _read_manifest(olex2_dir):
    path = os.path.join(olex2_dir, MANIFEST)
    if not os.path.exists(path):
        return None
    try:
        return json.loads(_read_text(path))
    except ValueError:
        raise InstallError("%s is damaged; remove it and %s by hand" % (path, PLUGIN_DIR)) from None


def _write(path, text):
    """Atomic: a temporary file beside the target, then a rename. mkstemp makes the file 0600;
    it is given the old file's mode (a new file the mode open() would give), or other users of
    a shared Olex2 could no longer read plugins.xld and Olex2 would load no plugin for them."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _mode(path):
    """The permissions `path` has, or 0o666 less the umask for a file not there yet."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # the umask can only be read by setting it
        os.umask(umask)
        return 0o666 & ~umask


def _read_text(path) -> str:
    """A text file read whole as UTF-8, line endings as written (plugins.xld keeps Olex2's own)."""
    with open(path, newline="", encoding="utf-8") as stream:
        return stream.read()
