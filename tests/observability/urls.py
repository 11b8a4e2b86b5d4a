"""The project's URLs plus two test-only views: one that raises, one that queues a task."""

from django.http import JsonResponse
from django.urls import include, path

from revivatech.observability.context import current_request_id

from . import tasks


class DeliberateError(RuntimeError):
    pass


def boom(request):
    raise DeliberateError("deliberate failure for the Sentry test")


def enqueue(request):
    result = tasks.log_context.apply_async(args=[request.GET.get("note", "")], queue=tasks.QUEUE)
    return JsonResponse({"task_id": result.id, "request_id": current_request_id()})


urlpatterns = [
    path("obs-test/boom/", boom, name="obs-test-boom"),
    path("obs-test/enqueue/", enqueue, name="obs-test-enqueue"),
    path("", include("revivatech.urls")),
]
