import io

import pytest
from PIL import Image

from simulators.render import LEVELS, render, validate_render_spec

RX = {"render": "prescription", "items": [
    {"drug": "Amoxicillin", "dose": "500mg", "form": "capsules", "quantity": 21,
     "instructions": "Take 1 three times daily"}]}


@pytest.mark.parametrize("level", LEVELS)
def test_same_spec_and_seed_give_the_same_bytes(level):
    spec = dict(RX, degrade=level)
    assert render(spec, seed=4).image_bytes == render(spec, seed=4).image_bytes


def test_seed_changes_the_degradation():
    spec = dict(RX, degrade="moderate")
    assert render(spec, seed=1).image_bytes != render(spec, seed=2).image_bytes
    assert render(dict(spec, seed=9), seed=1).image_bytes == render(dict(spec, seed=9), seed=2).image_bytes


def test_clean_is_png_and_degraded_is_jpeg_of_a_real_image():
    clean, mild = render(RX), render(dict(RX, degrade="mild"))
    assert clean.mime == "image/png" and clean.png_bytes.startswith(b"\x89PNG")
    assert mild.mime == "image/jpeg" and mild.image_bytes.startswith(b"\xff\xd8")
    assert Image.open(io.BytesIO(mild.image_bytes)).size[0] >= 800


def test_severe_loses_most_of_the_picture():
    severe = Image.open(io.BytesIO(render(dict(RX, degrade="severe")).image_bytes))
    clean = Image.open(io.BytesIO(render(RX).image_bytes))
    assert severe.size[0] < clean.size[0] * 0.6


def test_ground_truth_carries_the_items_and_the_text():
    truth = render(RX, seed=3).ground_truth
    assert truth["kind"] == "prescription" and truth["items"][0]["drug"] == "Amoxicillin"
    assert "Amoxicillin 500mg capsules" in truth["text"] and truth["degrade"] == "clean"


def test_invoice_truth_has_total_and_free_lines_render_as_given():
    inv = render({"render": "invoice", "items": [{"name": "ORS", "quantity": 3, "price": 300},
                                                 {"name": "Gloves", "quantity": 1, "price": 6500}]})
    assert inv.ground_truth["total"] == 7400 and "TOTAL RWF 7,400" in inv.ground_truth["text"]
    free = render({"render": "product", "lines": ["TECNO", "Charger 18W"]})
    assert free.ground_truth["lines"] == ["TECNO", "Charger 18W"]


def test_validate_render_spec_names_each_problem():
    assert validate_render_spec(RX) == []
    problems = validate_render_spec({"render": "poster", "degrade": "awful", "seed": "x", "colour": 1})
    text = " ".join(problems)
    assert "render" in text and "degrade" in text and "seed" in text and "'colour'" in text
    assert any("missing 'drug'" in p for p in validate_render_spec({"render": "prescription", "items": [{"dose": "1g"}]}))
    assert validate_render_spec("nope") and validate_render_spec({"render": "invoice"})
    with pytest.raises(ValueError):
        render({"render": "invoice"})
