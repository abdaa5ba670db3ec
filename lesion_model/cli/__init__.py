"""The command lines of lesion_model, one module each: lesion-synth, lesion-prepare, lesion-train,
lesion-eval, lesion-annotate, lesion-audit, lesion-folds (the console scripts are ``lesion_model.cli:<command>``).

Importing this package imports click and lesion_model's configurations, never torch: the
``model`` extra is imported inside the commands (see :mod:`lesion_model.cli._common`).
"""

from ._common import require_model_extra, setup_logging, show_progress
from .lesion_annotate import annotate
from .lesion_audit import audit, folds
from .lesion_eval import evaluate
from .lesion_prepare import prepare
from .lesion_synth import synth
from .lesion_train import train

__all__ = [
    "annotate",
    "audit",
    "evaluate",
    "folds",
    "prepare",
    "require_model_extra",
    "setup_logging",
    "show_progress",
    "synth",
    "train",
]
