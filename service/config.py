"""The service's configuration, read from the environment under the rollout runbook's names.

Secrets have no defaults: a service that cannot verify Meta's signatures or authenticate its
sends must not start. Flags default off (``concierge.flags``: anything missing is false).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from concierge.flags import Flags

API_URL = "WHATSAPP_API_URL"
ACCESS_TOKEN = "WHATSAPP_ACCESS_TOKEN"
APP_SECRET = "WHATSAPP_APP_SECRET"
VERIFY_TOKEN = "WHATSAPP_VERIFY_TOKEN"
PHONE_NUMBER_ID = "WHATSAPP_PHONE_NUMBER_ID"
SEND_TIMEOUT = "WHATSAPP_SEND_TIMEOUT_S"

# In the order they are checked, with what each is for (the start-up error says it).
REQUIRED = (
    (API_URL, "the Graph API base URL, e.g. https://graph.facebook.com"),
    (ACCESS_TOKEN, "the bearer token for Graph API sends"),
    (APP_SECRET, "the app secret that signs Meta's webhooks (X-Hub-Signature-256)"),
    (VERIFY_TOKEN, "the token Meta's subscription handshake must present"),
    (PHONE_NUMBER_ID, "the business phone number id that sends"),
)


class ConfigError(ValueError):
    """A setting is missing or unusable; the message names it."""


@dataclass(frozen=True)
class ServiceConfig:
    api_url: str
    access_token: str
    app_secret: str
    verify_token: str
    phone_number_id: str
    flags: Flags
    db_path: str
    vendors_path: str
    time_scale: float = 1.0
    time_origin: float | None = None
    send_timeout_s: float = 10.0  # WHATSAPP_SEND_TIMEOUT_S: how long a Graph API answer may take

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, db_path: str, vendors_path: str,
                 time_scale: float = 1.0, time_origin: float | None = None) -> ServiceConfig:
        values = {}
        for name, purpose in REQUIRED:
            value = (env.get(name) or "").strip()
            if not value:
                raise ConfigError(f"missing environment variable {name} ({purpose})")
            values[name] = value
        if not values[API_URL].startswith(("http://", "https://")):
            raise ConfigError(f"{API_URL}={values[API_URL]!r} is not an http(s) URL")
        if not time_scale > 0:
            raise ConfigError(f"--time-scale must be > 0, got {time_scale}")
        raw_timeout = (env.get(SEND_TIMEOUT) or "10").strip()
        try:
            send_timeout_s = float(raw_timeout)
        except ValueError:
            send_timeout_s = -1.0
        if not 0 < send_timeout_s <= 120:
            raise ConfigError(f"{SEND_TIMEOUT}={raw_timeout!r}: expected seconds, more than 0 and at most 120")
        return cls(
            api_url=values[API_URL].rstrip("/"), access_token=values[ACCESS_TOKEN],
            app_secret=values[APP_SECRET], verify_token=values[VERIFY_TOKEN],
            phone_number_id=values[PHONE_NUMBER_ID], flags=Flags.from_mapping(env),
            db_path=db_path, vendors_path=vendors_path, time_scale=time_scale, time_origin=time_origin,
            send_timeout_s=send_timeout_s,
        )
