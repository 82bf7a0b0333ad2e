// Names and keyboard access that Swagger UI's markup leaves out, added as it renders: icon-only
// buttons get a label, selects the name of their parameter, scrollable code blocks a tab stop.
"use strict";

function label(root) {
  for (const button of root.querySelectorAll("button:not([aria-label])")) {
    if (button.textContent.trim()) continue;
    if (button.closest(".copy-to-clipboard")) button.setAttribute("aria-label", "Copy to clipboard");
    else if (button.closest(".dark-mode-toggle")) button.setAttribute("aria-label", "Toggle dark mode");
    else if (button.classList.contains("authorization__btn")) button.setAttribute("aria-label", "Authorize this operation");
    else if (button.classList.contains("opblock-control-arrow")) button.setAttribute("aria-label", "Show or hide");
    else if (button.classList.contains("model-box-control")) button.setAttribute("aria-label", "Show or hide the schema");
    else button.setAttribute("aria-label", button.title || "Button");
  }
  for (const select of root.querySelectorAll("select:not([aria-label])")) {
    const row = select.closest("tr");
    const name = row && row.querySelector(".parameter__name");
    const header = select.closest(".response-controls, .body-param-content-type, .content-type-wrapper, .servers");
    select.setAttribute("aria-label", name ? name.textContent.replace("*", "").trim() : header ? "Media type" : "Choose");
  }
  for (const input of root.querySelectorAll("input:not([aria-label]):not([id])")) {
    const row = input.closest("tr");
    const name = row && row.querySelector(".parameter__name");
    if (name) input.setAttribute("aria-label", name.textContent.replace("*", "").trim());
  }
  for (const block of root.querySelectorAll("pre:not([tabindex]), .microlight:not([tabindex]), .curl:not([tabindex])")) {
    block.setAttribute("tabindex", "0");
  }
}

new MutationObserver(() => label(document.body)).observe(document.body, { childList: true, subtree: true });
label(document.body);
