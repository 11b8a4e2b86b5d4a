"""The API documentation pages under the strict CSP.

Swagger UI: drf-spectacular's split view serves its init script as a separate same-origin
JavaScript response (``?script``) instead of an inline ``<script>``; our template drops the inline
``<style>`` (moved to a static file). ReDoc renders its styles with styled-components, which inserts
``<style>`` elements at run time: that one page gets ``style-src 'unsafe-inline'`` (scripts stay
``'self'`` only), ``worker-src blob:`` (its search worker) and ``img-src https://cdn.redoc.ly`` (the
Redocly badge); its Google Fonts links are dropped.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


class SwaggerDocsView(SpectacularSwaggerSplitView):
    template_name = "security/swagger_ui.html"


class RedocDocsView(SpectacularRedocView):
    template_name = "security/redoc.html"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {
            "style-src": ["'unsafe-inline'"],
            "worker-src": ["blob:"],
            # The "API docs by Redocly" badge in the sidebar is an <img> from their CDN.
            "img-src": ["https://cdn.redoc.ly"],
        }
        return response
