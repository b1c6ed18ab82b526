"""The calibrated OCR model feeds the concierge's real rules; the run's PNG plots are written."""

from concierge.drugs import DrugLexicon
from concierge.ocr_rules import analyse
from simulators.rollout.metrics import Tally, finalize, load_prices
from simulators.rollout.ocr_model import CalibratedOcr, encode_spec, page_lines, score_reading
from simulators.rollout.plots import write_plots

SPEC = {"render": "prescription", "degrade": "clean", "seed": 5,
        "items": [{"drug": "Amoxicillin", "dose": "500mg", "form": "capsules", "quantity": 21}]}


def _ask_rate(level: str, n: int = 60) -> float:
    ocr, lexicon = CalibratedOcr(seed=3), DrugLexicon.default()
    asked = 0
    for i in range(n):
        page = ocr.read(encode_spec({**SPEC, "degrade": level, "seed": i}))
        asked += analyse(page, None, lexicon).next_action == "ask_client"
    return asked / n


def test_model_reads_the_renderers_lines():
    lines = page_lines(SPEC)
    assert any("Amoxicillin 500mg capsules" in ln for ln in lines)
    page = CalibratedOcr(seed=1).read(encode_spec({**SPEC, "degrade": "clean"}))
    assert "Amoxicillin" in page.text


def test_clean_pages_mostly_proceed_and_severe_pages_always_ask():
    assert _ask_rate("clean") < 0.5
    assert _ask_rate("severe") == 1.0


def test_score_reading_hand_case():
    lexicon = DrugLexicon.default()
    truth = {"kind": "prescription", "items": [{"drug": "Amoxicillin", "dose": "500mg", "quantity": 21}]}
    right = {"items": [{"drug_name": {"value": "Amoxicillin"}, "dose": {"value": "500 mg"},
                        "quantity": {"value": "20"}}]}
    assert score_reading(right, truth, lexicon) == (2, 3)
    assert score_reading(None, truth, lexicon) == (0, 3)
    assert score_reading({"general": {"total": {"value": 11500}}}, {"kind": "invoice", "total": 11500},
                         lexicon) == (1, 1)


def test_plots_are_written(tmp_path):
    tally = Tally(requests=3, handed_off=2, shortlists_delivered=2, tts_hist={66: 1, 420: 1}, tts_never=1)
    paths = write_plots(tmp_path, tally, finalize(tally, load_prices()))
    assert [p.name for p in paths] == ["time_to_shortlist.png", "thresholds.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
