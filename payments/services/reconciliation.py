"""Reconciliation: compare our payments with the providers' records and report every mismatch.

* **missing locally**: the provider took money (a PaymentIntent / capture) that matches none of
  our payments. Unpaid intents nobody used are not reported.
* **missing remotely**: a payment we hold a provider id for, that the provider does not know.
* **status differs**: one side says money was taken (or refunded, or disputed) and the other does
  not. ``created``/``processing``/``failed``/``canceled`` all count as "not paid".
* **amount differs**: both agree money was taken, but not how much (received or refunded).

Reports only: nothing is changed. A payment the provider's list does not show is looked up on
its own before it is called missing (lists can lag, e.g. PayPal's by up to three hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from revivatech.roles import acting_user

from ..lifecycle import PaymentStatus, Provider
from ..models import MismatchKind, Payment, ReconciliationIssue, ReconciliationRun
from ..providers import paypal_gateway, stripe_gateway
from ..providers.base import NotFoundAtProvider, ProviderError, RemotePayment

_UNPAID = frozenset(
    {PaymentStatus.CREATED, PaymentStatus.PROCESSING, PaymentStatus.FAILED, PaymentStatus.CANCELED}
)


def _money_class(status: str) -> str:
    return "unpaid" if status in _UNPAID else status


@dataclass
class _Issue:
    kind: str
    key: str
    detail: str
    payment: Payment | None = None
    remote: RemotePayment | None = None


def _compare(local: Payment, remote: RemotePayment, *, refunds_known: bool = True) -> list[_Issue]:
    key = remote.payment_id or remote.charge_id
    if local.status == PaymentStatus.NEEDS_REVIEW:
        # Already flagged for staff; only a difference in money received is news.
        if remote.amount_received is not None and remote.amount_received != local.amount_received:
            return [_Issue(MismatchKind.AMOUNT_DIFFERS, key, "received amounts differ", local, remote)]
        return []
    local_class, remote_class = _money_class(local.status), _money_class(remote.status)
    if local_class != remote_class:
        detail = f"ours: {local.get_status_display().lower()}, provider: {remote.status}"
        return [_Issue(MismatchKind.STATUS_DIFFERS, key, detail, local, remote)]
    if local_class == "unpaid":
        return []
    issues = []
    local_received = local.amount_received if local.amount_received is not None else local.amount
    if remote.amount_received is not None and remote.amount_received != local_received:
        detail = f"received: ours {local_received}, provider {remote.amount_received} ({remote.currency})"
        issues.append(_Issue(MismatchKind.AMOUNT_DIFFERS, key, detail, local, remote))
    elif remote.currency and remote.currency != local.currency:
        detail = f"currency: ours {local.currency}, provider {remote.currency}"
        issues.append(_Issue(MismatchKind.AMOUNT_DIFFERS, key, detail, local, remote))
    elif refunds_known and remote.amount_refunded != local.amount_refunded:
        detail = (
            f"refunded: ours {local.amount_refunded}, provider {remote.amount_refunded} ({remote.currency})"
        )
        issues.append(_Issue(MismatchKind.AMOUNT_DIFFERS, key, detail, local, remote))
    return issues


def _missing_locally(remote: RemotePayment) -> list[_Issue]:
    if _money_class(remote.status) == "unpaid":
        return []
    key = remote.payment_id or remote.charge_id
    detail = (
        f"{remote.status} {remote.amount_received or remote.amount} {remote.currency} with no payment of ours"
    )
    return [_Issue(MismatchKind.MISSING_LOCALLY, key, detail, None, remote)]


def _reconcile_stripe(since: datetime, until: datetime) -> tuple[list[_Issue], int, int]:
    client = stripe_gateway()
    if client is None:
        raise ProviderError("Stripe is not configured.")
    remotes = client.list_payments(since, until)
    by_id = {
        p.provider_payment_id: p
        for p in Payment.objects.filter(
            provider=Provider.STRIPE, provider_payment_id__in=[r.payment_id for r in remotes]
        )
    }
    issues: list[_Issue] = []
    for remote in remotes:
        local = by_id.get(remote.payment_id)
        issues += _compare(local, remote) if local else _missing_locally(remote)
    seen = {r.payment_id for r in remotes}
    locals_in_window = Payment.objects.filter(
        provider=Provider.STRIPE,
        created_at__gte=since,
        created_at__lt=until,
        provider_payment_id__isnull=False,
    ).exclude(provider_payment_id__in=seen)
    checked = len(by_id)
    for local in locals_in_window:
        checked += 1
        try:
            remote = client.retrieve_with_charge(local.provider_payment_id)
        except NotFoundAtProvider:
            issues.append(
                _Issue(
                    MismatchKind.MISSING_REMOTELY, local.provider_payment_id, "Stripe does not know it", local
                )
            )
            continue
        issues += _compare(local, remote)
    return issues, checked, len(remotes)


def _reconcile_paypal(since: datetime, until: datetime) -> tuple[list[_Issue], int, int]:
    client = paypal_gateway()
    if client is None:
        raise ProviderError("PayPal is not configured.")
    remotes = client.list_captures(since, until)
    candidates = Payment.objects.filter(provider=Provider.PAYPAL).filter(
        Q(provider_charge_id__in=[r.charge_id for r in remotes])
        | Q(public_id__in=[r.reference for r in remotes])
    )
    by_charge = {p.provider_charge_id: p for p in candidates if p.provider_charge_id}
    by_reference = {p.public_id: p for p in candidates}
    issues: list[_Issue] = []
    matched: set[int] = set()
    for remote in remotes:
        local = by_charge.get(remote.charge_id) or by_reference.get(remote.reference)
        if local is not None and local.provider_charge_id not in ("", remote.charge_id):
            local = None  # the reference names a payment settled by another capture
        if local is None:
            issues += _missing_locally(remote)
            continue
        matched.add(local.pk)
        issues += _compare(local, remote)
    locals_in_window = (
        Payment.objects.filter(provider=Provider.PAYPAL, created_at__gte=since, created_at__lt=until)
        .exclude(pk__in=matched)
        .exclude(provider_payment_id__isnull=True)
    )
    checked = len(matched)
    for local in locals_in_window:
        checked += 1
        try:
            if local.provider_charge_id:
                remote = client.get_capture(local.provider_charge_id)
            elif local.status in _UNPAID:
                continue  # an order nobody paid: nothing was captured to compare with
            else:
                remote = client.get_order(local.provider_payment_id)
        except NotFoundAtProvider:
            key = local.provider_charge_id or local.provider_payment_id or ""
            issues.append(_Issue(MismatchKind.MISSING_REMOTELY, key, "PayPal does not know it", local))
            continue
        # A single capture or order read does not carry refund totals: compare status and amount.
        issues += _compare(local, remote, refunds_known=False)
    return issues, checked, len(remotes)


_RECONCILERS = {Provider.STRIPE: _reconcile_stripe, Provider.PAYPAL: _reconcile_paypal}


def configured_providers() -> list[str]:
    found = []
    if stripe_gateway() is not None:
        found.append(Provider.STRIPE)
    if paypal_gateway() is not None:
        found.append(Provider.PAYPAL)
    return found


def reconcile_payments(
    *, since: datetime, until: datetime | None = None, providers: list[str] | None = None, by=None
) -> ReconciliationRun:
    """Compare local payments created in [since, until) with each provider's records and store
    a :class:`ReconciliationRun` with one :class:`ReconciliationIssue` per mismatch."""
    until = until or timezone.now()
    if since >= until:
        raise ValueError("'since' must be before 'until'.")
    providers = configured_providers() if providers is None else providers
    run = ReconciliationRun.objects.create(
        since=since,
        until=until,
        providers=",".join(providers) or "none configured",
        started_by=acting_user(by),
    )
    errors = []
    for provider in providers:
        try:
            issues, checked_local, checked_remote = _RECONCILERS[provider](since, until)
        except (ProviderError, KeyError) as error:
            message = error.message if isinstance(error, ProviderError) else f"unknown provider {error}"
            errors.append(f"{provider}: {message}")
            continue
        run.checked_local += checked_local
        run.checked_remote += checked_remote
        ReconciliationIssue.objects.bulk_create(
            ReconciliationIssue(
                run=run,
                provider=provider,
                kind=issue.kind,
                provider_payment_id=issue.key[:64],
                payment=issue.payment,
                local_amount=(
                    (
                        issue.payment.amount_received
                        if issue.payment.amount_received is not None
                        else issue.payment.amount
                    )
                    if issue.payment
                    else None
                ),
                remote_amount=(
                    (
                        issue.remote.amount_received
                        if issue.remote.amount_received is not None
                        else issue.remote.amount
                    )
                    if issue.remote
                    else None
                ),
                currency=(
                    issue.payment.currency if issue.payment else issue.remote.currency if issue.remote else ""
                ),
                local_status=issue.payment.status if issue.payment else "",
                remote_status=issue.remote.status if issue.remote else "",
                detail=issue.detail[:300],
            )
            for issue in issues
        )
    run.errors = "\n".join(errors)
    run.finished_at = timezone.now()
    run.save()
    return run


def resolve_reconciliation_issues(issues, *, by=None) -> int:
    """Staff looked into these mismatches and dealt with them."""
    return issues.filter(resolved=False).update(resolved=True)
