"""Makes the request being served available to analytics' domain-event subscribers.

``ticket.booked`` is published after commit inside the booking request's thread; the subscriber
reads the request from a context variable to link the booking browser (its anonymous visitor key
and, with consent, its device) to the ticket's customer. Nothing is computed unless it is needed.
Sync and async capable (no thread hop under ASGI); place after ``AuthenticationMiddleware``.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from .services.identity import reset_current_request, set_current_request


class AnalyticsRequestMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        token = set_current_request(request)
        try:
            return self.get_response(request)
        finally:
            reset_current_request(token)

    async def __acall__(self, request):
        token = set_current_request(request)
        try:
            return await self.get_response(request)
        finally:
            reset_current_request(token)
