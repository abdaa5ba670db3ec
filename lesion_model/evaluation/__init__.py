"""Evaluation of a checkpoint (``lesion-eval``): per-label AUC, F1 thresholds, metrics.json and figures.

The metrics themselves (numpy only) are :mod:`lesion_model.metrics`, which training uses too.
"""

from .evaluate import (
    CATEGORIES,
    TABLE2_LABELS,
    evaluate_checkpoint,
    expand_scores,
    format_table,
    plot_category_auc,
    plot_roc,
)
from .figures import FIGURE_FORMATS, figure_format, save_figure

__all__ = [
    "CATEGORIES",
    "FIGURE_FORMATS",
    "TABLE2_LABELS",
    "evaluate_checkpoint",
    "expand_scores",
    "figure_format",
    "format_table",
    "plot_category_auc",
    "plot_roc",
    "save_figure",
]
