"""Write ``inputs.jsonl``: the hand-written and template-built texts of the golden regression test.

    python tests/data/golden/make_inputs.py

The texts cover negation and uncertainty, lists, bookmarks, compositions, exclusive labels,
hyphens, measurements, headers, redactions and odd whitespace. The templates are combined
deterministically, so the file only changes when this script does.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

HAND = [
    # negation, uncertainty, pseudo-triggers, scope
    "No pleural effusion or pneumothorax.",
    "No focal consolidation, pleural effusion, or pneumothorax.",
    "There is no evidence of pneumothorax. Small left pleural effusion.",
    "No change in the size of the right lower lobe nodule.",
    "No significant interval change in the liver mass.",
    "No increase in size of the nodule.",
    "The previously seen lung nodule is no longer seen.",
    "Pleural effusion has resolved.",
    "Pulmonary edema is not seen. Heart size normal.",
    "Cannot exclude metastasis.",
    "Metastasis cannot be excluded.",
    "Possible small left pleural effusion.",
    "Right lower lobe opacity, likely atelectasis versus pneumonia.",
    "Findings likely represent atelectasis; however a pneumonia is possible.",
    "No pneumothorax, but there is a small pleural effusion.",
    "Without evidence of lymphadenopathy.",
    "Negative for pulmonary embolism.",
    "The liver is normal without focal lesion. No splenomegaly.",
    "Not only the liver but also the spleen show lesions.",
    "No new or enlarging nodules.",
    "Mass in the pancreas, which is suspicious for malignancy.",
    "Kidney cyst and/or renal mass.",
    "Questionable nodule in the left upper lobe.",
    "Lung nodule?",
    "Liver lesion, if any, is small.",
    "Adenopathy is suspected in the mediastinum.",
    "The patient denies chest pain. Pleural effusion.",
    "No definite evidence of hepatic metastasis though a small hypodense lesion is present.",
    "No pneumothorax or pleural effusion. Calcified granuloma in the right upper lobe.",
    "Heart size normal. Lungs clear. No nodule, mass, consolidation, or effusion identified.",
    "No xxxx of pleural effusion.",
    "There are no XXXX of a pleural effusion. There is no evidence of pneumothorax.",
    "Stable nodule without change since prior.",
    "No enlarged lymph nodes; spleen is enlarged.",
    "Pneumothorax: none.",
    "No suspicious pulmonary nodule. Ground-glass opacity in the left lower lobe.",
    "Small bilateral effusions are not excluded.",
    "Probable hemangioma in the liver, no further evidence of metastasis.",
    "Low-attenuation lesion in the liver, possibly a cyst.",
    "Consolidation in the right lower lobe, consistent with pneumonia.",
    # bookmarks
    "Low density left adrenal nodule BOOKMARK, likely an adenoma.",
    "New 1 cm liver lesion BOOKMARK and a stable renal cyst.",
    "Liver is normal. Left adrenal nodule. BOOKMARK. Spleen normal.",
    "Right renal cyst BOOKMARK. Left renal cyst BOOKMARK.",
    "BOOKMARK",
    "BOOKMARK BOOKMARK",
    "Nodule BOOKMARK BOOKMARK in the lung.",
    "FINDINGS: There is a 2.1 x 1.3 cm right renal cyst BOOKMARK (series 5, image 79). The liver is normal.",
    "Right lower lobe nodule BOOKMARK. IMPRESSION: Stable.",
    "No liver lesion BOOKMARK.",
    "Possible liver metastasis BOOKMARK.",
    "Enlarged right hilar lymph node BOOKMARK measuring 1.5 x 1.2 cm (series 3, image 45).",
    "Right lung nodule BOOKMARK and left lung mass.",
    "Left lower lobe nodule and right lower lobe mass BOOKMARK.",
    "Well-circumscribed and ill-defined nodule BOOKMARK in the left lower lobe.",
    "Right lower lobe and left lower lobe nodule BOOKMARK.",
    "Subcutaneous mass BOOKMARK in the right flank, which is stable.",
    "Mass BOOKMARK; no pleural effusion.",
    "A nodule in the right lung BOOKMARK, as well as a cyst in the liver.",
    "Hypodense hepatic mass BOOKMARK in segment 7, consistent with metastasis.",
    "BOOKMARK: liver mass.",
    "liver mass BOOKMARK\n\nlung nodule BOOKMARK",
    "1. Lung nodule BOOKMARK.\n2. Liver cyst BOOKMARK.",
    "Mediastinal lymphadenopathy BOOKMARK, approx. 2 cm.",
    "Left axillary adenopathy BOOKMARK versus reactive node.",
    # lists, headers, whitespace
    "IMPRESSION: 1. Ground-glass opacity in the left upper lobe. 2. Mediastinal lymphadenopathy, approx. 2 cm.",
    "FINDINGS:\n- Liver: normal.\n- Spleen: enlarged.\n- Kidneys: bilateral cysts.",
    "FINDINGS: Liver mass.\n\nIMPRESSION: Metastasis.",
    "1. No pleural effusion.\n2. Right lower lobe pneumonia.\n3. Cardiomegaly.",
    "  \n\n  ",
    "\t liver \t mass \n",
    "Liver\nmass.",
    "LIVER MASS. LUNG NODULE. KIDNEY CYST.",
    "Liver mass!Lung nodule?Kidney cyst.",
    "e.g. liver mass vs. lung nodule, i.e. metastasis, Fig. 3.",
    "Normal chest x-XXXX. Heart size within normal limits. XXXX XXXX stable.",
    "• Liver mass\n• Lung nodule\n• No effusion",
    "* right kidney cyst\n* left kidney cyst",
    # compositions
    "Right renal cyst.",
    "Left adrenal nodule.",
    "Right upper pole renal low attenuation lesion.",
    "Left 2 cm adrenal nodule.",
    "Enlarged right hilar lymph node.",
    "Right hilar adenopathy.",
    "Axillary adenopathy.",
    "Mediastinal lymph nodes are enlarged.",
    "Hepatic mass in the right lobe.",
    "Pulmonary nodule.",
    "Lung base nodule.",
    "Spiculated mass in the left upper lobe.",
    "Lobulated mass in the breast.",
    "Subcutaneous mass in the back.",
    "Skin thickening of the breast.",
    "Bronchial wall thickening.",
    "Heterogeneously enhancing mass.",
    "Internal mammary lymph node.",
    "Right thyroid nodule.",
    "Left renal vein thrombus.",
    "Right atrium is enlarged.",
    "Left pulmonary artery embolus.",
    "Retroperitoneal lymphadenopathy.",
    "Porta hepatis adenopathy.",
    "Mesenteric lymph node.",
    "Pelvic lymph nodes.",
    "Inguinal lymph nodes are not enlarged.",
    "Esophageal adenopathy.",
    "Left hilar lymphadenopathy and right hilar lymph node.",
    "Ovarian cyst on the right.",
    "Kidney: renal cortical cyst.",
    "Left lower lobe pulmonary nodule.",
    "Right lower lobe spiculated pulmonary nodule, suspicious for malignancy.",
    "Multiple hypodense liver masses, the largest in the right hepatic lobe.",
    "Anterior mediastinal lymph node.",
    # hyphens, prefixes, spellings
    "Ground-glass opacity.",
    "Ground glass opacity.",
    "Wedge-shaped opacity.",
    "Para-aortic lymph node.",
    "Paraaortic lymph node.",
    "Para aortic lymph node.",
    "Non-calcified nodule.",
    "Noncalcified nodule.",
    "Sub-capsular hematoma.",
    "Subcapsular hematoma.",
    "Low-attenuating lesion.",
    "Well-defined margins.",
    "Ill-defined nodule.",
    "Juxta-pleural nodule.",
    "Peri-hilar opacity.",
    "deliver the mass",
    "Hepatosplenomegaly.",
    "The livers and kidneys.",
    "Metastases to the liver and bones.",
    "Vertebrae with lytic lesions.",
    "Diverticula of the colon.",
    "Calcifications, opacities, effusions and bullae.",
    "Enlarging, enhancing lesions.",
    "Lymph nodes, LN, nodal disease.",
    "GGO and GGN.",
    "SVC and GB.",
    "LLL opacity.",
    "mets to liver",
    # measurements
    "1.3 x 1.3 cm liver lesion (series 5, image 79).",
    "A 2 x 3 x 4 cm mass.",
    "Mass measuring 12 mm.",
    "5mm nodule in the right lower lobe.",
    "Nodule (2.1cm) in the lung.",
    "Nodule measures 1.2 cm (previously 0.9 cm).",
    "3-4 mm nodules.",
    # odd characters
    "Liver mass – stable.",
    "Liver mass — stable; lung nodule – new.",
    "Left/right kidney cysts.",
    "Kidney cyst (left).",
    '"Liver mass" per report.',
    "Liver’s mass.",
    "Lésion hépatique.",
    "Lung nodule 😀 BOOKMARK.",
    "İstanbul liver mass BOOKMARK.",
    "Liver mass\u00a0BOOKMARK.",
    "Liver mass\r\nLung nodule\r\n",
    "liver, lung, kidney, spleen, pancreas, adrenal, bladder, prostate, uterus, ovary",
]

ORGANS = ["liver", "right renal", "left adrenal", "pulmonary", "hepatic", "splenic", "right lower lobe", "mediastinal"]
FINDINGS = ["mass", "nodule", "cyst", "lesion", "lymph node", "adenopathy", "metastasis", "calcification"]
FRAMES = [
    "{o} {f}.",
    "No {o} {f}.",
    "Possible {o} {f}.",
    "{o} {f} BOOKMARK, likely benign.",
    "Stable {o} {f}; no new {f}.",
    "{f} in the {o} region, which cannot be excluded.",
]


def template_texts() -> list[str]:
    """Organ × finding × frame, taking every 2nd combination deterministically (about 190)."""
    combos = itertools.product(FRAMES, ORGANS, FINDINGS)
    return [frame.format(o=o, f=f) for n, (frame, o, f) in enumerate(combos) if n % 2 == 0]


def main() -> None:
    texts = HAND + template_texts()
    with (HERE / "inputs.jsonl").open("w", encoding="utf-8") as handle:
        for n, text in enumerate(texts):
            handle.write(json.dumps({"id": f"g{n:03d}", "text": text}, ensure_ascii=False) + "\n")
    print(f"{len(texts)} texts")


if __name__ == "__main__":
    main()
