"""Pages and webhooks of the payments app (included at the site root, namespace ``payments``)."""

from django.urls import path

from . import views, webhooks

app_name = "payments"

urlpatterns = [
    path("track/<str:token>/pay/", views.pay, name="pay"),
    path("track/<str:token>/pay/stripe/intent/", views.stripe_intent, name="stripe-intent"),
    path("track/<str:token>/pay/stripe/return/", views.stripe_return, name="stripe-return"),
    path("track/<str:token>/pay/paypal/", views.paypal_start, name="paypal-start"),
    path("track/<str:token>/pay/paypal/return/", views.paypal_return, name="paypal-return"),
    path("track/<str:token>/pay/paypal/cancel/", views.paypal_cancel, name="paypal-cancel"),
    path("track/<str:token>/invoices/<str:public_id>/", views.tracked_invoice, name="tracked-invoice"),
    path("account/invoices/", views.account_invoices, name="account-invoices"),
    path("account/invoices/<str:public_id>/", views.account_invoice, name="account-invoice"),
    path("webhooks/stripe/", webhooks.stripe_webhook, name="stripe-webhook"),
    path("webhooks/paypal/", webhooks.paypal_webhook, name="paypal-webhook"),
]
