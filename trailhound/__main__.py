"""``python -m trailhound`` runs the command line."""

from trailhound.cli import main

main()
