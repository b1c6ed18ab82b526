"""A seeded population: clients, vendors with behaviour models, and the requests they will make.

Everything is drawn from ``random.Random`` and ``Faker.seed_instance`` seeded from the run seed, so
a population is a pure function of (seed, sizes, parameters). Phone numbers are Rwandan mobile
numbers (MTN 078/079, Airtel 072/073); clients and vendors never share a number.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields, replace
from typing import Any

from faker import Faker

from concierge.geo import gazetteer, lookup_place
from concierge.ports import Vendor
from concierge.texts import LANGUAGES

# Kigali's neighbourhoods weigh more than Nyamata (Bugesera), which is in the gazetteer too.
PLACES = tuple(p.name for p in gazetteer())

# (en, fr, rw) phrasing of one need and its typical price in RWF.
ITEMS: dict[str, list[tuple[str, str, str, int]]] = {
    "pharmacy": [
        ("Amoxicillin 500mg capsules", "Amoxicilline 500mg gélules", "imiti Amoxicillin 500mg", 3500),
        ("Paracetamol 500mg tablets", "Paracétamol 500mg comprimés", "ibinini bya Paracetamol", 1000),
        ("cough syrup", "sirop contre la toux", "umuti w'inkorora", 4000),
        ("oral rehydration salts", "sels de réhydratation", "imiti ya ORS", 500),
    ],
    "electronics": [
        ("a phone charger type C", "un chargeur type C", "sharijeri ya telefoni", 8000),
        ("a Samsung phone case", "une coque Samsung", "coque ya telefoni Samsung", 5000),
        ("a laptop charger", "un chargeur d'ordinateur", "sharijeri ya mudasobwa", 25000),
    ],
    "hardware": [
        ("a bag of cement", "un sac de ciment", "umufuka wa sima", 12000),
        ("iron sheets", "des tôles", "amabati", 9000),
        ("a hammer", "un marteau", "inyundo", 6000),
    ],
    "groceries": [
        ("5 kg of rice", "5 kg de riz", "umuceri ibiro 5", 7500),
        ("cooking oil", "huile de cuisine", "amavuta yo guteka", 6000),
    ],
    "beauty": [("body lotion", "lait de corps", "amavuta yo kwisiga", 5000),
               ("a wig", "une perruque", "perike", 30000)],
    "clothing_shoes": [("school shoes size 38", "chaussures pointure 38", "inkweto z'ishuri", 15000),
                       ("jeans", "un pantalon jean", "ipantaro ya jeans", 12000)],
    "household_furniture": [("a mattress", "un matelas", "matela", 60000),
                            ("a mosquito net", "une moustiquaire", "inzitiramibu", 5000)],
    "auto_parts": [("brake pads for a Toyota Corolla", "plaquettes de frein Toyota", "feri z'imodoka Toyota", 30000),
                   ("engine oil", "huile moteur", "amavuta ya moteri", 20000)],
    "stationery": [("exercise books", "des cahiers", "amakaye", 3000),
                   ("a ream of A4 paper", "une rame de papier A4", "impapuro A4", 6000)],
}
CATEGORY_WEIGHTS = {"pharmacy": 0.30, "electronics": 0.18, "hardware": 0.10, "groceries": 0.10,
                    "beauty": 0.07, "clothing_shoes": 0.07, "household_furniture": 0.07,
                    "auto_parts": 0.06, "stationery": 0.05}
VENDOR_WORD = {"pharmacy": "Pharmacy", "electronics": "Electronics", "hardware": "Hardware",
               "groceries": "Alimentation", "beauty": "Beauty Shop", "clothing_shoes": "Boutique",
               "household_furniture": "Home Store", "auto_parts": "Auto Spares", "stationery": "Papeterie"}
NEED_TEMPLATES = {
    "en": ("I need {item} near {place}", "Do you have {item}? I am in {place}",
           "Looking for {item} around {place}, budget {budget} RWF"),
    "fr": ("Je cherche {item} à {place}", "Besoin de {item} près de {place}"),
    "rw": ("Ndashaka {item} i {place}", "Ndashaka {item} hafi ya {place}"),
}
VAGUE_TEMPLATES = {"en": "I need {item}", "fr": "Je cherche {item}", "rw": "Ndashaka {item}"}
URGENT_PHRASE = {"en": "- it's urgent", "fr": "- c'est urgent", "rw": "- byihuse"}
RW_SURNAMES = ("Uwimana", "Mugisha", "Niyonzima", "Habimana", "Ishimwe", "Iradukunda", "Mukamana",
               "Nshimiyimana", "Uwase", "Hakizimana", "Byiringiro", "Ndayisaba", "Kamanzi", "Gatete",
               "Mutesi", "Ingabire", "Keza", "Mugabo", "Nkurunziza", "Umutoni")
DRUGS = (("Amoxicillin", "500mg", "capsules", 21), ("Paracetamol", "500mg", "tablets", 20),
         ("Metronidazole", "400mg", "tablets", 15), ("Ibuprofen", "400mg", "tablets", 12),
         ("Ciprofloxacin", "500mg", "tablets", 10), ("Omeprazole", "20mg", "capsules", 14))
INVOICE_ITEMS = (("Paracetamol 500mg tabs", 500), ("Face masks x50", 5000), ("Cement 50kg", 12000),
                 ("Phone charger USB-C", 8000), ("Exercise book 96p", 400), ("Cooking oil 3L", 6000))


@dataclass(frozen=True)
class WorldParams:
    """Every knob of the simulated world; ``--params FILE`` overrides any of them by name."""

    requests_per_client_hour: float = 0.25
    share_prescription: float = 0.10
    share_invoice: float = 0.05
    vague_need_rate: float = 0.10  # the need names no place: the concierge must ask
    client_answer_prob: float = 0.9
    client_answer_delay_s: tuple[int, int] = (20, 120)
    client_cancel_rate: float = 0.02
    language_weights: tuple[float, float, float] = (0.45, 0.20, 0.35)
    degrade_weights: tuple[float, float, float, float] = (0.30, 0.40, 0.25, 0.05)
    redelivery_rate: float = 0.03  # Meta delivers a webhook again
    # vendor behaviour, drawn per vendor
    reply_prob: tuple[float, float] = (0.55, 0.95)
    reply_median_min: tuple[float, float] = (0.5, 5.0)
    reply_sigma: float = 0.6
    stock_prob: tuple[float, float] = (0.5, 0.9)
    price_spread: tuple[float, float] = (0.8, 1.3)
    busy_rate: float = 0.03
    stop_rate: float = 0.003
    vague_rate: float = 0.08
    injection_rate: float = 0.01
    # brain (simulated Moltbot)
    brain_invalid_rate: float = 0.02
    brain_latency_median_s: float = 3.0
    brain_latency_sigma: float = 0.5
    brain_timeout_s: float = 30.0
    # a greedier Moltbot: asks for bigger batches / more vendors than the rules do (caps must hold)
    brain_batch_size: int | None = None
    brain_max_vendors: int | None = None
    # calls (Phase 3: calling on). An urgent need arms the concierge's call trigger (no vendor reply
    # within 3 minutes -> ask the client's consent); the client grants it at consent_yes_prob.
    urgent_rate: float = 0.05
    consent_yes_prob: float = 0.7
    call_failure_rate: float = 0.1  # the call is placed but never connects (no answer / busy)
    call_minutes_median: float = 2.0
    # chaos: the concierge's process dies inside this share of its sends and restarts (0 = never)
    crash_per_send: float = 0.0

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any]) -> WorldParams:
        if not isinstance(overrides, dict):
            raise ValueError(f"expected a mapping of world parameters, got {type(overrides).__name__}")
        names = {f.name: f for f in fields(cls)}
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise ValueError(f"unknown world parameter(s): {', '.join(unknown)}")
        base = cls()
        clean = {k: _checked(k, getattr(base, k), v) for k, v in overrides.items()}
        return replace(base, **clean)


# Parameters drawn as a [low, high] range (low <= high), and those that are shares of something (0..1).
_RANGES = ("client_answer_delay_s", "reply_prob", "reply_median_min", "stock_prob", "price_spread")
_SHARES = ("reply_prob", "stock_prob", "crash_per_send")
_OPTIONAL_INTS = ("brain_batch_size", "brain_max_vendors")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _checked(name: str, default: Any, value: Any) -> Any:
    """One override, in the shape of its default, or ``ValueError`` naming the parameter: a wrong
    shape would otherwise surface as a traceback deep inside a run (or, worse, as odd numbers)."""
    share = name.endswith(("_prob", "_rate")) or name.startswith("share_") or name in _SHARES
    if name in _OPTIONAL_INTS:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError(f"{name}: expected a whole number >= 1 or null, got {value!r}")
    if isinstance(default, tuple):
        n = len(default)
        shape = "a [low, high] pair" if name in _RANGES else f"a list of {n} weights"
        if not isinstance(value, (list, tuple)) or len(value) != n or not all(_number(v) for v in value):
            raise ValueError(f"{name}: expected {shape} of numbers, got {value!r}")
        if any(v < 0 for v in value) or (share and any(v > 1 for v in value)):
            raise ValueError(f"{name}: expected numbers in {'0..1' if share else '>= 0'}, got {value!r}")
        if name in _RANGES and value[0] > value[1]:
            raise ValueError(f"{name}: low {value[0]} is above high {value[1]}")
        if name not in _RANGES and not sum(value) > 0:
            raise ValueError(f"{name}: the weights add up to 0")
        if isinstance(default[0], int) and not all(float(v).is_integer() for v in value):
            raise ValueError(f"{name}: expected whole numbers, got {value!r}")
        return tuple(int(v) if isinstance(d, int) else v for v, d in zip(value, default, strict=True))
    if not _number(value) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    if share and value > 1:
        raise ValueError(f"{name}: expected a share between 0 and 1, got {value!r}")
    return value


@dataclass(frozen=True)
class VendorBehaviour:
    reply_prob: float
    reply_median_s: float
    reply_sigma: float
    stock_prob: float
    price_factor: float
    busy_rate: float
    stop_rate: float
    vague_rate: float
    injection_rate: float


@dataclass(frozen=True)
class SimVendor:
    vendor: Vendor
    behaviour: VendorBehaviour


@dataclass(frozen=True, slots=True)  # one per client: 100,000s in a long run
class Client:
    index: int
    name: str
    phone: str
    language: str
    area: str


@dataclass(frozen=True, slots=True)  # one per need: 100,000s in a long run
class PlannedRequest:
    """One need a client will send at ``at_s`` seconds into the run."""

    client: int
    at_s: int
    kind: str  # text | prescription | invoice
    category: str
    text: str  # the need in words (what the client types, or answers after an image)
    spec: dict[str, Any] | None = None  # render spec for images
    truth: dict[str, Any] | None = None
    cancel_after_s: int | None = None
    urgent: bool = False


@dataclass
class Population:
    clients: list[Client]
    vendors: list[SimVendor]
    requests: list[PlannedRequest] = field(default_factory=list)


def _phone(rng: random.Random, taken: set[str], prefixes: tuple[str, ...]) -> str:
    while True:
        prefix = rng.choice(prefixes)
        rest = 9 - len(prefix)  # a Rwandan mobile number has 9 national digits
        phone = f"+250{prefix}{rng.randrange(10**rest):0{rest}d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def _weighted(rng: random.Random, options: dict[str, float]) -> str:
    return rng.choices(list(options), weights=list(options.values()))[0]


def build_vendors(seed: int, count: int, params: WorldParams, taken: set[str]) -> list[SimVendor]:
    rng = random.Random(f"vendors:{seed}")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    cats = list(CATEGORY_WEIGHTS)
    out = []
    for i in range(count):
        # Every category is served once the directory is big enough; then by demand.
        category = cats[i] if i < len(cats) else _weighted(rng, CATEGORY_WEIGHTS)
        area = rng.choice(PLACES)
        name = f"{rng.choice([fake.last_name(), rng.choice(RW_SURNAMES), area])} {VENDOR_WORD[category]}"
        median_min = rng.uniform(*params.reply_median_min)
        vendor = Vendor(
            id=f"v{i:04d}", name=name, phone=_phone(rng, taken, ("788", "789", "728", "738")),
            categories=(category,), area=area,
            lat=None, lng=None, rating=round(rng.uniform(3.0, 5.0), 1),
            avg_response_minutes=round(median_min, 1), language=rng.choice(LANGUAGES),
        )
        place = lookup_place(area)
        if place is not None:
            vendor = replace(vendor, lat=place.lat, lng=place.lng)
        behaviour = VendorBehaviour(
            reply_prob=rng.uniform(*params.reply_prob), reply_median_s=median_min * 60.0,
            reply_sigma=params.reply_sigma, stock_prob=rng.uniform(*params.stock_prob),
            price_factor=rng.uniform(*params.price_spread), busy_rate=params.busy_rate,
            stop_rate=params.stop_rate, vague_rate=params.vague_rate,
            injection_rate=params.injection_rate,
        )
        out.append(SimVendor(vendor, behaviour))
    return out


def build_clients(seed: int, count: int, params: WorldParams, taken: set[str],
                  pinned: tuple[str, ...] = ()) -> list[Client]:
    """``pinned`` phones (the allowlisted internal testers) are the first clients."""
    rng = random.Random(f"clients:{seed}")
    fake = Faker(["en_US", "fr_FR"])
    fake.seed_instance(seed)
    out = []
    for i in range(count):
        phone = pinned[i] if i < len(pinned) else _phone(rng, taken, ("78", "79", "72", "73"))
        language = rng.choices(LANGUAGES, weights=params.language_weights)[0]
        out.append(Client(i, f"{fake.first_name()} {rng.choice(RW_SURNAMES)}", phone, language,
                          rng.choice(PLACES)))
    return out


def _need_text(rng: random.Random, client: Client, item: tuple[str, str, str, int], *,
               vague: bool) -> str:
    lang = client.language
    phrase = item[LANGUAGES.index(lang)]
    if vague:
        return VAGUE_TEMPLATES[lang].format(item=phrase)
    template = rng.choice(NEED_TEMPLATES[lang])
    return template.format(item=phrase, place=client.area, budget=f"{int(item[3] * 1.2):,}")


def plan_requests(seed: int, clients: list[Client], hours: float, params: WorldParams) -> list[PlannedRequest]:
    rng = random.Random(f"requests:{seed}")
    horizon = hours * 3600.0
    out: list[PlannedRequest] = []
    for client in clients:
        rate = params.requests_per_client_hour / 3600.0
        t = rng.expovariate(rate) if rate > 0 else math.inf
        while t < horizon:
            planned = _one_request(rng, client, int(t), params)
            # Its own stream: adding urgency must not move any other draw of an existing world.
            if planned.kind == "text" and random.Random(f"urgent:{seed}:{client.index}:{int(t)}").random() \
                    < params.urgent_rate:
                planned = replace(planned, text=f"{planned.text} {URGENT_PHRASE[client.language]}",
                                  urgent=True)
            out.append(planned)
            t += rng.expovariate(rate)
    out.sort(key=lambda r: (r.at_s, r.client))
    return out


def _one_request(rng: random.Random, client: Client, at_s: int, params: WorldParams) -> PlannedRequest:
    roll = rng.random()
    level = rng.choices(("clean", "mild", "moderate", "severe"), weights=params.degrade_weights)[0]
    cancel = rng.randint(60, 480) if rng.random() < params.client_cancel_rate else None
    if roll < params.share_prescription:
        drugs = rng.sample(DRUGS, rng.randint(1, 2))
        items = [{"drug": d, "dose": dose, "form": form, "quantity": q} for d, dose, form, q in drugs]
        text = "; ".join(f"{d} {dose} {form} x{q}" for d, dose, form, q in drugs) + f" near {client.area}"
        spec = {"render": "prescription", "items": items, "degrade": level, "seed": rng.randrange(10**6)}
        return PlannedRequest(client.index, at_s, "prescription", "pharmacy", text, spec,
                              {"kind": "prescription", "items": items}, cancel)
    if roll < params.share_prescription + params.share_invoice:
        picked = rng.sample(INVOICE_ITEMS, 2)
        items = [{"name": n, "quantity": rng.randint(1, 3), "price": p} for n, p in picked]
        total = sum(i["quantity"] * i["price"] for i in items)
        text = f"I need {picked[0][0]} near {client.area}"
        spec = {"render": "invoice", "items": items, "degrade": level, "seed": rng.randrange(10**6)}
        return PlannedRequest(client.index, at_s, "invoice", "pharmacy", text, spec,
                              {"kind": "invoice", "total": total}, cancel)
    category = _weighted(rng, CATEGORY_WEIGHTS)
    item = rng.choice(ITEMS[category])
    text = _need_text(rng, client, item, vague=rng.random() < params.vague_need_rate)
    return PlannedRequest(client.index, at_s, "text", category, text, None, None, cancel)


def build_population(seed: int, clients: int, vendors: int, hours: float, params: WorldParams,
                     pinned: tuple[str, ...] = ()) -> Population:
    taken: set[str] = set(pinned)
    sim_vendors = build_vendors(seed, vendors, params, taken)
    people = build_clients(seed, clients, params, taken, pinned)
    return Population(people, sim_vendors, plan_requests(seed, people, hours, params))


def typical_price(category: str, need_text: str) -> int:
    """The price a vendor quotes around: the matching item's, else the category's first."""
    folded = need_text.lower()
    for item in ITEMS.get(category, []):
        if any(part.lower() in folded for part in item[:3]):
            return item[3]
    return ITEMS.get(category, [("", "", "", 5000)])[0][3]
