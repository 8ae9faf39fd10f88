"""``python -m flocon`` runs the command line."""

from flocon.cli import main

main()
