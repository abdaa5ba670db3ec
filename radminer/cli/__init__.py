"""The ``radminer`` command line (:mod:`.commands`) and the helpers it shares with the
``lesion-*`` commands (:mod:`.support`: one-line errors and exit codes)."""

from .commands import main
from .suggest import suggest

main.add_command(suggest)  # 'radminer suggest' reuses the options of 'radminer extract'

__all__ = ["main"]
