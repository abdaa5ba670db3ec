"""CT data for lesion_model: readers, the seed paper's preprocessing, label sources and the patch store.

Needs numpy only on import; pandas and SimpleITK (the ``model`` extra) are imported by the
functions that read CT or tables.
"""

from .geometry import box_problem
from .labels import LabelTable, LesionLabelSets, read_bookmark_map, read_lesanet_labels, read_radminer_jsonl, read_truth
from .prepare import PrepareOptions, prepare_store, read_label_source, truth_labels
from .preprocess import DEFAULT_WINDOW, Patch, extract_patch, to_uint8, window_hu
from .records import LesionRecord, read_dl_info, read_lesanet_split, read_manifest
from .store import PatchStore, StoreLabels, write_store
from .volumes import HU_OFFSET, ArrayVolume, PngSeries, Volume, read_volume

__all__ = [
    "DEFAULT_WINDOW",
    "HU_OFFSET",
    "ArrayVolume",
    "LabelTable",
    "LesionLabelSets",
    "LesionRecord",
    "Patch",
    "PatchStore",
    "PngSeries",
    "PrepareOptions",
    "StoreLabels",
    "Volume",
    "box_problem",
    "extract_patch",
    "prepare_store",
    "read_bookmark_map",
    "read_dl_info",
    "read_label_source",
    "read_lesanet_labels",
    "read_lesanet_split",
    "read_manifest",
    "read_radminer_jsonl",
    "read_truth",
    "read_volume",
    "to_uint8",
    "truth_labels",
    "window_hu",
    "write_store",
]
