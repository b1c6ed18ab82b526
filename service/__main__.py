import sys

# httpx imports its command-line client (click, rich, pygments) whenever they are installed, as in a
# development environment; the service never uses it, and a black-box run starts the service again
# after every process fault, where that import was a tenth of the start. httpx catches the
# ImportError this gives and goes on without its command line.
sys.modules.setdefault("httpx._main", None)

from .cli import main  # noqa: E402

sys.exit(main())
