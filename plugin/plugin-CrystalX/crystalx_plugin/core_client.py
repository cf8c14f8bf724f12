"""The CrystalX core as a child process of Olex2: started in the background when the plugin
loads, kept warm, restarted when it dies. Standard library only, Python 3.8 (Olex2's own
interpreter runs this).

Replies are read by the thread that sent the request (no permanent reader thread: in Olex2
a thread only runs while it holds the running-thread count up). The child gets a clean
environment: an installed Olex2 sets PYTHONHOME, LD_LIBRARY_PATH, LIBTBX_BUILD and its cctbx
paths (etc/bin/start), with which another Python dies or imports the wrong cctbx.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading

PROTOCOL = 2  # 2: an assign request may carry the reflections (crystalx_core.protocol)
SERVE_ARGS = ["-m", "crystalx_core.cli", "serve", "--stdio"]
DROPPED = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE")
DROPPED_PREFIXES = ("LIBTBX_", "BOOST_ADAPTBX_", "OLEX2_CCTBX")
PATH_VARIABLES = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH", "PATH")


class CoreError(Exception):
    """Something the user should read: the core is missing, crashed, or refused the request."""


def olex2_folders(environ, base_dir):
    """Olex2's own folders: its installation, its Python home and its cctbx."""
    folders = [
        base_dir,
        environ.get("PYTHONHOME"),
        environ.get("OLEX2_CCTBX_DIR"),
        environ.get("OLEX2_DIR"),
    ]
    return [os.path.normcase(os.path.abspath(f)) for f in folders if f]


def child_environment(environ, base_dir):
    """A copy of `environ` for a child Python: without Olex2's Python and cctbx settings and
    without Olex2's folders in the library and program search paths."""
    folders = olex2_folders(environ, base_dir)
    clean = {}
    for name, value in environ.items():
        if name.upper() in DROPPED or name.upper().startswith(DROPPED_PREFIXES):
            continue
        if name.upper() in PATH_VARIABLES:
            kept = [part for part in value.split(os.pathsep) if part and not _inside(part, folders)]
            if not kept:
                continue
            value = os.pathsep.join(kept)
        clean[name] = value
    return clean


def _inside(path, folders):
    path = os.path.normcase(os.path.abspath(path))
    return any(
        path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders
    )


def no_console():
    """Popen options that give a child no console window on Windows (closing that window would
    kill the child); nothing elsewhere. For a child that shows windows of its own (the panel)."""
    if not sys.platform.startswith("win"):
        return {}
    return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)}


def hidden_window():
    """no_console, and every window of the child hidden (STARTUPINFO SW_HIDE, which Windows
    applies to its first window), as NoSpherA2 starts its programs: for the windowless core."""
    if not sys.platform.startswith("win"):
        return {}
    info = subprocess.STARTUPINFO()
    info.dwFlags |= subprocess.STARTF_USESHOWWINDOW
    info.wShowWindow = subprocess.SW_HIDE
    return dict(no_console(), startupinfo=info)


class CoreProcess(object):
    def __init__(self, interpreter, directory=None, base_dir=None, timeout=300.0, args=None):
        self.interpreter = interpreter
        self.directory = directory or tempfile.gettempdir()  # `-m` puts it first on sys.path
        self.base_dir = base_dir or ""
        self.timeout = timeout
        self.args = list(args or SERVE_ARGS)
        self.process = None
        self.next_id = 0
        self.restarts = 0
        self.lock = threading.Lock()  # one request at a time: the warm-up and a click
        self.log_path = os.path.join(tempfile.gettempdir(), "crystalx_core.log")

    # --- life cycle ---------------------------------------------------------------------------
    def start(self):
        if not self.interpreter or not os.path.isfile(self.interpreter):
            raise CoreError(
                "CrystalX core interpreter not found: %r. Set it in the CrystalX settings "
                "(the python of the venv where crystalx-core is installed)." % (self.interpreter,)
            )
        if not os.path.isdir(self.directory):
            raise CoreError(
                "CrystalX core folder not found: %r; set core_directory in the CrystalX settings"
                % (self.directory,)
            )
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [self.interpreter] + self.args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                bufsize=0,
                cwd=self.directory,
                env=child_environment(os.environ, self.base_dir),
                **hidden_window(),
            )
        except OSError as error:
            raise CoreError(
                "cannot start the CrystalX core with %s: %s" % (self.interpreter, error)
            ) from None
        finally:
            log.close()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def close(self):
        with self.lock:
            if self.alive():
                try:
                    self._send("shutdown", {})
                    self.process.wait(timeout=10)
                except (CoreError, OSError, subprocess.TimeoutExpired):
                    self.process.kill()
            if self.process is not None:
                for stream in (self.process.stdin, self.process.stdout):
                    stream.close()
            self.process = None

    # --- requests -------------------------------------------------------------------------------
    def request(self, method, params=None):
        """The result of one request. A core that died since the last call is restarted once,
        and the caller can tell from `restarts`; an error reply raises CoreError."""
        with self.lock:
            if not self.alive():
                if self.process is not None:
                    self.restarts += 1
                self.start()
            reply = self._send(method, params or {})
        if "error" in reply:
            raise CoreError("CrystalX core: %s" % reply["error"].get("message", reply["error"]))
        return reply["result"]

    def _send(self, method, params):
        self.next_id += 1
        line = json.dumps(
            {"protocol": PROTOCOL, "id": self.next_id, "method": method, "params": params}
        )
        try:
            self.process.stdin.write(line.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            raise CoreError(
                "the CrystalX core stopped (exit %s); see %s" % (self._exit_code(), self.log_path)
            ) from None
        watchdog = threading.Timer(
            self.timeout, self.process.kill
        )  # a hung core must not hang Olex2
        watchdog.daemon = True
        watchdog.start()
        try:
            raw = self.process.stdout.readline()
        finally:
            watchdog.cancel()
        if not raw:
            raise CoreError(
                "the CrystalX core stopped (exit %s) during the request; see %s"
                % (self._exit_code(), self.log_path)
            )
        try:
            reply = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise CoreError(
                "the CrystalX core answered something that is not JSON: %r" % raw[:200]
            ) from None
        if reply.get("id") not in (self.next_id, None):
            raise CoreError(
                "the CrystalX core answered request %r, not %r" % (reply.get("id"), self.next_id)
            )
        return reply

    def _exit_code(self):
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "unknown"
