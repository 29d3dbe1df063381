"""``neuroflow`` and ``python -m neuroflow``: the command line (:func:`neuroflow.cli.main`).

The CLI's modules are imported inside :func:`main`, so Ctrl-C while they load (the first tenth of a second) ends
like a Ctrl-C anywhere else, in one line and exit status 130, not in an import traceback.
"""
import sys


def main() -> int:
    try:
        from neuroflow.cli import main as cli_main
    except KeyboardInterrupt:
        try:
            print("interrupted; nothing written", file=sys.stderr)
        except (OSError, ValueError, AttributeError):  # stderr closed or full: the exit status says it
            pass
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
