"""Olex2 commands built from an answer (the renames and their cycles are tested with the
service)."""

from crystalx_core.olex2 import _spare_label, olex2_hadd_commands, olex2_label_problem


def test_olex2_commands_split_long_groups():
    labels = [f"C{i}" for i in range(1, 121)]
    commands = olex2_hadd_commands([(43, labels), (23, ["C200"])])
    assert all(len(command) <= 200 for command in commands)
    assert commands[-1] == "hadd 23 C200"
    words = [w for command in commands[:-1] for w in command.split()[2:]]
    assert words == labels
    assert all(command.startswith("hadd 43 ") for command in commands[:-1])


def test_the_spare_label_goes_on_past_c999_as_new_atoms_are_named():
    """With C1 … C999 all held, a rename cycle still has a 4-character label to go through,
    one Olex2 keeps (it read as 'no free C label' before)."""
    held = {f"C{n}" for n in range(1, 1000)}
    spare = _spare_label("C", "", held)
    assert spare.upper() not in held and len(spare) <= 4 and olex2_label_problem(spare, "C") is None
    assert _spare_label("C", "", set()) == "C999"
