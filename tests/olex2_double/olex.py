"""Test double of Olex2's `olex` module: m() runs a command and returns a bool, never raises."""
from _olex2 import STATE


def m(command):
    return STATE.run(command)


def registerFunction(function, profiling=False, namespace=""):
    STATE.functions[(namespace + "." if namespace else "") + function.__name__] = function


def writeImage(name, data, persistent=0):
    STATE.vfs[name] = data
