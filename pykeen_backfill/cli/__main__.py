"""``python -m pykeen_backfill.cli``."""

from . import main

main()
