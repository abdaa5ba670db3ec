"""``python -m radminer`` runs the command line."""

from radminer.cli import main

main()
