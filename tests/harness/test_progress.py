"""The shared progress line: drawn in place on a terminal, silent on a log stream."""

from __future__ import annotations

import io

from simulators.progress import BAR_CELLS, ProgressLine


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_counter_redraws_one_line_and_close_blanks_exactly_what_was_drawn():
    tty = FakeTty()
    line = ProgressLine(86, stream=tty)
    line.step(1, "happy/pharmacy_first_order")
    line.step(2, "x" * 100)  # long names are cut so the line never wraps
    first, second = tty.getvalue().split("\r")[1:3]
    assert first.startswith("[1/86] happy/pharmacy_first_order") and len(first) == len("[1/86] ") + 60
    assert second == "[2/86] " + "x" * 60
    before = tty.getvalue()
    line.close()
    assert tty.getvalue()[len(before):] == "\r" + " " * len(second) + "\r"
    assert "\n" not in tty.getvalue()


def test_bar_fills_in_proportion_and_never_overfills():
    tty = FakeTty()
    line = ProgressLine(4, stream=tty)
    line.fill(1, "shard 1/4")
    line.fill(9, "shard 4/4")  # more than total: still a full bar at 100%
    quarter, over = tty.getvalue().split("\r")[1:3]
    assert quarter.startswith("[" + "#" * (BAR_CELLS // 4) + "." * (BAR_CELLS - BAR_CELLS // 4) + "]  25.0% shard 1/4")
    assert over.startswith("[" + "#" * BAR_CELLS + "] 100.0% shard 4/4")


def test_silent_when_the_stream_is_not_a_terminal():
    log = io.StringIO()  # isatty() is False, like a CI log file
    line = ProgressLine(3, stream=log)
    line.step(1, "a")
    line.fill(2, "b")
    line.close()
    assert not line.live and log.getvalue() == ""


def test_a_stream_without_isatty_counts_as_a_log():
    class Sink:
        def __init__(self):
            self.parts: list[str] = []

        def write(self, text: str) -> None:
            self.parts.append(text)

        def flush(self) -> None:
            pass

    sink = Sink()
    line = ProgressLine(2, stream=sink)
    line.step(1, "a")
    line.close()
    assert sink.parts == []


def test_close_without_drawing_writes_nothing():
    tty = FakeTty()
    ProgressLine(5, stream=tty).close()
    assert tty.getvalue() == ""
