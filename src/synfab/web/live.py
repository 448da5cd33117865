"""`GET /api/v1/live`: the Server-Sent Events stream of a signed-in person's pages.

Each message is filtered for the person by their grants (`accepts_for`: the object type's view permission over the
record's place, through the same restriction that scopes their queries) and, when addressed, by role or name. The
stream is a plain Starlette route: it never ends by itself, so the generated route sweeps leave it to its own tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from synfab.core.i18n import current_locale
from synfab.core.live import LiveMessage
from synfab.people.service import Principal
from synfab.web.deps import _not_signed_in, current_principal

KEEP_ALIVE_S = 15.0


def accepts_for(principal: Principal) -> Callable[[LiveMessage], bool]:
    """Whether a message may reach this person."""
    def accepts(message: LiveMessage) -> bool:
        if (message.roles or message.usernames) and principal.username not in message.usernames \
                and not (principal.roles & message.roles):
            return False
        if not principal.can(f"{message.object_type}.view"):
            return False
        restriction = principal.restriction
        if restriction is None:
            return True
        if message.path is None:
            return restriction.nodes(message.object_type, "view") is None
        return restriction.allows_node(message.object_type, "view", message.path)
    return accepts


def frame(message: LiveMessage, locale: str) -> str:
    data = json.dumps(message.as_json(locale), ensure_ascii=False)
    return f"id: {message.event_id}\nevent: {message.topic}\ndata: {data}\n\n"


async def live_stream(request: Request) -> Response:
    principal = current_principal(request)
    if principal is None:
        raise _not_signed_in(request)
    hub = request.app.state.db.live
    locale = current_locale()
    subscriber = hub.subscribe(accepts_for(principal))

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: connected\n\n"
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(subscriber.queue.get(), timeout=KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield frame(message, locale)
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
