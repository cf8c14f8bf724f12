"""Run inside Olex2 (`py.run /path/to/crystalx/installer/install.py`): installs the plugin into
the running Olex2, with the core interpreter from the checkout's .venv.

Olex2's py.run executes the file in `__main__` without `__file__` and after changing into the
file's folder (pyext.cpp; Olex2's own plugin skeleton falls back the same way), so the
checkout is found from the working directory then.

This file compiles under Python 2, so that an Olex2 whose Python is older than the plugin's
3.8 (older releases ran Python 2.7) is told so in one line and nothing is installed there,
instead of a SyntaxError from olex2_setup, which it cannot compile."""

import os
import sys

OLD_PYTHON = (
    "CrystalX needs an Olex2 whose Python is 3.8 or later (Olex2 1.5 and newer); this Olex2 "
    "runs Python %d.%d"
)


def _here():
    try:
        return os.path.dirname(os.path.abspath(__file__))
    except NameError:
        return os.getcwd()


def run_inside_olex2():
    if sys.version_info < (3, 8):
        print("CrystalX installer: %s; nothing was installed" % OLD_PYTHON % sys.version_info[:2])
        return
    sys.path.insert(0, os.path.dirname(_here()))
    import olx
    from installer.olex2_setup import InstallError, default_core_python, install

    try:
        target = install(olx.BaseDir(), default_core_python())
        print("CrystalX installed in %s; restart Olex2 to load it" % target)
    except InstallError as error:
        print("CrystalX installer: %s" % error)


run_inside_olex2()
