"""`python -m txlint` runs the CLI."""

from txlint.cli import main

main()
