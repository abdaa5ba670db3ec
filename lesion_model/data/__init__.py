"""CT data for lesion_model: readers, the seed paper's preprocessing and the patch store."""

from .store import PatchStore, StoreLabels, write_store

__all__ = ["PatchStore", "StoreLabels", "write_store"]
