"""The emulator's settings: one frozen record, read from flags with environment fallbacks."""

from __future__ import annotations

from dataclasses import dataclass

# Meta retries a failed webhook "with decreasing frequency" for up to 7 days. The default here is a
# doubling schedule over about 17 minutes: long enough to ride out a restart, short enough for a dev box.
DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
STATUS_KINDS = ("sent", "delivered", "read")
ENV_NAMES = {  # the same names the concierge service reads (docs/service.md)
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
}


class ConfigInvalid(ValueError):
    """A setting that cannot work; the message names the flag."""


@dataclass(frozen=True)
class EmulatorConfig:
    app_secret: str
    verify_token: str
    access_token: str = "EAAG-emulator-token"
    phone_number_id: str = "106540352242922"
    display_phone: str = "+250788999000"
    waba_id: str = "102290129340398"
    webhook_url: str | None = None
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    delivery_timeout_s: float = 10.0
    concurrency: int = 16  # webhooks in flight at once (one at a time per phone)
    statuses: tuple[str, ...] = STATUS_KINDS  # which status webhooks the emulator sends on its own
    timeout_hang_s: float = 30.0  # how long a send or download hit by a timeout fault hangs
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.app_secret:
            raise ConfigInvalid("--app-secret (or WHATSAPP_APP_SECRET) is required: webhooks are signed with it")
        if not self.verify_token:
            raise ConfigInvalid("--verify-token (or WHATSAPP_VERIFY_TOKEN) is required for the handshake")
        if not self.access_token:
            raise ConfigInvalid("--access-token must not be empty: every Graph API call is checked against it")
        if self.webhook_url is not None and not self.webhook_url.startswith(("http://", "https://")):
            raise ConfigInvalid(f"--webhook-url must be an http(s) URL, got {self.webhook_url!r}")
        if any(s < 0 for s in self.retry_schedule):
            raise ConfigInvalid("--retry-schedule: waits must be >= 0 seconds")
        if not self.delivery_timeout_s > 0:
            raise ConfigInvalid("--delivery-timeout must be > 0 seconds")
        if self.concurrency < 1:
            raise ConfigInvalid("--concurrency must be >= 1")
        unknown = [s for s in self.statuses if s not in STATUS_KINDS]
        if unknown:
            raise ConfigInvalid(f"--statuses: unknown status {unknown[0]!r} (expected some of {', '.join(STATUS_KINDS)})")


def parse_seconds_list(text: str, flag: str) -> tuple[float, ...]:
    """``"0.05,0.1,0.2"`` -> (0.05, 0.1, 0.2); an empty string means no retries at all."""
    if not text.strip():
        return ()
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConfigInvalid(f"{flag}: expected comma-separated seconds like 1,2,4, got {text!r}") from None


def parse_statuses(text: str) -> tuple[str, ...]:
    if text.strip().lower() == "none":
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())
