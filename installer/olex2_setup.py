"""Copy plugin-CrystalX into an Olex2 folder, list it in plugins.xld and record the core
interpreter; uninstall reverses exactly that. Standard library only, Python 3.8 (it also
runs inside Olex2)."""

import json
import os
import shutil
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


def check(olex2_dir):
    """The folder must be an Olex2 installation we can write to."""
    if not os.path.isdir(plugin_lib(olex2_dir)):
        raise InstallError(
            "%s does not look like an Olex2 installation (no util/pyUtil/PluginLib)" % olex2_dir
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
    target = os.path.join(plugin_lib(olex2_dir), PLUGIN_DIR)
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _set_settings(os.path.join(target, "crystalx.phil"), core_python, checkout_root(source))
    xld = os.path.join(olex2_dir, "plugins.xld")
    if manifest is None:
        manifest = {"plugins_xld_created": not os.path.exists(xld), "plugins_xld_added": False}
    if _add_entry(xld):
        manifest["plugins_xld_added"] = True
    manifest["core_interpreter"] = core_python
    _write(os.path.join(olex2_dir, MANIFEST), json.dumps(manifest, indent=1) + "\n")
    return target


def uninstall(olex2_dir):
    """Remove what install added, and only that."""
    check(olex2_dir)
    manifest = _read_manifest(olex2_dir)
    if manifest is None:
        raise InstallError("CrystalX is not installed in %s (no %s)" % (olex2_dir, MANIFEST))
    target = os.path.join(plugin_lib(olex2_dir), PLUGIN_DIR)
    if os.path.exists(target):
        shutil.rmtree(target)
    xld = os.path.join(olex2_dir, "plugins.xld")
    if manifest.get("plugins_xld_added") and os.path.exists(xld):
        _remove_entry(xld)
        if manifest.get("plugins_xld_created") and _entries(xld) == []:
            os.remove(xld)
    os.remove(os.path.join(olex2_dir, MANIFEST))


# --- plugins.xld: `<Plugin` … one `<NAME>` per line … `>` ---------------------------------------


def _entries(xld):
    lines = _read_text(xld).splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip().startswith("<")
        and line.strip().endswith(">")
        and not line.strip().lower().startswith("<plugin")
    ]


def _add_entry(xld):
    """Add our entry unless present; False when the file already lists it."""
    if not os.path.exists(xld):
        _write(xld, "<Plugin\n  %s\n>\n" % ENTRY)
        return True
    text = _read_text(xld)
    lines = text.splitlines(True)
    if any(line.strip() == ENTRY for line in lines):
        return False
    opening = next(
        (k for k, line in enumerate(lines) if line.strip().lower().startswith("<plugin")), None
    )
    if opening is None:
        raise InstallError("%s is not a plugin list (no '<Plugin' line); not changed" % xld)
    newline = "\r\n" if lines[opening].endswith("\r\n") else "\n"
    if not lines[opening].endswith(("\n", "\r")):
        lines[opening] += newline
    lines.insert(opening + 1, "  %s%s" % (ENTRY, newline))
    _write(xld, "".join(lines))
    return True


def _remove_entry(xld):
    lines = _read_text(xld).splitlines(True)
    _write(xld, "".join(line for line in lines if line.strip() != ENTRY))


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
    """Atomic: a temporary file beside the target, then a rename."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def _read_text(path) -> str:
    """A text file read whole as UTF-8, line endings as written (plugins.xld keeps Olex2's own)."""
    with open(path, newline="", encoding="utf-8") as stream:
        return stream.read()
