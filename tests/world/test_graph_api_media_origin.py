"""The access token goes with a media download only over https, or over plain http to the very
origin the sends already go to (the Cloud API emulator on loopback): never to another address."""

from __future__ import annotations

import httpx
import pytest

from concierge.errors import MediaUnavailable
from simulators.adapters.graph_api import GraphApiTransport

IMAGE = b"\x89PNG fake bytes"


def _transport(base: str, media_url: str) -> tuple[GraphApiTransport, list[str]]:
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if request.url.path.endswith("/m1"):
            return httpx.Response(200, json={"url": media_url, "file_size": len(IMAGE)})
        return httpx.Response(200, content=IMAGE)

    client = httpx.Client(base_url=base, transport=httpx.MockTransport(handler))
    return GraphApiTransport(client, phone_number_id="1", access_token="t"), fetched


def test_http_media_on_the_api_origin_is_fetched():
    transport, fetched = _transport("http://127.0.0.1:8081", "http://127.0.0.1:8081/whatsapp_business/attachments/?mid=m1")
    assert transport.download_media("m1") == IMAGE
    assert fetched[-1].startswith("http://127.0.0.1:8081/whatsapp_business/")


@pytest.mark.parametrize("media_url", [
    "http://127.0.0.1:9999/attachments/?mid=m1",   # another port
    "http://evil.example/attachments/?mid=m1",     # another host
    "ftp://127.0.0.1:8081/m1",                     # another scheme
])
def test_plain_http_elsewhere_is_refused_before_the_token_travels(media_url):
    transport, fetched = _transport("http://127.0.0.1:8081", media_url)
    with pytest.raises(MediaUnavailable, match="not https"):
        transport.download_media("m1")
    assert len(fetched) == 1  # only the media object was asked for


def test_an_https_api_still_refuses_http_media_on_its_own_host():
    transport, _ = _transport("https://graph.facebook.com", "http://graph.facebook.com/m1")
    with pytest.raises(MediaUnavailable):
        transport.download_media("m1")
