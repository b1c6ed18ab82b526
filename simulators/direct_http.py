"""An ``httpx.Client`` that hands each request straight to its transport.

The simulated world's Graph API sends are built by httpx exactly as before (the same
``httpx.Request``: method, URL, headers, JSON body bytes) and answered by the fake's handler with a
real ``httpx.Response``; what is left out is the per-request client machinery a fake in the same
process never exercises: the auth flow (the token travels as a header), redirects (the fake never
redirects), the cookie jar (it sets none), event hooks and the request log line. On the rollout's
~6 sends a request that machinery was about a tenth of a run (``docs/performance.md``).

Building the request was most of what was left (httpx merges the client's URL, headers, cookies and
query parameters into new objects on every call, then derives the content headers): a JSON request
to an absolute URL, with no cookies, parameters or options, gets its headers from a copy of what
httpx itself built for the same client and call headers, only the body's length differing. The body
is encoded as httpx encodes JSON (``httpx_json``, checked against httpx once a process); anything
else goes through httpx's builder.
"""

from __future__ import annotations

from typing import Any

import httpx

from . import httpx_json

# Headers httpx derives from the body or the URL: a caller who sets one takes httpx's builder.
_DERIVED = frozenset({"content-length", "transfer-encoding", "host"})
_MAX_KEPT = 4096  # header lists kept per client (one per body length and call headers)


class DirectClient(httpx.Client):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # (client headers, call headers, method, scheme+host) -> the headers httpx builds, as a raw
        # list; and with the body length of each send -> those headers with that Content-Length
        self._templates: dict[tuple, list[tuple[bytes, bytes]]] = {}
        self._built_headers: dict[tuple, httpx.Headers] = {}
        self._netloc: tuple[httpx.URL, bytes] | None = None  # the last URL's (an URL is immutable)

    def send(self, request: httpx.Request, **_: Any) -> httpx.Response:
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = self._transport.handle_request(request)
        response.request = request
        response.read()
        return response

    def build_request(
        self, method: str, url: httpx.URL | str, *, content: Any = None, data: Any = None, files: Any = None,
        json: Any = None, params: Any = None, headers: Any = None, cookies: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT, extensions: Any = None,
    ) -> httpx.Request:
        if (json is None or content is not None or data is not None or files is not None or params is not None
                or cookies is not None or extensions is not None or timeout is not httpx.USE_CLIENT_DEFAULT
                or type(url) is not httpx.URL or url.is_relative_url or self.params or _has_cookies(self.cookies)
                or not (headers is None or type(headers) is dict)
                or (headers and any(str(k).lower() in _DERIVED for k in headers))
                or not httpx_json.encodes_as_httpx()):
            return super().build_request(method, url, content=content, data=data, files=files, json=json,
                                         params=params, headers=headers, cookies=cookies, timeout=timeout,
                                         extensions=extensions)
        body = httpx_json.encode(json)
        request = httpx.Request(method, url, headers=self._headers_for(method, url, headers, len(body)),
                                stream=httpx.ByteStream(body), extensions={"timeout": self.timeout.as_dict()})
        request._content = body  # loaded, as httpx's read() leaves a request built with its content
        return request

    def _headers_for(self, method: str, url: httpx.URL, headers: dict | None, length: int) -> httpx.Headers:
        """The headers httpx builds for these client and call headers and a body of ``length`` bytes
        (a Request copies the Headers it is given, so one object serves every send of that length)."""
        if self._netloc is None or self._netloc[0] is not url:
            self._netloc = (url, url.netloc)
        key = (tuple(self.headers.raw), tuple(headers.items()) if headers else (), method, url.scheme,
               self._netloc[1], length)
        found = self._built_headers.get(key)
        if found is None:
            if len(self._built_headers) >= _MAX_KEPT:
                self._built_headers.clear()
                self._templates.clear()
            template = self._templates.get(key[:-1])
            if template is None:
                template = super().build_request(method, url, json={}, headers=headers).headers.raw
                self._templates[key[:-1]] = template
            size = str(length).encode("ascii")
            found = httpx.Headers([(k, size if k.lower() == b"content-length" else v) for k, v in template])
            self._built_headers[key] = found
        return found


def _has_cookies(cookies: httpx.Cookies) -> bool:
    """``bool(cookies)`` without walking the jar: an empty jar holds no domain at all (a jar whose
    cookies were all cleared may keep empty domains: then httpx's builder is used, as with cookies).
    A jar without the standard library's table is walked."""
    domains = getattr(cookies.jar, "_cookies", None)
    return bool(cookies) if not isinstance(domains, dict) else bool(domains)
