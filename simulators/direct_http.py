"""An ``httpx.Client`` that hands each request straight to its transport.

The simulated world's Graph API sends are built by httpx exactly as before (the same
``httpx.Request``: method, URL, headers, JSON body bytes) and answered by the fake's handler with a
real ``httpx.Response``; what is left out is the per-request client machinery a fake in the same
process never exercises: the auth flow (the token travels as a header), redirects (the fake never
redirects), the cookie jar (it sets none), event hooks and the request log line. On the rollout's
~6 sends a request that machinery was about a tenth of a run (``docs/performance.md``).
"""

from __future__ import annotations

from typing import Any

import httpx


class DirectClient(httpx.Client):
    def send(self, request: httpx.Request, **_: Any) -> httpx.Response:
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        response = self._transport.handle_request(request)
        response.request = request
        response.read()
        return response
