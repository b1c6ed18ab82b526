"""The virtual clock's reserved sequence numbers: a plan pushed a little at a time fires in the order
it would have fired had it all been scheduled up front (what the rollout's arrivals rely on)."""

from hypothesis import given
from hypothesis import strategies as st

from simulators.clock import VirtualClock

# (due seconds, is it part of the plan?) for each event, in the order they are scheduled
events = st.lists(st.tuples(st.integers(0, 50), st.booleans()), max_size=40)


def _fired(plan_up_front: bool, items: list[tuple[int, bool]]) -> list[int]:
    clock = VirtualClock(start=0)
    fired: list[int] = []
    plan = [(i, due) for i, (due, planned) in enumerate(items) if planned]
    first = clock.reserve(len(plan))
    if plan_up_front:
        for n, (i, due) in enumerate(plan):
            clock.call_at(due, lambda _now, i=i: fired.append(i), seq=first + n)
    # the rest is scheduled after the plan's numbers were taken
    for i, (due, planned) in enumerate(items):
        if not planned:
            clock.call_at(due, lambda _now, i=i: fired.append(i))
    waiting = list(enumerate(plan))
    for step_end in range(0, 52, 5):
        while not plan_up_front and waiting and waiting[0][1][1] <= step_end:
            n, (i, due) = waiting.pop(0)
            clock.call_at(due, lambda _now, i=i: fired.append(i), seq=first + n)
        clock.advance(step_end - clock.elapsed())
    return fired


@given(events.map(lambda xs: sorted(xs, key=lambda e: not e[1])))
def test_a_plan_pushed_step_by_step_fires_like_one_scheduled_up_front(items):
    # sorted so that the plan's events come first in scheduling order, as the rollout's do, and
    # the plan itself in due order (the lazy pusher walks it in order)
    plan = sorted((e for e in items if e[1]), key=lambda e: e[0])
    items = plan + [e for e in items if not e[1]]
    assert _fired(False, items) == _fired(True, items)


def test_same_due_time_keeps_the_reserved_order_before_later_events():
    clock = VirtualClock(start=0)
    fired = []
    first = clock.reserve(2)
    clock.call_at(10, lambda _now: fired.append("late"))  # scheduled after the reservation
    clock.call_at(10, lambda _now: fired.append("plan-1"), seq=first + 1)
    clock.call_at(10, lambda _now: fired.append("plan-0"), seq=first)
    clock.advance(10)
    assert fired == ["plan-0", "plan-1", "late"]
