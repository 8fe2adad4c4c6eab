"""``python -m helpers``: the command-line runner of the book's experiments (see helpers.cli)."""

from helpers.cli import main

raise SystemExit(main())
