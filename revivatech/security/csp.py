"""Per-view Content-Security-Policy changes, each as narrow as the page needs.

The site-wide policy lives in ``settings.CONTENT_SECURITY_POLICY`` (django-csp); these decorators
attach an update or a replacement to one view's response, computed when the response is made (so a
test that changes ``STRIPE_JS_URL`` gets a matching policy).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

STRIPE_ORIGINS = ("https://js.stripe.com", "https://hooks.stripe.com")
STRIPE_API_ORIGIN = "https://api.stripe.com"
#: Where the PayPal button's form post is redirected to (buyer approval).
PAYPAL_APPROVAL_ORIGINS = ("https://www.paypal.com", "https://www.sandbox.paypal.com")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def pay_page_policy() -> dict[str, list[str]]:
    """Stripe.js and its iframes (card form, 3-D Secure), and the redirect to PayPal's approval page
    (Chromium checks ``form-action`` on the redirect after a form post)."""
    stripe_js = _origin(settings.STRIPE_JS_URL) or STRIPE_ORIGINS[0]
    scripts = sorted({stripe_js, STRIPE_ORIGINS[0]})
    return {
        "script-src": scripts,
        "frame-src": sorted({stripe_js, *STRIPE_ORIGINS}),
        "connect-src": [STRIPE_API_ORIGIN],
        "form-action": list(PAYPAL_APPROVAL_ORIGINS),
    }


def _decorate(attribute: str, policy: Callable[[], dict[str, Any]]) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            response = view(*args, **kwargs)
            setattr(response, attribute, policy())
            return response

        return wrapped

    return decorator


def csp_update_with(policy: Callable[[], dict[str, Any]]) -> Callable:
    """Like django-csp's ``csp_update`` but with the policy computed per response."""
    return _decorate("_csp_update", policy)


#: The pay page: Stripe.js, its frames and API, the PayPal approval redirect.
pay_page_csp = csp_update_with(pay_page_policy)
