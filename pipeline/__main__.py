"""`python -m pipeline` is the `benefits` command."""

from pipeline.cli import main

main()
