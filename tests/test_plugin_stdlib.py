"""The plugin and the installer under the Python that runs them (Olex2 1.5 has Python 3.8):
standard library only (unittest), so that any interpreter from 3.8 on runs it:

    CRYSTALX_CORE_PYTHON=.venv/bin/python python3.8 -m unittest tests.test_plugin_stdlib

It loads the plugin into the Olex2 double with Olex2's environment and thread rule, clicks
Auto-assign on a small molecule, applies and reverts; and installs into a fake Olex2 folder
through py.run. The core runs in CRYSTALX_CORE_PYTHON (or this Python when it has the core).
pytest collects it too."""

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOUBLE = os.path.join(ROOT, "tests", "olex2_double")
PLUGIN = os.path.join(ROOT, "plugin", "plugin-CrystalX")
MODULES = (
    "CrystalX",
    "crystalx_plugin",
    "crystalx_plugin.session",
    "crystalx_plugin.olex_model",
    "crystalx_plugin.core_client",
    "crystalx_plugin.panel_html",
    "olex",
    "olx",
    "olex_core",
    "olexFunctions",
    "PluginTools",
    "_olex2",
)
LISTED = "<Plugin\n  <FragmentDB>\n>\n"  # a plugins.xld with another plugin
ACETIC_ACID = [  # P1, 10 Å cell: C1-C2 1.50 Å, C2=O1 1.21 Å, C2-O2 1.31 Å
    ("Q1", "Q", (0.100, 0.100, 0.100), 0.05, 1.0, 0, 4.1),
    ("Q2", "Q", (0.250, 0.100, 0.100), 0.05, 1.0, 0, 4.0),
    ("Q3", "Q", (0.310, 0.210, 0.100), 0.05, 1.0, 0, 5.2),
    ("Q4", "Q", (0.316, -0.015, 0.100), 0.05, 1.0, 0, 5.1),
]


BENCHMARK = os.path.join(os.path.dirname(ROOT), "shared", "data", "benchmark")
UREA_MATRICES = [  # P -4 21 m, the SYMM cards of XH_urea/published.res
    ((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0)),
    ((0, 1, 0, 0.0), (-1, 0, 0, 0.0), (0, 0, -1, 0.0)),
    ((-1, 0, 0, 0.0), (0, -1, 0, 0.0), (0, 0, 1, 0.0)),
    ((0, -1, 0, 0.0), (1, 0, 0, 0.0), (0, 0, -1, 0.0)),
    ((1, 0, 0, 0.5), (0, -1, 0, 0.5), (0, 0, -1, 0.0)),
    ((0, -1, 0, 0.5), (-1, 0, 0, 0.5), (0, 0, 1, 0.0)),
    ((-1, 0, 0, 0.5), (0, 1, 0, 0.5), (0, 0, -1, 0.0)),
    ((0, 1, 0, 0.5), (1, 0, 0, 0.5), (0, 0, 1, 0.0)),
]
UREA_SWAPPED = [  # published.res's O, N and C (sof, Ueq), the C named and typed N and the N C
    ("O1", "O", (0.0, 0.5, 0.596724), 0.0157, 0.25, 0, 0.0),
    ("C2", "C", (0.144653, 0.644653, 0.178963), 0.0232, 0.5, 0, 0.0),
    ("N2", "N", (0.0, 0.5, 0.328225), 0.0124, 0.25, 0, 0.0),
]


def core_python():
    named = os.environ.get("CRYSTALX_CORE_PYTHON")
    if named:
        return named
    return sys.executable if importlib.util.find_spec("crystalx_core") else None


class PluginInOlex2(unittest.TestCase):
    def setUp(self):
        self.python = core_python()
        if self.python is None:
            self.skipTest("no core python: set CRYSTALX_CORE_PYTHON to the venv's python")
        self.work = tempfile.mkdtemp()
        self.saved_path, self.saved_env = list(sys.path), dict(os.environ)
        sys.path[:0] = [DOUBLE, PLUGIN]
        for name in MODULES:
            sys.modules.pop(name, None)
        self.state = importlib.import_module("_olex2").STATE
        self.state.reset()
        os.environ.update(self.state.olex2_environment(os.path.join(self.work, "olex2")))
        self.state.params.update(
            {
                "_data_dir": self.work,
                "_base_dir": os.path.join(self.work, "olex2"),
                "crystalx.core_interpreter": self.python,
                "crystalx.core_directory": ROOT,
            }
        )
        self.undo = self.state.enforce_gil(PLUGIN)
        self.state.schedule_unit = 0.01  # time compressed
        self.state.load(
            (10, 10, 10, 90, 90, 90),
            [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))],
            [("C", 2), ("O", 2), ("H", 4)],
            1,
            ACETIC_ACID,
        )

    def tearDown(self):
        plugin = sys.modules.get("CrystalX")
        if plugin is not None and plugin.CrystalX_instance.core is not None:
            plugin.CrystalX_instance.core.close()
        self.undo()
        sys.path[:] = self.saved_path
        os.environ.clear()
        os.environ.update(self.saved_env)
        for name in MODULES:
            sys.modules.pop(name, None)
        shutil.rmtree(self.work, ignore_errors=True)

    def auto_assign(self):
        """Load the plugin, click Auto-assign and run Olex2's loop until it is done: (the
        session, the model state before)."""
        plugin = importlib.import_module("CrystalX").CrystalX_instance
        before = self.state.model_state()
        self.state.functions["crystalx.assign"]()
        self.state.pump(
            lambda: plugin.job is None and not plugin.worker.is_alive() and not self.state.scheduled
        )
        return plugin._session(), before

    def test_auto_assign_apply_and_revert_with_olex2s_environment_and_thread_rule(self):
        session, before = self.auto_assign()
        self.assertTrue(session.journals, session.messages)
        atoms = [
            c.split()[1:2] if c.startswith("name") else c.split()[2:]
            for c in self.state.log
            if c.startswith(("name", "hadd"))
        ]
        self.assertTrue(
            atoms and all(a.startswith("#c") for words in atoms for a in words), self.state.log
        )
        self.assertNotEqual(self.state.model_state(), before)
        self.state.functions["crystalx.revert"]()
        self.assertEqual(session.messages[-1], "reverted exactly")
        self.assertEqual(self.state.model_state(), before)
        self.assertEqual(
            (self.state.starved, self.state.thread_prints, self.state.errors), ([], [], [])
        )

    def test_an_olex2_with_an_older_python_gets_one_line_saying_why(self):
        """Olex2 prints an import error of a plugin in one line (olex2-gui
        util/pyUtil/initpy_funcs.py set_plugins_paths); below Python 3.8 that line is what
        CrystalX needs, and no command is registered."""
        from unittest import mock

        with mock.patch.object(sys, "version_info", (3, 7, 16, "final", 0)):
            with self.assertRaises(ImportError) as refused:
                importlib.import_module("CrystalX")
        self.assertEqual(
            str(refused.exception),
            "CrystalX needs an Olex2 whose Python is 3.8 or later (Olex2 1.5 and newer); "
            "this Olex2 runs Python 3.7",
        )
        self.assertEqual(self.state.functions, {})

    def test_the_reflection_file_olex2_has_decides_the_elements_and_revert_restores(self):
        hkl = os.path.join(BENCHMARK, "XH_urea", "data.hkl")
        if not os.path.isfile(hkl):
            self.skipTest("../shared/data/benchmark is not beside the checkout")
        self.state.load(
            (5.578, 5.578, 4.686, 90, 90, 90),
            UREA_MATRICES,
            [("C", 1), ("H", 4), ("N", 2), ("O", 1)],
            2,
            UREA_SWAPPED,
            hkl=hkl,
            radiation=0.5996,
        )
        self.state.params["crystalx.method"] = "baseline"  # a prior that follows the names
        session, before = self.auto_assign()
        self.assertEqual(session.shown.reflections["path"], hkl)
        self.assertEqual(session.shown.snapshot["wavelength"], 0.5996)
        self.assertTrue(
            any(m.startswith("weighed by the data in data.hkl") for m in session.messages),
            session.messages,
        )
        self.assertTrue(any("N → C by the data" in m for m in session.messages), session.messages)
        typed = dict((tuple(a.crd), a.type) for a in self.state.live() if a.type != "H")
        self.assertEqual(typed[(0.0, 0.5, 0.328225)], "C")
        self.assertEqual(typed[(0.144653, 0.644653, 0.178963)], "N")
        self.assertIn("by the data", self.state.vfs["crystalx-table.htm"])
        self.state.functions["crystalx.revert"]()
        self.assertEqual(session.messages[-1], "reverted exactly")
        self.assertEqual(self.state.model_state(), before)
        self.assertEqual((self.state.starved, self.state.thread_prints), ([], []))


def olex2_folder(work):
    """An Olex2 folder in `work` with FragmentDB listed in plugins.xld and no plugin copied."""
    base = os.path.join(work, "olex2")
    os.makedirs(os.path.join(base, "util", "pyUtil", "PluginLib"))
    with open(os.path.join(base, "plugins.xld"), "w", encoding="utf-8") as stream:
        stream.write(LISTED)
    return base


class InstallerInOlex2(unittest.TestCase):
    def test_py_run_installs_and_uninstall_restores(self):
        work = tempfile.mkdtemp()
        try:
            base = olex2_folder(work)
            python = os.path.join(work, "Jürgen", "python")
            os.makedirs(os.path.dirname(python))
            shutil.copy(sys.executable, python)
            script = (
                "import sys; sys.path.insert(0, %r); from installer.olex2_setup import install, "
                "uninstall; "
                "install(%r, %r)" % (ROOT, base, python)
            )
            done = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=work)
            self.assertEqual(done.returncode, 0, done.stderr[-600:])
            phil = os.path.join(
                base, "util", "pyUtil", "PluginLib", "plugin-CrystalX", "crystalx.phil"
            )
            with open(phil, "rb") as stream:
                self.assertIn(("core_interpreter = '%s'" % python).encode("utf-8"), stream.read())
            namespace = {"__name__": "__main__"}  # what py.run gives: no __file__
            old = os.getcwd()
            os.chdir(os.path.join(ROOT, "installer"))
            try:
                with open("install.py", encoding="utf-8") as stream:
                    code = compile(stream.read(), "install.py", "exec")
                sys.modules.pop("olx", None)
                sys.path.insert(0, DOUBLE)
                importlib.import_module("_olex2").STATE.params["_base_dir"] = base
                exec(
                    code, namespace
                )  # without a .venv it must refuse with a message, not take Olex2's binary
            finally:
                os.chdir(old)
                sys.path.remove(DOUBLE)
            from installer.olex2_setup import uninstall

            uninstall(base)
            with open(os.path.join(base, "plugins.xld"), encoding="utf-8") as stream:
                self.assertEqual(stream.read(), LISTED)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class InstallerUnderAnOlderPython(unittest.TestCase):
    def test_py_run_says_why_and_installs_nothing(self):
        """install.py under a Python older than 3.8 (Olex2's py.run: no __file__, run in its
        folder) prints one line and leaves the Olex2 folder as it was."""
        import contextlib
        import io
        from unittest import mock

        work = tempfile.mkdtemp()
        old = os.getcwd()
        try:
            base = olex2_folder(work)
            os.chdir(os.path.join(ROOT, "installer"))
            with open("install.py", encoding="utf-8") as stream:
                code = compile(stream.read(), "install.py", "exec")
            sys.modules.pop("olx", None)
            sys.path.insert(0, DOUBLE)  # the Olex2 whose folder py.run would install into
            importlib.import_module("_olex2").STATE.params["_base_dir"] = base
            printed = io.StringIO()
            try:
                with mock.patch.object(sys, "version_info", (2, 7, 18, "final", 0)):
                    with contextlib.redirect_stdout(printed):
                        exec(code, {"__name__": "__main__"})
            finally:
                sys.path.remove(DOUBLE)
            self.assertEqual(
                printed.getvalue(),
                "CrystalX installer: CrystalX needs an Olex2 whose Python is 3.8 or later "
                "(Olex2 1.5 and newer); this Olex2 runs Python 2.7; nothing was installed\n",
            )
            self.assertEqual(os.listdir(os.path.join(base, "util", "pyUtil", "PluginLib")), [])
            with open(os.path.join(base, "plugins.xld"), encoding="utf-8") as stream:
                self.assertEqual(stream.read(), LISTED)
        finally:
            os.chdir(old)
            shutil.rmtree(work, ignore_errors=True)


NEWER_THAN_3_8 = [  # library calls and runtime forms that parse as 3.8 but fail there
    (r"\.removeprefix\(|\.removesuffix\(", "str.removeprefix/removesuffix (3.9)"),
    (r"functools\.cache\b|@cache\b", "functools.cache (3.9)"),
    (r"\bzoneinfo\b|\bgraphlib\b|\btomllib\b", "module new in 3.9+"),
    (r"math\.lcm|math\.nextafter|random\.randbytes", "math/random function new in 3.9"),
    (
        r"\b(list|dict|tuple|set|type)\[[^\]]*\]\s*[,)=:]",
        "builtin generic outside `from __future__` (3.9)",
    ),
    (r"\bzip\([^)]*strict=", "zip(strict=) (3.10)"),
    (r"\bmatch\s+\w+\s*:\s*$", "match statement (3.10)"),
    (r"\bint\.bit_count|\.bit_count\(\)", "int.bit_count (3.10)"),
]


class Python38Syntax(unittest.TestCase):
    def sources(self):
        for folder in (PLUGIN, os.path.join(ROOT, "installer"), DOUBLE):
            for name in sorted(os.listdir(folder)):
                if name.endswith(".py"):
                    with open(os.path.join(folder, name), encoding="utf-8") as stream:
                        yield name, stream.read()

    def test_plugin_installer_and_double_compile_as_python_3_8(self):
        import ast

        for name, text in self.sources():
            ast.parse(text, name, feature_version=(3, 8))

    def test_no_library_call_newer_than_3_8(self):
        import re

        for name, text in self.sources():
            if "from __future__ import annotations" in text:
                continue  # annotations are not evaluated there
            for pattern, what in NEWER_THAN_3_8:
                for number, line in enumerate(text.splitlines(), 1):
                    self.assertIsNone(
                        re.search(pattern, line.split("#")[0]), "%s:%d: %s" % (name, number, what)
                    )


if __name__ == "__main__":
    unittest.main()
