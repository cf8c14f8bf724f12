"""Test double of Olex2's `olex` module: m() runs a command and returns a bool, never raises."""

from _olex2 import STATE


def m(command):
    return STATE.run(command)


def registerFunction(function, profiling=False, namespace=""):
    """`spy.<namespace>.<name>`; an error's traceback is printed, not raised (pyext.cpp
    runRegisterFunction, TFuncWrapper::Call)."""
    STATE.registered((namespace + "." if namespace else "") + function.__name__, function)


def writeImage(name, data, persistent=0):
    STATE.vfs[name] = data
