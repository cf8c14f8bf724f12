"""Legal spellings of one real file: each must read as the file itself does, and (SHELX)
its `crystalx assign` output must read back. Session 23's sixth sweep ran it on ShelXFile's
jkd77.res and the corpus's codtools_2204271.cif (docs/benchmarks.md).

A SHELX file is written again with CRLF, lower case, tabs, a long-form SFAC, DISP, NEUT, HKLF 5 +
BASF, TWIN, CONN/BIND/FREE/MOLE/ANIS n, FVAR + PART 1 21, text after END, a line past column 80
and a REM inside an atom's continuation (which SHELXL would not read either); a CIF without its
type symbols, occupancies or U, with '?' U, '.' occupancy, D for H, charged type symbols, CRLF,
tabs, a CIF 2.0 header, `global_` first, or twice over. Prints one row per spelling.

    PYTHONPATH=. python benchmarks/legal_variations.py FILE [--no-assign]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi

from crystalx_core.errors import CrystalXError
from crystalx_core.io import load

# International Tables' four-Gaussian coefficients, covalent radius and weight: the long form
LONG_SFAC = {
    "C": "C    2.3100  20.8439  1.0200  10.2075  1.5886   0.5687  0.8650  51.6512 =\n"
    "     0.2156  0.0033  0.0016  0.7700  1.0000  12.0110",
    "H": "H    0.4930  10.5109  0.3229  26.1257  0.1402   3.1424  0.0408  57.7997 =\n"
    "     0.0030  0.0000  0.0000  0.3200  1.0000   1.0080",
    "N": "N   12.2126   0.0057  3.1322   9.8933  2.0125  28.9975  1.1663   0.5826 =\n"
    "   -11.5290  0.0061  0.0033  0.7000  1.0000  14.0070",
}


def shelx_spellings(text: str):
    """(name, text) of each legal spelling of a SHELX file."""
    lines = text.split("\n")
    sfac = next(line for line in lines if line.upper().startswith("SFAC"))
    unit = next(line for line in lines if line.upper().startswith("UNIT"))
    fvar = next(line for line in lines if line.upper().startswith("FVAR"))
    # an atom line: a name, an SFAC number and a decimal x ('UNIT 88 80 8' is none)
    first_atom = next(
        k for k, line in enumerate(lines) if re.match(r"[A-Z]\w*\s+\d+\s+-?\d*\.\d", line)
    )
    yield "crlf", text.replace("\n", "\r\n")
    yield (
        "lower",
        "\n".join(
            line if line.upper().startswith(("TITL", "REM")) else line.lower() for line in lines
        ),
    )
    yield "tabs", "\n".join(re.sub(r"(?<=\S)  +", "\t", line) for line in lines)
    symbols = sfac.split()[1:]
    if all(symbol in LONG_SFAC for symbol in symbols):
        yield "sfac_long", text.replace(sfac, "\n".join(f"SFAC {LONG_SFAC[s]}" for s in symbols))
    yield "disp", text.replace(unit, f"DISP ${symbols[0]} 0.00347 0.00161 11.40\n{unit}")
    yield "neut", text.replace(unit, f"{unit}\nNEUT")
    yield "hklf5", text.replace(fvar, f"BASF 0.2345\n{fvar}").replace("HKLF 4", "HKLF 5")
    yield "twin", text.replace(fvar, f"TWIN -1 0 0 0 -1 0 0 0 -1 2\nBASF 0.2345\n{fvar}")
    atom = lines[first_atom].split()[0]
    with_mole = lines[:first_atom] + ["MOLE 1"] + lines[first_atom:]
    yield (
        "conn_bind_free_mole_anis",
        "\n".join(with_mole).replace(
            fvar, f"CONN 4 {atom}\nBIND {atom} {atom}\nFREE {atom} {atom}\nANIS 3\n{fvar}"
        ),
    )
    # the PART's sof replaces every atom's (SHELXL manual, PART): fv(2) = 1 keeps the model
    parted = lines[:first_atom] + ["PART 1 21"] + lines[first_atom:]
    yield (
        "fvar_part_21",
        "\n".join(parted).replace(fvar, f"{fvar}   1.0").replace("\nHKLF", "\nPART 0\nHKLF", 1),
    )
    yield "text_after_end", text + "\nThis line written after END by a program\n"
    yield "past_column_80", text.replace(fvar, f"{fvar}{' ' * 50}! a comment past column 80")
    continued = next(k for k, line in enumerate(lines) if line.rstrip().endswith("="))
    yield (
        "rem_inside_continuation",
        "\n".join(
            lines[: continued + 1] + ["REM a remark inside a continuation"] + lines[continued + 1 :]
        ),
    )


def cif_spellings(text: str):
    """(name, text) of each legal spelling of a CIF's atom sites."""

    def edited(change) -> str:
        document = gemmi.cif.read_string(text)
        change(document[0])
        return document.as_string()

    def without(tag):
        def change(block):
            loop = block.find_loop("_atom_site_label").get_loop()
            keep = [k for k, name in enumerate(loop.tags) if name != tag]
            rows = [[loop[r, k] for k in keep] for r in range(loop.length())]
            new = block.init_loop("", [loop.tags[k] for k in keep])
            for row in rows:
                new.add_row(row)

        return change

    def mapped(tag, rule):
        def change(block):
            column, labels = block.find_values(tag), block.find_values("_atom_site_label")
            for k in range(len(column)):
                column[k] = rule(column[k], labels[k])

        return change

    charges = {"O": "O2-", "N": "N3-", "C": "C0+", "H": "H1+"}
    yield "no_type_symbol", edited(without("_atom_site_type_symbol"))
    yield "no_occupancy", edited(without("_atom_site_occupancy"))
    yield "no_u", edited(without("_atom_site_U_iso_or_equiv"))
    yield "deuterium", edited(mapped("_atom_site_type_symbol", lambda v, _: "D" if v == "H" else v))
    yield "charges", edited(mapped("_atom_site_type_symbol", lambda v, _: charges.get(v, v)))
    unknown_u = mapped("_atom_site_U_iso_or_equiv", lambda v, label: "?" if label[:1] == "H" else v)
    yield "unknown_u", edited(unknown_u)
    dot = mapped("_atom_site_occupancy", lambda v, label: "." if label[:1] == "C" else v)
    yield "dot_occupancy", edited(dot)
    yield "crlf", text.replace("\n", "\r\n")
    yield "cif2_header", "#\\#CIF_2.0\n" + text
    yield "global_first", "global_\n_journal_name_full 'Some Journal'\n\n" + text
    yield "two_blocks", text + "\n" + text.replace("data_", "data_copy_", 1)
    yield "tabs", text.replace("  ", "\t")


def summary(path: Path):
    """What the reader makes of a file: sites (upper-case label, element, occupancy, xyz), or
    the error's line."""
    try:
        structure = load(path).structure
    except CrystalXError as error:
        return f"refused: {error}"
    return sorted(
        (s.label.upper(), s.element, round(s.occupancy, 3), tuple(round(x, 4) for x in s.frac))
        for s in structure.sites
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--no-assign", action="store_true", help="compare the readings only")
    args = parser.parse_args(argv)
    text = args.file.read_text()
    is_cif = args.file.suffix.lower() == ".cif"
    spellings = cif_spellings(text) if is_cif else shelx_spellings(text)
    base = summary(args.file)
    with tempfile.TemporaryDirectory() as scratch:
        for name, spelled in spellings:
            path = Path(scratch, name) / args.file.name
            path.parent.mkdir()
            path.write_text(spelled, newline="")
            reading = summary(path)
            same = "reads alike" if reading == base else f"reads otherwise: {str(reading)[:120]}"
            row = f"{name:26} {same}"
            if not is_cif and not args.no_assign:
                run = subprocess.run(
                    [sys.executable, "-m", "crystalx_core.cli", "assign", str(path)],
                    capture_output=True,
                    text=True,
                )
                written = path.with_name(f"{path.stem}_crystalx.res")
                back = summary(written) if written.exists() else "not written"
                again = "reads back" if isinstance(back, list) else back
                last = (run.stderr.strip().splitlines() or [""])[-1][:100] if run.returncode else ""
                row += f" | assign exit {run.returncode}, output {again} {last}"
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
