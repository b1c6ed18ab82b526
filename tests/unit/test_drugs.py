import json
from importlib import resources

from hypothesis import given
from hypothesis import strategies as st

from concierge.drugs import DrugLexicon, normalize


def test_default_lexicon_has_at_least_200_generics_and_names_its_source():
    lexicon = DrugLexicon.default()
    assert len(lexicon) >= 200
    data = json.loads(resources.files("concierge.data").joinpath("drug_lexicon.json").read_text())
    assert "DrugBank" in data["_source"] and "CC0" in data["_licence"]
    assert DrugLexicon.default() is lexicon  # cached


def test_canonical_maps_synonyms_and_brands_to_the_generic():
    lexicon = DrugLexicon.default()
    assert lexicon.canonical("Acetaminophen") == "Paracetamol"
    assert lexicon.canonical("  PANADOL ") == "Paracetamol"
    assert lexicon.canonical("Augmentin") == "Amoxicillin/Clavulanate"
    assert lexicon.canonical("co-amoxiclav") == "Amoxicillin/Clavulanate"
    assert lexicon.canonical("Ventolin") == "Salbutamol"
    assert lexicon.canonical("albuterol") == "Salbutamol"
    assert lexicon.canonical("Coartem") == "Artemether/Lumefantrine"


def test_canonical_never_guesses():
    lexicon = DrugLexicon.default()
    assert lexicon.canonical("Amoxcillin") is None
    assert lexicon.canonical("tablets") is None
    assert lexicon.canonical("") is None


def test_match_reads_a_misspelt_name_with_a_score_below_one():
    lexicon = DrugLexicon.default()
    generic, score = lexicon.match("Arnoxicillin")
    assert generic == "Amoxicillin" and 0.8 < score < 1.0
    assert lexicon.match("Metformin") == ("Metformin", 1.0)
    assert lexicon.match("mg") is None  # too short to say anything


def test_same_drug_compares_synonyms_equal():
    lexicon = DrugLexicon.default()
    assert lexicon.same_drug("Paracetamol", "acetaminophen")
    assert lexicon.same_drug("Panadol", "Tylenol")
    assert not lexicon.same_drug("Amoxicillin", "Ampicillin")
    assert not lexicon.same_drug("", "")


def test_a_small_lexicon_works_from_data():
    lexicon = DrugLexicon({"Zinc sulfate": ["zinc"], "Co-trimoxazole": ["bactrim"]})
    assert lexicon.canonical("ZINC") == "Zinc sulfate"
    assert lexicon.canonical("cotrimoxazole") == "Co-trimoxazole"
    assert lexicon.canonical("co trimoxazole") == "Co-trimoxazole"
    assert normalize("Amoxicillin/Clavulanate") == "amoxicillin / clavulanate"


@given(st.text(max_size=60))
def test_lookups_never_raise(text):
    lexicon = DrugLexicon.default()
    lexicon.canonical(text)
    hit = lexicon.match(text)
    assert hit is None or (hit[0] in lexicon.generics and 0.0 <= hit[1] <= 1.0)
    lexicon.same_drug(text, "Paracetamol")
