"""The words of the synthetic reports for each organ and lesion type (shared by the report
writer and the label corruption)."""

from __future__ import annotations

__all__ = ["ORGAN_WORDS", "TYPE_WORDS"]

#: Organ → the words a report uses for it (repeats weight the choice).
ORGAN_WORDS: dict[str, list[str]] = {
    "liver": ["liver", "hepatic", "hepatic"],
    "lung": ["lung", "pulmonary", "pulmonary"],
    "kidney": ["kidney", "renal", "renal"],
    "spleen": ["spleen", "splenic"],
    "lymph node": ["lymph node", "node"],
    "bone": ["bone", "osseous"],
}
#: Lesion type → the nouns a report uses for it.
TYPE_WORDS: dict[str, list[str]] = {
    "nodule": ["nodule", "nodule", "nodular lesion"],
    "mass": ["mass", "mass"],
    "cyst": ["cyst", "cystic lesion"],
    "lymphadenopathy": ["lymphadenopathy", "adenopathy"],
    "lytic": ["lytic lesion", "osteolytic lesion"],
    "sclerotic": ["sclerotic lesion", "osteosclerotic lesion"],
}
