"""Compositions: one test per curated rule, plus the scopes and status inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest

from radminer import Extractor, LabelGraph, Term
from radminer.ontology.curation import Composition, read_curation
from radminer.text.analysis import Analyzer
from radminer.text.compose import Composer, organ_parts
from radminer.text.matching import Matcher


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(bookmark=None, context=False)


@pytest.fixture(scope="module")
def with_parts() -> Extractor:
    return Extractor(bookmark=None, context=False, organ_parts=True)


# one case per row of ontologies/curation/compositions.csv (same order)
RULES = [
    ("Right renal mass", "right kidney"),
    ("left renal cyst", "left kidney"),
    ("right adrenal nodule", "right adrenal gland"),
    ("left adrenal nodule", "left adrenal gland"),
    ("right pulmonary nodule", "right lung"),
    ("left pulmonary nodule", "left lung"),
    ("right hemithorax", "right hemithorax"),
    ("left hemithorax", "left hemithorax"),
    ("right costophrenic angle", "right costophrenic sulcus"),
    ("left costophrenic angle", "left costophrenic sulcus"),
    ("right hilar adenopathy", "right hilum lymph node"),
    ("left hilar node", "left hilum lymph node"),
    ("right thyroid nodule", "right thyroid lobe"),
    ("left thyroid nodule", "left lobe of thyroid gland"),
    ("right atrial mass", "right atrium"),
    ("left pulmonary artery thrombus", "left pulmonary artery"),
    ("left renal vein", "left renal vein"),
    ("left renal artery", "left renal artery"),
    ("Hepatic heterogeneous mass", "liver mass"),
    ("Lung with a spiculated mass", "lung mass"),
    ("small nodule, lung", "lung nodule"),
    ("breast with a mass", "breast mass"),
    ("renal lesion, likely a cyst", "kidney cyst"),
    ("ovarian lesion, cyst", "ovarian cyst"),
    ("irregular right upper lobe mass", "spiculated mass"),
    ("lobulated enhancing mass", "lobular mass"),
    ("subcutaneous mass", "subcutaneous mass"),
    ("skin thickening", "skin thickening"),
    ("bronchial wall thickening", "bronchial wall thickening"),
    ("heterogeneously enhancing", "heterogeneous enhancement"),
    ("retrocrural adenopathy", "lymphadenopathy"),
    ("lymphadenopathy", "lymphadenopathy"),
    ("enlarged lymph nodes", "lymphadenopathy"),
    ("axillary lymphadenopathy", "axilla lymph node"),
    ("axillary lymph nodes", "axilla lymph node"),
    ("mediastinal lymphadenopathy", "mediastinum lymph node"),
    ("mediastinal lymph nodes", "mediastinum lymph node"),
    ("hilar lymphadenopathy", "hilum lymph node"),
    ("hilar lymph node", "hilum lymph node"),
    ("enlarged right perihilar lymph node", "hilum lymph node"),
    ("perihilar adenopathy", "hilum lymph node"),
    ("inguinal lymphadenopathy", "groin lymph node"),
    ("inguinal lymph node", "groin lymph node"),
    ("pelvic lymphadenopathy", "pelvis lymph node"),
    ("pelvic lymph node", "pelvis lymph node"),
    ("abdominal lymphadenopathy", "abdomen lymph node"),
    ("abdominal lymph node", "abdomen lymph node"),
    ("gastrohepatic ligament lymph node", "abdomen lymph node"),
    ("gastrohepatic lymphadenopathy", "abdomen lymph node"),
    ("mesenteric lymphadenopathy", "mesentery lymph node"),
    ("mesenteric lymph nodes", "mesentery lymph node"),
    ("retroperitoneal lymphadenopathy", "retroperitoneum lymph node"),
    ("retroperitoneal lymph nodes", "retroperitoneum lymph node"),
    ("porta hepatis lymphadenopathy", "porta Hepatis lymph node"),
    ("esophageal lymphadenopathy", "esophagus lymph node"),
    ("internal mammary lymph nodes", "internal mammary lymph node"),
    ("mild cardiomegaly", "enlargement"),
    ("mild cardiomegaly", "cardiac"),
    ("hepatomegaly", "enlargement"),
    ("hepatomegaly", "liver"),
    ("splenomegaly", "enlargement"),
    ("splenomegaly", "spleen"),
    ("hepatosplenomegaly", "enlargement"),
    ("hepatosplenomegaly", "liver"),
    ("hepatosplenomegaly", "spleen"),
    ("two GGNs in the right upper lobe", "nodule"),
    ("porta hepatis lymph nodes", "porta Hepatis lymph node"),
    ("prevascular lymph node", "mediastinum lymph node"),
    ("superior mediastinal lymph node", "mediastinum lymph node"),
    ("simple renal cysts", "simple cyst"),
    ("several gallstones", "calculus"),
    ("several gallstones", "gallbladder"),
    ("cholelithiasis", "calculus"),
    ("cholelithiasis", "gallbladder"),
    ("choledocholithiasis", "calculus"),
    ("choledocholithiasis", "biliary system"),
    ("bilateral nephrolithiasis", "calculus"),
    ("bilateral nephrolithiasis", "kidney"),
    ("mild left hydronephrosis", "kidney"),
    ("mild hydroureter", "dilation"),
    ("mild hydroureter", "ureter"),
    ("left pyelectasis", "dilation"),
    ("left pyelectasis", "renal pelvis"),
    ("PLEURA: small left effusion", "pleural effusion"),
    ("calcified plaques of the right pleura", "pleural plaque"),
    ("solid left lung nodule", "solid pulmonary nodule"),
    ("gallstone pancreatitis", "pancreas"),
    ("acute calculous cholecystitis", "gallbladder"),
    ("ascending cholangitis", "biliary system"),
    ("autoimmune hepatitis", "liver"),
    ("perforated appendicitis", "intestine"),
    ("ascending and transverse colon", "ascending colon"),
    ("transverse and descending colon", "transverse colon"),
    ("descending and sigmoid colon", "descending colon"),
    ("ascending thoracic aorta", "ascending aorta"),
    ("descending thoracic aorta", "descending aorta"),
    ("uncomplicated diverticulitis", "colon"),
    ("infectious colitis", "colon"),
    ("ulcerative pancolitis", "colon"),
    ("radiation proctitis", "rectum"),
    ("neutropenic typhlitis", "cecum"),
    ("infectious enteritis", "small bowel"),
    ("necrotizing enterocolitis", "intestine"),
    ("terminal ileitis", "ileum"),
    ("duodenitis", "duodenum"),
    ("emphysematous gastritis", "stomach"),
    ("distal esophagitis", "esophagus"),
    ("interstitial nephritis", "kidney"),
    ("acute pyelonephritis", "kidney"),
    ("emphysematous cystitis", "urinary bladder"),
    ("prostatitis", "prostate"),
    ("hypersensitivity pneumonitis", "lung"),
    ("infectious bronchiolitis", "lung"),
    ("acute bronchitis", "bronchus"),
    ("pleuritis", "pleura"),
    ("constrictive pericarditis", "pericardium"),
    ("acute mediastinitis", "mediastinum"),
    ("secondary peritonitis", "peritoneum"),
    ("osteomyelitis of the calcaneus", "bone"),
    ("L3-L4 discitis", "spine"),
    ("spondylodiscitis", "spine"),
    ("bilateral sacroiliitis", "sacroiliac joint"),
    ("thyroiditis", "thyroid gland"),
    ("mastitis", "breast"),
    ("myositis", "muscle"),
    ("aortitis", "aorta"),
    ("mesenteric lymphadenitis", "lymph node"),
    ("near complete collapse of the right lung", "atelectasis"),
    ("collapse of the left lower lobe", "atelectasis"),
    ("lobar collapse", "atelectasis"),
    ("Arterially enhancing lesion in segment 8, consistent with HCC", "liver"),
    ("Large left upper pole renal mass, presumed RCC", "kidney"),
    ("Closed-loop SBO with a swirl of the mesentery", "small bowel"),
    ("1.2 cm AP window node", "mediastinum lymph node"),
    ("aortopulmonary window lymphadenopathy", "mediastinum lymph node"),
    ("myelolipoma with macroscopic fat", "fat-containing"),
    ("intralesional fat", "fat-containing"),
    ("hernia containing fat", "fat-containing"),
    ("right renal AML", "angiomyolipoma"),
    ("the pancreas shows a mass in the head", "pancreatic head"),
    ("the pancreas shows a mass in the tail", "pancreatic tail"),
    ("the kidneys show a cyst in the left upper pole", "left kidney"),
    ("the kidneys show a cyst in the right upper pole", "right kidney"),
    ("Infrarenal AAA measuring 5.6 cm", "aneurysm"),
    ("Infrarenal AAA measuring 5.6 cm", "abdominal aorta"),
    ("GGO in both upper lobes", "right upper lobe"),
    ("GGO in both upper lobes", "left upper lung"),
    ("reticulation in the bilateral upper lobes", "right upper lobe"),
    ("reticulation in the bilateral upper lobes", "left upper lung"),
    ("bronchiectasis in both lower lobes", "right lower lobe"),
    ("bronchiectasis in both lower lobes", "left lower lobe"),
    ("bilateral lower lobe atelectasis", "right lower lobe"),
    ("bilateral lower lobe atelectasis", "left lower lobe"),
    ("retrocrural and cardiophrenic lymphadenopathy", "cardiophrenic lymph node"),
    ("bulky iliac lymphadenopathy", "iliac lymph node"),
    ("3 cm left renal mass, likely renal cell carcinoma", "kidney"),
    ("the liver shows mild diffuse fatty infiltration", "steatosis"),
    ("multiple calcified gall stones", "gallbladder"),
    ("mediastinal LAD", "lymphadenopathy"),
    ("bilateral hilar LAD", "lymphadenopathy"),
    ("left axillary LAD", "lymphadenopathy"),
    ("cervical LAD", "lymphadenopathy"),
    ("retroperitoneal LAD", "lymphadenopathy"),
    ("abdominal LAD", "lymphadenopathy"),
    ("pelvic LAD", "lymphadenopathy"),
    ("inguinal LAD", "lymphadenopathy"),
    ("mesenteric LAD", "lymphadenopathy"),
    ("external iliac LAD", "lymphadenopathy"),
    ("1.5 cm nodule in the left breast", "breast mass"),
    ("retrosternal goiter", "thyroid gland"),
    ("multinodular goiter", "enlargement"),
    ("multinodular goitre", "thyroid gland"),
    ("large goitre", "enlargement"),
    ("right apical pleural-parenchymal scarring", "lung"),
    ("pleuroparenchymal scarring at the apices", "lung"),
    ("apical pleuroparenchymal thickening", "pleura"),
    ("adrenal glands normal except for nodular thickening of the left limb", "left adrenal gland"),
    ("adrenal: 1 cm nodule of the right limb", "right adrenal gland"),
    ("nephrolithiasis on the right", "right kidney"),
    ("a 2 cm renal cyst on the left", "left kidney"),
    ("adrenal adenoma on the right", "right adrenal gland"),
    ("adrenal thickening on the left", "left adrenal gland"),
    ("pulmonary nodule on the right", "right lung"),
    ("lung mass on the left", "left lung"),
    ("pancreas: 12 mm cystic lesion in the body", "pancreatic body"),
    ("small volume hemoperitoneum", "peritoneal cavity"),
    ("CBD dilated to 11 mm", "ductal dilatation"),
    ("main pancreatic duct dilatation", "ductal dilatation"),
    ("thyroid: 8 mm nodule in the left lobe", "left lobe of thyroid gland"),
    ("thyroid unremarkable except for a cyst in the right lobe", "right thyroid lobe"),
    ("BPH with an enlarged median lobe", "prostate"),
    ("post left nephrectomy", "kidney"),
    ("small effusion with adjacent basal atelectasis", "lung base"),
    ("3.8 cm infrarenal aortic aneurysm", "abdominal aorta"),
    ("mediastinal LAD up to 2 cm", "mediastinum lymph node"),
    ("bilateral hilar LAD", "hilum lymph node"),
    ("axillary LAD on the left", "axilla lymph node"),
    ("retroperitoneal LAD", "retroperitoneum lymph node"),
    ("abdominal LAD", "abdomen lymph node"),
    ("pelvic LAD", "pelvis lymph node"),
    ("inguinal LAD", "groin lymph node"),
    ("mesenteric LAD", "mesentery lymph node"),
    ("common iliac LAD", "iliac lymph node"),
    ("distended thick-walled gallbladder", "thickening"),
    ("the bladder is thick-walled and trabeculated", "thickening"),
    ("thick-walled gastric antrum", "thickening"),
    ("thick-walled sigmoid colon", "thickening"),
    ("thick-walled small bowel loops", "thickening"),
    ("thick-walled distal esophagus", "thickening"),
    ("mild right hydronephrosis", "right kidney"),
    ("moderate left hydronephrosis", "left kidney"),
    ("acute pulmonary embolus", "pulmonary artery"),
    ("no pulmonary embolism", "pulmonary artery"),
    ("cholecystolithiasis", "calculus"),
    ("cholecystolithiasis without cholecystitis", "gallbladder"),
    ("PDAC of the pancreatic neck, 2.4 cm", "pancreas"),
    ("Peritoneal carcinomatosis with ascites", "metastasis"),
    ("RUL collapse", "atelectasis"),
    ("collapse of the RML", "atelectasis"),
    ("RLL collapse with mucus plugging", "atelectasis"),
    ("LUL collapse", "atelectasis"),
    ("Collapse of LLL", "atelectasis"),
    ("lingular collapse", "atelectasis"),
    ("Splenomegally, span 17 cm.", "enlargement"),
    ("Moderate splenomegally", "spleen"),
    ("Hepatomegally with steatosis", "enlargement"),
    ("mild hepatomegally", "liver"),
    ("No increase in the extent of the basal fibrosis", "lung base"),
    ("Left basal opacity, likely atelectasis", "lung base"),
    ("Right basal consolidation", "lung base"),
    ("Cylindrical basal bronchiectasis", "lung base"),
    ("Prostatomegaly, gland volume 80 mL.", "enlargement"),
    ("Mild prostatomegaly", "prostate"),
    ("Hepatolithiasis in the left lateral segment", "calculus"),
    ("Recurrent hepatolithiasis", "liver"),
]


def test_every_curated_rule_has_a_case(extractor: Extractor) -> None:
    curated = extractor.graph.curation.compositions
    assert len(RULES) == len(curated) == len(extractor.composer)
    assert [label for _, label in RULES] == [c.label for c in curated]


@pytest.mark.parametrize(("text", "label"), RULES)
def test_rule(extractor: Extractor, text: str, label: str) -> None:
    (row,) = extractor(text)
    assert label in row.labels


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("right upper pole renal lesion", "right kidney", True),  # positional gap words
        ("left 2.5 cm adrenal nodule", "left adrenal gland", True),  # a measurement
        ("enlarged right hilar lymph node", "lymphadenopathy", True),  # words of another match
        ("right lung. Renal cyst", "right kidney", False),
        ("right, renal", "right kidney", False),  # punctuation breaks adjacency
        ("right and renal", "right kidney", False),
        ("renal right", "right kidney", True),  # any order
        ("liver normal. Splenic mass.", "liver mass", False),  # sentence scope
        ("right upper lobe nodule", "lung nodule", False),  # a part of the organ: only with organ_parts
        ("collapse of the T11 vertebral body", "atelectasis", False),  # no lung, no lobe
        ("the lungs are clear; compression collapse of L2", "atelectasis", False),  # another clause
    ],
)
def test_scopes(extractor: Extractor, text: str, label: str, expected: bool) -> None:
    (row,) = extractor(text)
    assert (label in row.labels) is expected


def test_implications_through_parents(extractor: Extractor) -> None:
    (row,) = extractor("axillary adenopathy")
    assert {"axilla lymph node", "lymphadenopathy", "lymph node", "enlargement", "axilla"} <= set(row.labels)


def test_composed_mention_span_and_text(extractor: Extractor) -> None:
    text = "A right upper pole renal lesion."
    (row,) = extractor(text)
    (mention,) = [m for m in row.mentions if m.label == "right kidney"]
    assert mention.text == "right upper pole renal" == text[mention.start : mention.end]


def test_composed_status_follows_components() -> None:
    extractor = Extractor(bookmark=None)
    (row,) = extractor("No right renal mass.")
    assert "right kidney" not in row.labels
    (mention,) = [m for m in row.mentions if m.label == "right kidney"]
    assert mention.status == "negated" and mention.trigger == "No"


def test_chained_compositions() -> None:
    graph = LabelGraph(
        [
            Term("hilum", synonyms=("hilar",)),
            Term("lymphadenopathy", synonyms=("adenopathy",)),
            Term("hilum lymph node", parents=("hilum",)),
            Term("left hilum lymph node", parents=("hilum lymph node",)),
        ]
    )
    rules = [
        Composition("hilum lymph node", ("hilum", "lymphadenopathy"), "adjacent"),
        Composition("left hilum lymph node", ("'left'", "hilum lymph node"), "adjacent"),
    ]
    analyzer = Analyzer()
    composer = Composer(graph, analyzer, compositions=rules)
    analysis = analyzer.analyze("left hilar adenopathy")
    matches = Matcher(graph, analyzer).match(analysis.keys)
    composed = composer.compose(matches, analysis.keys, analysis.sent_starts)
    assert [c.match.label for c in composed] == ["hilum lymph node", "left hilum lymph node"]
    assert composed[1].components == (len(matches),)


def test_rules_with_unknown_labels_are_left_out() -> None:
    graph = LabelGraph([Term("kidney", synonyms=("renal",))])
    rule = Composition("right kidney", ("'right'", "kidney"), "adjacent")
    composer = Composer(graph, Analyzer(), compositions=[rule])
    assert len(composer) == 0


@pytest.mark.parametrize(
    ("text", "label", "expected", "by_default"),
    [
        ("Spiculated left upper lobe mass, 3.1 cm.", "lung mass", True, False),
        ("A 7 mm nodule in the lingula is unchanged.", "lung nodule", True, False),
        ("New nodules in the right and left lower lobes.", "lung nodule", True, False),
        ("The right middle lobe contains a 12 mm nodule.", "lung nodule", True, False),
        ("Nodule at the left lung base measuring 4 mm.", "lung nodule", True, True),
        ("Perifissural nodule along the left major fissure.", "lung nodule", True, False),
        ("Cyst in the interpolar region of the right kidney.", "kidney cyst", True, True),
        ("Right lower lobe consolidation; 2 cm mass in the right ovary.", "lung mass", False, False),
        ("Right lower lobe atelectasis; a 4 cm liver mass.", "lung mass", False, False),
        ("Left upper lobe scarring and a 2 cm nodule in the thyroid.", "lung nodule", False, False),
        ("Periportal lymph node, 1.4 cm; no focal liver lesion.", "liver mass", False, False),
        ("Mass at the porta hepatis encasing the common bile duct.", "liver mass", False, False),
        ("Tumor thrombus fills the left renal vein, with a simple cyst in the liver.", "kidney cyst", False, False),
        ("Emphysema in both upper lobes; a 3 cm mass in the left breast.", "lung mass", False, False),
    ],
)
def test_parts_of_an_organ(
    with_parts: Extractor, extractor: Extractor, text: str, label: str, expected: bool, by_default: bool
) -> None:
    """With ``organ_parts``, a body part inside an organ stands for it in a rule that makes a finding; one
    that only meets it does not. Without it (the default), only the organ named does ("lung base" holds lung)."""
    (row,) = with_parts(text)
    assert (label in row.labels) is expected
    (row,) = extractor(text)
    assert (label in row.labels) is by_default


def test_organ_parts_of_the_shipped_ontology(extractor: Extractor) -> None:
    graph = extractor.graph
    not_parts = graph.curation.not_parts
    lung = organ_parts(graph, "lung", not_parts)
    assert {"right lower lobe", "right mid lung", "lingula", "lung base", "right minor fissure", "left lung"} <= lung
    assert not lung & {"left pulmonary artery", "lung nodule", "atelectasis"}  # a vessel; findings
    kidney = organ_parts(graph, "kidney", not_parts)
    assert {"left kidney", "right kidney", "renal pelvis"} <= kidney
    assert not kidney & {"renal vein", "left renal vein", "renal artery", "renal hilum"}
    assert organ_parts(graph, "liver", not_parts) == frozenset()  # porta hepatis (curated), falciform ligament
    assert "porta Hepatis" in organ_parts(graph, "liver")  # without the curated row


def test_not_parts_and_rules_making_body_parts(tmp_path: Path) -> None:
    (tmp_path / "not_parts.csv").write_text("term,whole,note\nhilum,organ,its vessels and nodes\n", encoding="utf-8")
    curation = read_curation(tmp_path)
    assert curation.not_parts == (("hilum", "organ"),)
    terms = [
        Term("organ", category="bodypart"),
        Term("lobe", parents=("organ",), category="bodypart", synonyms=("lobar",)),
        Term("hilum", parents=("organ",), category="bodypart", synonyms=("hilar",)),
        Term("node", parents=("hilum",), category="bodypart", synonyms=("nodal",)),
        Term("mass", category="type"),
        Term("organ mass", parents=("organ", "mass"), category="type"),
        Term("right organ", parents=("organ",), category="bodypart"),
    ]
    rules = [
        Composition("organ mass", ("organ", "mass"), "sentence"),
        Composition("right organ", ("'right'", "organ"), "adjacent"),
    ]
    analyzer = Analyzer()

    def composed(text: str, graph: LabelGraph) -> list[str]:
        composer = Composer(graph, analyzer, compositions=rules, with_parts=True)
        analysis = analyzer.analyze(text)
        matches = Matcher(graph, analyzer).match(analysis.keys)
        return [c.match.label for c in composer.compose(matches, analysis.keys, analysis.sent_starts)]

    plain, curated = LabelGraph(terms), LabelGraph(terms, curation=curation)
    assert composed("lobar mass", plain) == composed("lobar mass", curated) == ["organ mass"]
    assert composed("hilar mass", plain) == composed("nodal mass", plain) == ["organ mass"]
    assert composed("hilar mass", curated) == composed("nodal mass", curated) == []  # listed, and below one listed
    assert composed("right lobar", plain) == []  # a rule that makes a body part takes the organ only


def test_no_composition_where_a_mention_names_it(extractor: Extractor) -> None:
    """A composition over a mention of its label (or a finer one) adds no mention."""
    (row,) = extractor("Right renal cyst. Right lower lobe opacity.")
    assert [m.text for m in row.mentions if m.label == "kidney cyst"] == ["renal cyst"]
    assert not [m for m in row.mentions if m.label == "right lung"]  # right lower lobe is below it
    assert {"kidney cyst", "right kidney", "right lung"} <= set(row.labels)
