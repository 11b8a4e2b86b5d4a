"""Customer-facing pages (stub: being written)."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


home = book = track = track_quote_decision = receipt = tracked_photo = photo = account_repairs = _todo
