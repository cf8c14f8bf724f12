"""python -m installer --olex2-dir DIR [--core-python PATH] [--uninstall]"""

import argparse
import sys

from installer.olex2_setup import InstallError, default_core_python, install, uninstall


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m installer", description="Install the CrystalX plugin into Olex2."
    )
    parser.add_argument(
        "--olex2-dir", required=True, help="the Olex2 installation folder (holds plugins.xld)"
    )
    parser.add_argument(
        "--core-python",
        help="python of the environment with crystalx-core (default: .venv beside this checkout)",
    )
    parser.add_argument(
        "--uninstall", action="store_true", help="remove the plugin and its registration"
    )
    args = parser.parse_args(argv)
    try:
        if args.uninstall:
            uninstall(args.olex2_dir)
            print("CrystalX removed from %s" % args.olex2_dir)
        else:
            target = install(args.olex2_dir, args.core_python or default_core_python())
            print("CrystalX installed in %s; restart Olex2 and look in the Work tab" % target)
    except InstallError as error:
        print("installer: error: %s" % error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
