"""Builders shared by the tests that wire a SimWorld by hand (scenario files use fixtures instead)."""

from __future__ import annotations

from pathlib import Path

import yaml

from concierge.flags import Flags
from concierge.geo import lookup_place
from concierge.policy import Caps
from concierge.ports import Vendor
from simulators.vendors import vendor_from_mapping
from simulators.world import SimWorld, WorldConfig

KIGALI_VENDORS = Path(__file__).resolve().parents[1] / "fixtures/vendors/kigali.yaml"


def pharmacy(vendor_id: str, phone: str, *, name: str | None = None, area: str = "Kimironko") -> Vendor:
    """A pharmacy at a gazetteer place, quick to answer, average rating."""
    place = lookup_place(area)
    assert place is not None, f"{area} is not in the gazetteer"
    return Vendor(id=vendor_id, name=name or vendor_id.replace("_", " ").title(), phone=phone,
                  categories=("pharmacy",), lat=place.lat, lng=place.lng, area=area, rating=4.0,
                  avg_response_minutes=5)


def kigali_vendors() -> list[Vendor]:
    """The committed Kigali vendor fixture, the one the scenario files use."""
    return [vendor_from_mapping(v) for v in yaml.safe_load(KIGALI_VENDORS.read_text("utf-8"))]


def ai_world(vendors: list[Vendor], *, clients: dict[str, tuple[str | None, str | None]] | None = None,
             caps: Caps | None = None, seed: int = 0, calling: bool = False) -> SimWorld:
    """A world with the AI concierge on for everyone (and vendor calling when asked); the caller closes it."""
    flags = {"FEATURE_AI_CONCIERGE": "true", "FEATURE_AI_CONCIERGE_CALLING": "true" if calling else "false"}
    return SimWorld(WorldConfig(vendors=vendors, clients=dict(clients or {}), flags=Flags.from_mapping(flags),
                                caps=caps or Caps(), seed=seed))


def texts_to(world: SimWorld, phone: str) -> list[str]:
    """What the WhatsApp fake delivered to this phone, in order."""
    return [m.text or "" for m in world.whatsapp.sent if m.to == phone]


def latest_request(world: SimWorld, phone: str):
    """The client's latest request row (it must exist)."""
    row = world.ledger.latest_request(phone)
    assert row is not None, f"no request for {phone}"
    return row


def run_folder(folder: Path, **files: str) -> Path:
    """A whole output set (manifest and all), as ``simulate`` writes one: ``metrics="{...}"`` is
    its metrics.json (any text: a reader must judge what it holds, once the set is whole)."""
    from simulators.outputs import OutputSet

    with OutputSet(folder, seed=0) as out:
        for name, text in files.items():
            out.write_text(f"{name}.json", text)
        out.commit()
    return folder
