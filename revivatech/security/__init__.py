"""Security hardening of the whole site: headers and Content-Security-Policy, login lockout,
rate limits (429 + Retry-After), PII masking in logs, the CSP report endpoint.

An app (``revivatech.security`` in INSTALLED_APPS) so it can ship its templates and register its
personal-data provider (login-attempt records) with :mod:`revivatech.privacy`.
"""
