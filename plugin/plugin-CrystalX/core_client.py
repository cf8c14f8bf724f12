"""The CrystalX core as a child process of Olex2: started on first use, kept warm, restarted
when it dies. Standard library only, Python 3.8 (Olex2's own interpreter runs this)."""
import json
import os
import queue
import subprocess
import tempfile
import threading

PROTOCOL = 1
SERVE_ARGS = ["-m", "crystalx_core.cli", "serve", "--stdio"]


class CoreError(Exception):
    """Something the user should read: the core is missing, crashed, or refused the request."""


class CoreProcess(object):
    def __init__(self, interpreter, timeout=300.0, args=None):
        self.interpreter = interpreter
        self.timeout = timeout
        self.args = list(args or SERVE_ARGS)
        self.process = None
        self.lines = None
        self.next_id = 0
        self.restarts = 0
        self.log_path = os.path.join(tempfile.gettempdir(), "crystalx_core.log")

    # --- life cycle ---------------------------------------------------------------------------
    def start(self):
        if not self.interpreter or not os.path.isfile(self.interpreter):
            raise CoreError("CrystalX core interpreter not found: %r. Set it in the CrystalX settings "
                            "(the python of the venv where crystalx-core is installed)." % (self.interpreter,))
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen([self.interpreter] + self.args, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, bufsize=0)
        except OSError as error:
            raise CoreError("cannot start the CrystalX core with %s: %s" % (self.interpreter, error))
        finally:
            log.close()
        self.lines = queue.Queue()
        reader = threading.Thread(target=_pump, args=(self.process.stdout, self.lines))
        reader.daemon = True
        reader.start()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def close(self):
        if self.alive():
            try:
                self._send("shutdown", {})
                self.process.wait(timeout=10)
            except (CoreError, OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.process = None

    # --- requests -------------------------------------------------------------------------------
    def request(self, method, params=None):
        """The result of one request. A core that died since the last call is restarted once,
        and the caller can tell from `restarts`; an error reply raises CoreError."""
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
        line = json.dumps({"protocol": PROTOCOL, "id": self.next_id, "method": method, "params": params})
        try:
            self.process.stdin.write(line.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            raise CoreError("the CrystalX core stopped (exit %s); see %s" % (self._exit_code(), self.log_path))
        try:
            raw = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.process.kill()
            raise CoreError("the CrystalX core did not answer within %d s and was stopped" % self.timeout)
        if raw is None:
            raise CoreError("the CrystalX core stopped (exit %s) during the request; see %s"
                            % (self._exit_code(), self.log_path))
        try:
            reply = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise CoreError("the CrystalX core answered something that is not JSON: %r" % raw[:200])
        if reply.get("id") not in (self.next_id, None):
            raise CoreError("the CrystalX core answered request %r, not %r" % (reply.get("id"), self.next_id))
        return reply

    def _exit_code(self):
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "unknown"


def _pump(stream, lines):
    """Reader thread: every reply line into the queue, None when the core's stdout closes."""
    for raw in iter(stream.readline, b""):
        lines.put(raw)
    lines.put(None)
