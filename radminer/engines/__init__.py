"""Ways to run the :class:`~radminer.text.Extractor` over many reports: :mod:`.local` (one
process or a pool, ``--jobs``), :mod:`.dataframe` (a pandas column) and :mod:`.dask` (a Dask
cluster). Each gives the same records in the same order.
"""

from .local import extract_texts

__all__ = ["extract_texts"]
