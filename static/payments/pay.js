// The pay page's card form: Stripe's Payment Element, confirmed with Stripe.js.
// Loaded (deferred) after https://js.stripe.com/v3/; when that script could not load, the page
// says so plainly and offers the other ways to pay. No inline script: data comes from attributes
// and from the JSON the server returns for the PaymentIntent.

const form = document.getElementById("stripe-form");

function say(text) {
  const box = document.getElementById("stripe-message");
  box.textContent = text;
  box.hidden = false;
}

function unavailable(reason) {
  form.dataset.state = "unavailable";
  document.getElementById("payment-element-loading").hidden = true;
  document.getElementById("stripe-submit").disabled = true;
  say(reason || form.dataset.unavailableText);
}

async function start() {
  if (typeof window.Stripe !== "function") {
    unavailable();
    return;
  }
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let intent;
  try {
    const response = await fetch(form.dataset.intentUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
    });
    intent = await response.json();
    if (!response.ok) {
      unavailable(intent.detail || "Card payment is not available right now.");
      return;
    }
  } catch (error) {
    unavailable("We could not start the card payment. Check your connection and reload this page.");
    return;
  }

  const stripe = window.Stripe(intent.publishable_key);
  const elements = stripe.elements({ clientSecret: intent.client_secret });
  const paymentElement = elements.create("payment");
  const button = document.getElementById("stripe-submit");
  paymentElement.on("ready", () => {
    document.getElementById("payment-element-loading").hidden = true;
    form.dataset.state = "ready";
    button.disabled = false;
  });
  paymentElement.mount("#payment-element");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    document.getElementById("stripe-message").hidden = true;
    // On success Stripe sends the browser to return_url, where the server reads the outcome.
    const { error } = await stripe.confirmPayment({
      elements,
      confirmParams: { return_url: intent.return_url },
    });
    say((error && error.message) || "The payment did not go through. Nothing was charged.");
    button.disabled = false;
  });
}

if (form) {
  form.dataset.state = "loading";
  start();
}
