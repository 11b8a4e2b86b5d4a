// Reveal and wire every [data-print] button. Without JavaScript the buttons stay hidden
// and the browser's own Print menu still uses the print stylesheet.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
