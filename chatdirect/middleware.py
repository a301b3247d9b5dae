"""Static files through WhiteNoise without putting every request into sync mode under ASGI.

WhiteNoise's middleware is sync-only. At the top of the chain it makes Django run the whole chain,
async views included, inside a thread per request: a chat waiting 10 s on a provider would hold a
thread for 10 s. This wrapper is async-capable, hands only static paths to WhiteNoise (in a worker
thread), and awaits everything else directly.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.whitenoise = WhiteNoiseMiddleware(get_response)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self._acall(request)
        return self.whitenoise(request)

    async def _acall(self, request):
        if not request.path_info.startswith(self.whitenoise.static_prefix):
            return await self.get_response(request)
        response = await sync_to_async(self.whitenoise, thread_sensitive=False)(request)
        # A path under /static/ that WhiteNoise does not know falls through to Django: WhiteNoise
        # then returned our (async) get_response's coroutine, which is awaited here.
        if asyncio.iscoroutine(response):
            response = await response
        return response
