"""Builders shared by the tests that wire a SimWorld by hand (scenario files use fixtures instead)."""

from __future__ import annotations

from concierge.geo import lookup_place
from concierge.ports import Vendor


def pharmacy(vendor_id: str, phone: str, *, name: str | None = None, area: str = "Kimironko") -> Vendor:
    """A pharmacy at a gazetteer place, quick to answer, average rating."""
    place = lookup_place(area)
    assert place is not None, f"{area} is not in the gazetteer"
    return Vendor(id=vendor_id, name=name or vendor_id.replace("_", " ").title(), phone=phone,
                  categories=("pharmacy",), lat=place.lat, lng=place.lng, area=area, rating=4.0,
                  avg_response_minutes=5)
