// Small behaviours of our own, loaded in <head> (no inline scripts: the CSP allows only 'self'):
// the narrow-screen menu, the language switch submitting on change, confirmation of decisions.
document.documentElement.classList.add("js");
document.addEventListener("click", (event) => {
  const toggle = event.target.closest && event.target.closest(".nav-toggle");
  if (!toggle) return;
  const nav = document.getElementById(toggle.getAttribute("aria-controls"));
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (nav) nav.classList.toggle("open", open);
});
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
});
// <form data-confirm="…"> (or a submit button with data-confirm) asks before it submits: approve,
// decline, disburse and other decisions that cannot be taken back.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const msg = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
});
// Inline validation of identifiers on the pledge application form (the server re-checks everything).
const USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
function usccValid(v) {
  v = v.replace(/\s/g, "").toUpperCase();
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(v)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(v[i]) * USCC_W[i];
  return USCC_CHARS[(31 - (sum % 31)) % 31] === v[17];
}
function ricValid(v) {
  v = v.replace(/\s/g, "").toUpperCase();
  if (!/^\d{17}[\dX]$/.test(v)) return false;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * w[i];
  return "10X98765432"[sum % 11] === v[17];
}
document.addEventListener("input", (event) => {
  const el = event.target;
  const typeField = el.getAttribute && el.getAttribute("data-validate");
  if (!typeField) return;
  const kind = document.getElementById(typeField).value;
  const msg = el.parentElement.querySelector("[data-client-error]");
  let ok = true;
  if (kind === "uscc") ok = usccValid(el.value);
  if (kind === "resident_id") ok = ricValid(el.value);
  el.setAttribute("aria-invalid", ok ? "false" : "true");
  if (msg) { msg.hidden = ok || !el.value; msg.textContent = ok ? "" : msg.dataset.msg; }
});
// Valuation calculator: show the example inputs of the chosen method.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.id !== "method" || !el.dataset.examples) return;
  const examples = JSON.parse(el.dataset.examples);
  const box = document.getElementById("inputs");
  if (box && examples[el.value]) box.value = JSON.stringify(examples[el.value], null, 2);
});
