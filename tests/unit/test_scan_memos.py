"""What the vendor scan and the need reader keep between calls (the directory's index, places by
name, the item of a clause) is what they would compute afresh, and never another object's."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge import geo, need_item, outreach
from concierge.geo import gazetteer, lookup_place
from concierge.ports import Vendor


def _vendors(rating: float = 4.0) -> list[Vendor]:
    return [
        Vendor(id=f"v{i}", name=f"Vendor {i}", phone=f"+25078800010{i}", categories=("pharmacy",),
               rating=rating, tags=("Paracetamol",), active=i != 3)
        for i in range(6)
    ]


def test_the_directory_index_is_kept_for_the_very_same_vendor_objects_only() -> None:
    vendors = _vendors()
    index = outreach._directory_index(vendors)
    assert outreach._directory_index(list(vendors)) is index  # a new list of the same objects
    # Equal values in other objects (0.0 and -0.0 are equal, and print differently): their own index.
    zero = _vendors(rating=0.0)
    outreach._directory_index(zero)
    negative_zero = _vendors(rating=-0.0)
    assert negative_zero == zero
    own = outreach._directory_index(negative_zero)
    assert all(a is b for a, b in zip(own.vendors, negative_zero, strict=True))
    assert str(own.vendors[0].rating) == "-0.0"
    one_changed = [*vendors[:-1], dataclasses.replace(vendors[-1])]
    assert outreach._directory_index(one_changed).vendors[-1] is one_changed[-1]
    shorter = outreach._directory_index(vendors[:-1])  # a shorter list of the same objects
    assert len(shorter.vendors) == len(vendors) - 1


def test_the_directory_indexes_kept_are_few() -> None:
    lists = [_vendors(rating=float(r)) for r in range(10)]
    for vendors in lists:
        index = outreach._directory_index(vendors)
        assert all(a is b for a, b in zip(index.vendors, vendors, strict=True))
    assert len(outreach._INDEXES) <= 4


_NAMES = sorted({n for p in gazetteer() for n in (p.name, *p.aliases)})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(_NAMES), st.sampled_from(_NAMES).map(str.upper), st.text(max_size=12)))
def test_a_place_by_name_is_the_index_entry(name: str) -> None:
    for _ in range(2):  # the second from memory
        assert lookup_place(name) == geo._index().get(geo._key(name))


def test_a_place_name_that_is_not_text_is_refused_as_before() -> None:
    with pytest.raises(AttributeError):
        lookup_place(None)  # type: ignore[arg-type]


_PIECES = ["I need", "paracetamol 500mg", "near Remera", ", budget 20k", "urgent", "hi", "ndashaka sima",
           "je cherche du riz", "?", ".", "\n", "mu Gikondo", "2 bags", "please"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=10)), max_size=8).map(" ".join))
def test_a_remembered_clause_item_is_the_clause_item(text: str) -> None:
    plain = need_item._clause_item.__wrapped__
    for _ in range(2):
        for clause in need_item._CLAUSE_SPLIT.split(text):
            assert need_item._clause_item(clause) == plain(clause)
