import signal
import sys


def interrupted_while_loading(*_: object) -> None:
    """Ctrl-C while Python is still loading torchlab: the same line and exit code as later on."""
    print("torchlab: interrupted", file=sys.stderr)
    sys.exit(130)


# main() then restores Python's own KeyboardInterrupt, which every command turns into exit 130.
signal.signal(signal.SIGINT, interrupted_while_loading)

from torchlab.cli import main  # noqa: E402

main()
