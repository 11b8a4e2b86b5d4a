"""Loopback fakes of the outside providers, one module each, shared by tests and benchmarks.

Each fake is a small HTTP server on 127.0.0.1 that answers in the provider's wire format, so the
real SDK is exercised end to end; scripted failures (429, 5xx, declines) and a log of what it
received let tests assert behaviour.
"""
