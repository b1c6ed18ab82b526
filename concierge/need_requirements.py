"""Requirements: what the concierge knows about a client's need, merged across turns and stored.

Kept apart from the text rules because the engine, the coded workflow and the ledger all hold and
store it; it changes when the need's shape changes, not when a phrase is learnt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .texts import LANGUAGES


@dataclass(frozen=True)
class Requirements:
    item: str | None = None
    category: str | None = None
    category_strength: float = 0.0
    place: str | None = None
    budget_max: int | None = None
    quantity: str | None = None
    urgent: bool = False
    language: str = "en"

    def missing(self) -> tuple[str, ...]:
        """What the concierge still has to ask for, in the order it asks."""
        out = []
        if not self.item:
            out.append("item")
        if not self.place:
            out.append("place")
        return tuple(out)

    @property
    def complete(self) -> bool:
        return not self.missing()

    def merged(self, newer: Requirements) -> Requirements:
        """This need with the gaps filled from a later turn (the client answering "Remera" to "where?").

        Known values are kept: a correction of an item or place is a new request, not a merge. The
        category and language follow the item, because the message that named the item is the one
        that says what kind of shop to ask and which language the client chose for it.
        """
        if not isinstance(newer, Requirements):
            return self
        item_from_newer = not self.item and bool(newer.item)
        if item_from_newer and newer.category:
            category, strength = newer.category, newer.category_strength
        elif self.category:
            category, strength = self.category, self.category_strength
        else:
            category, strength = newer.category, newer.category_strength
        return Requirements(
            item=self.item or newer.item,
            category=category,
            category_strength=strength,
            place=self.place or newer.place,
            budget_max=self.budget_max if self.budget_max is not None else newer.budget_max,
            quantity=self.quantity or newer.quantity,
            urgent=bool(self.urgent or newer.urgent),
            language=newer.language if item_from_newer else self.language,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["missing"] = list(self.missing())
        out["complete"] = self.complete
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Requirements:
        """Requirements from a stored dict (unknown keys ignored, wrong types dropped); never raises."""
        if not isinstance(data, dict):
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value.strip() else None

        strength = data.get("category_strength")
        budget = data.get("budget_max")
        language = data.get("language")
        return cls(
            item=text("item"),
            category=text("category"),
            category_strength=float(strength) if isinstance(strength, (int, float)) else 0.0,
            place=text("place"),
            budget_max=budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
            quantity=text("quantity"),
            urgent=data.get("urgent") is True,
            language=language if language in LANGUAGES else "en",
        )
