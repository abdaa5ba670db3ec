"""Report input and label output: the report reader (CSV, compressed CSV, Parquet; errors
naming file, line and column) and the output writers (JSONL, CSV, wide CSV, NPZ, Parquet).
Atomic file output is :mod:`radminer.files`.
"""

from .reader import open_reports
from .writers import FORMATS, make_writer

__all__ = ["FORMATS", "make_writer", "open_reports"]
