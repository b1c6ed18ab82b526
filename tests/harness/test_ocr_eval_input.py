"""ocr-eval on a broken evaluation set: every bad file named with what is wrong, nothing scored."""

import json

from simulators.ocr_eval import main


def _invoice(**over):
    return {"kind": "invoice", "company": "Kigali Pharma", "date": "25 Oct 2024", "total": 16200, **over}


def test_broken_ground_truth_is_listed_file_by_file_and_nothing_is_scored(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps({"kind": "invoice", "company": "X", "total": 1}))
    (tmp_path / "a.png").write_bytes(b"not an image")
    (tmp_path / "b.json").write_text("{bad")
    (tmp_path / "b.png").write_bytes(b"not an image")
    (tmp_path / "c.json").write_text(json.dumps(_invoice()))  # no image next to it
    (tmp_path / "d.json").write_text(json.dumps({"kind": "prescription", "items": [{"dose": "5mg"}]}))
    (tmp_path / "d.png").write_bytes(b"not an image")
    out = tmp_path / "report.json"
    assert main([str(tmp_path), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.json: (top level): 'date' is a required property" in err
    assert "b.json: not JSON" in err
    assert "c.json: no image next to it" in err
    assert "d.json: items[0]: 'drug' is a required property" in err
    assert "Traceback" not in err and not out.exists()


def test_a_receipt_key_without_its_total_is_named(tmp_path, capsys):
    (tmp_path / "001.key.json").write_text(json.dumps({"company": "X", "date": "01/01/2018"}))
    (tmp_path / "001.jpg").write_bytes(b"not an image")
    assert main([str(tmp_path)]) == 2
    assert "001.key.json: (top level): 'total' is a required property" in capsys.readouterr().err


def test_a_folder_without_labelled_images_is_an_error_not_an_empty_table(tmp_path, capsys):
    (tmp_path / "photo.png").write_bytes(b"an image without ground truth")
    assert main([str(tmp_path)]) == 2
    assert "no labelled images" in capsys.readouterr().err


def test_a_broken_image_with_good_truth_is_scored_as_a_failed_read(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(_invoice()))
    (tmp_path / "a.png").write_bytes(b"not an image")
    out = tmp_path / "report.json"
    assert main([str(tmp_path), "--json", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["images"] == 1 and row["ocr_failed"] == 1 and row["total_accuracy"] == 0.0
