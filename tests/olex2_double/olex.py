"""Test double of Olex2's `olex` module: m() runs a command and returns a bool, never raises."""

from _olex2 import STATE


def m(command):
    return STATE.run(command)


def registerFunction(function, profiling=False, namespace=""):
    """Errors of the function are logged, not raised, as Olex2 does (pyext.cpp)."""
    STATE.registered((namespace + "." if namespace else "") + function.__name__, function)


def writeImage(name, data, persistent=0):
    STATE.vfs[name] = data
