"""``neuroflow`` and ``python -m neuroflow``: the command line (:func:`neuroflow.cli.main`).

The CLI's modules are imported inside :func:`main`, so Ctrl-C while they load (the first tenth of a second) ends
like a Ctrl-C anywhere else, in one line and exit status 130, not in an import traceback. The scripts in
``benchmarks/`` do the same with :class:`ctrl_c_ends_in_one_line` (this module imports nothing but ``sys``, so
importing it is the only moment left uncovered, a millisecond).
"""
import sys


class ctrl_c_ends_in_one_line:
    """A with-block that Ctrl-C (KeyboardInterrupt) leaves by printing ``message`` on stderr and exiting with status
    130 (SystemExit), instead of a traceback: around a script's imports (half a second of numpy and the library,
    which a script cannot catch in its ``main``) and around its ``main()`` (what main leaves uncaught)."""

    def __init__(self, message: str = "interrupted; nothing written"):
        self.message = message

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None or not issubclass(kind, KeyboardInterrupt):
            return False
        try:
            print(self.message, file=sys.stderr)
        except (OSError, ValueError, AttributeError):  # stderr closed or full: the exit status says it
            pass
        raise SystemExit(130) from None


def main() -> int:
    with ctrl_c_ends_in_one_line():
        from neuroflow.cli import main as cli_main
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
