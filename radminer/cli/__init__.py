"""The ``radminer`` command line (:mod:`.commands`) and the helpers it shares with the
``lesion-*`` commands (:mod:`.support`: one-line errors and exit codes)."""

from .commands import main

__all__ = ["main"]
