"""Annotation of one lesion (``lesion-annotate``): its top-k labels and a Fig. 3-style figure."""

from .annotate import DISPLAY_WINDOW, Lesion, Prediction, annotate, annotate_image, plot_annotation, read_lesion

__all__ = ["DISPLAY_WINDOW", "Lesion", "Prediction", "annotate", "annotate_image", "plot_annotation", "read_lesion"]
