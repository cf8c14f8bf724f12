"""Olex2 commands built from an answer (the renames and their cycles are tested with the service)."""
from crystalx_core.olex2 import olex2_hadd_commands


def test_olex2_commands_split_long_groups():
    labels = [f"C{i}" for i in range(1, 121)]
    commands = olex2_hadd_commands([(43, labels), (23, ["C200"])])
    assert all(len(command) <= 200 for command in commands)
    assert commands[-1] == "hadd 23 C200"
    words = [w for command in commands[:-1] for w in command.split()[2:]]
    assert words == labels
    assert all(command.startswith("hadd 43 ") for command in commands[:-1])
