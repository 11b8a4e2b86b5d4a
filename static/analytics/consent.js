/* The consent banner of the analytics tracker (markup in templates/analytics/_tracker.html).
   It is never a layer over the page: booking works without answering it.
   "Allow" posts the choice with the device details it allows (screen, time zone, language,
   hardware hints); the server records the choice with its time and version and sets the cookies.
   The banner opens by itself only when no choice was made (and never under Do Not Track / GPC);
   "Privacy choices" opens it again to change the choice. */
(() => {
  const box = document.getElementById("rt-consent");
  const opener = document.getElementById("rt-consent-open");
  const status = document.getElementById("rt-consent-status");
  if (!box) return;
  const nav = navigator;
  const optedOut = nav.globalPrivacyControl || nav.doNotTrack === "1" || window.doNotTrack === "1";
  // The banner sits in the page's flow, never over it: on a phone a floating banner covered
  // "Book my repair". Asked on arrival it closes the page's content (the first view stays the
  // page's own, and answering is never needed to book); reopened from "Privacy choices" it
  // opens right there, above that link.
  const main = document.getElementById("main");
  if (box.dataset.ask === "1" && !optedOut) {
    if (main) main.append(box);
    box.hidden = false;
  }

  function deviceDetails() {
    const hw = { cores: nav.hardwareConcurrency, memory: nav.deviceMemory, touch: nav.maxTouchPoints, dpr: window.devicePixelRatio };
    Object.keys(hw).forEach((key) => { if (typeof hw[key] !== "number") delete hw[key]; });
    return {
      screen: `${screen.width}x${screen.height}`,
      tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "",
      lang: nav.language || "",
      hw,
    };
  }

  function cookie(name) {
    const found = document.cookie.split("; ").find((item) => item.startsWith(`${name}=`));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  async function csrfToken() {
    const name = box.dataset.csrfCookie;
    if (!cookie(name)) await fetch(box.dataset.endpoint, { credentials: "same-origin" }); // sets it
    return cookie(name);
  }

  box.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-consent]");
    if (!button) return;
    const granted = button.dataset.consent === "1";
    const body = granted ? { granted, device: deviceDetails() } : { granted };
    try {
      const response = await fetch(box.dataset.endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": await csrfToken() },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      box.hidden = true;
      box.dataset.state = granted ? "granted" : "refused";
      if (status) status.textContent = granted ? "Thank you: this browser is remembered." : "Understood: visits are counted anonymously only.";
      if (opener) opener.focus();
    } catch (error) {
      if (status) status.textContent = "Your choice could not be saved. Please try again.";
    }
  });

  if (opener) {
    opener.addEventListener("click", () => {
      opener.closest("p").before(box);
      box.hidden = false;
      const first = box.querySelector("[data-consent]");
      if (first) first.focus();
    });
  }
})();
