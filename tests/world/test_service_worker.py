"""The writer's parts: timers come out in due order and only once due; the inbox keeps arrival
order and survives its process (a reopened file still holds what was not marked done)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from concierge.ports import Timer
from service.inbox import Inbox
from service.worker import WallScheduler


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=40),
       st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_timers_fire_in_due_order_and_never_early(dues, now):
    scheduler = WallScheduler()
    for n, due in enumerate(dues):
        scheduler.schedule(Timer("t", f"r{n}", due))
    fired = []
    while (timer := scheduler.pop_due(now)) is not None:
        fired.append(timer.due)
    assert fired == sorted(d for d in dues if d <= now)
    assert len(scheduler) == sum(d > now for d in dues)
    assert scheduler.next_due() == (min(d for d in dues if d > now) if len(scheduler) else None)


def test_inbox_keeps_order_and_what_is_not_done_survives_a_reopen(tmp_path):
    path = str(tmp_path / "l.sqlite.inbox")
    inbox = Inbox(path)
    seqs = [inbox.put(f"body{n}".encode(), f"sig{n}", float(n)) for n in range(3)]
    assert [body for _, body, _ in inbox.oldest()] == [b"body0", b"body1", b"body2"]
    inbox.done(seqs[0])
    inbox.close()  # the process goes away without handling the rest
    reopened = Inbox(path)
    assert [(body, sig) for _, body, sig in reopened.oldest()] == [(b"body1", "sig1"), (b"body2", "sig2")]
    assert len(reopened) == 2
    reopened.close()


def test_work_handed_to_the_writer_runs_on_its_thread_and_answers(tmp_path):
    """``Worker.call``: the harness probe's OCR script and seeding run on the writer thread (the
    ledger's connection belongs to it); the result comes back, and so does an exception."""
    import threading
    from types import SimpleNamespace

    import pytest

    from service.worker import Worker

    closed = []
    concierge = SimpleNamespace(ports=SimpleNamespace(brain=None), ledger=SimpleNamespace(close=lambda: closed.append(1)))
    worker = Worker(lambda _scheduler: concierge, str(tmp_path / "l.sqlite.inbox"),
                    SimpleNamespace(now=lambda: 0.0, wall_seconds_until=lambda due: 1.0), resume=False)
    worker.start()
    try:
        assert worker.ready.wait(10)
        assert worker.call(lambda c: (c is concierge, threading.current_thread() is worker)) == (True, True)
        with pytest.raises(KeyError, match="nobody"):
            worker.call(lambda c: {}["nobody"])
        assert worker.is_alive()  # a failed job does not stop the writer
    finally:
        worker.stop()
    assert closed == [1]


def test_idle_event_set_only_while_the_writer_waits_with_nothing_to_do(tmp_path):
    """``Worker.idle``: what the probe's settle waits on instead of polling. Set once the writer has
    nothing to do; cleared while it works (a job in hand); set again after."""
    import threading
    from types import SimpleNamespace

    from service.worker import Worker

    concierge = SimpleNamespace(ports=SimpleNamespace(brain=None), ledger=SimpleNamespace(close=lambda: None))
    worker = Worker(lambda _scheduler: concierge, str(tmp_path / "l.sqlite.inbox"),
                    SimpleNamespace(now=lambda: 0.0, wall_seconds_until=lambda due: 1.0), resume=False)
    assert not worker.idle.is_set()  # not started: not idle
    worker.start()
    try:
        assert worker.idle.wait(10) and not worker.busy
        inside, release = threading.Event(), threading.Event()
        seen: list[tuple[bool, bool]] = []

        def job(_c):
            inside.set()
            release.wait(10)
            return True

        caller = threading.Thread(target=worker.call, args=(job,))
        caller.start()
        assert inside.wait(10)
        seen.append((worker.idle.is_set(), worker.busy))
        release.set()
        caller.join(10)
        assert seen == [(False, True)]  # at work: neither idle nor settled
        assert worker.idle.wait(10) and not worker.busy
    finally:
        worker.stop()
