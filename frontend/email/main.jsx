// Entry of the block email editor island: mounts on #email-editor with the data the page embeds
// (json_script "email-boot"). window.TendrilEmailEditor.open() mounts the same editor in a
// dialog (broadcasts: create a template in place).
import "./email.css";
import { createRoot } from "react-dom/client";
import { Editor } from "./Editor.jsx";
import { openEditorDialog } from "./dialog.jsx";

const mount = document.getElementById("email-editor");
if (mount) {
  const boot = JSON.parse(document.getElementById("email-boot").textContent);
  createRoot(mount).render(<Editor boot={boot} />);
}
window.TendrilEmailEditor = { open: openEditorDialog };

// "Create with the block editor" beside a template <select> (broadcasts): the editor opens in
// a dialog; the saved template is added to the select and chosen. The button is hidden until
// this script runs (no JavaScript: the select and the Templates tab still work).
for (const button of document.querySelectorAll("[data-email-editor-open]")) {
  const select = document.getElementById(button.dataset.emailEditorOpen);
  const bootEl = document.getElementById("email-boot");
  if (!select || !bootEl) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const boot = { ...JSON.parse(bootEl.textContent), template: null, starters: false };
    const saved = await openEditorDialog(boot);
    if (saved) {
      const option = new Option(saved.name, String(saved.id), true, true);
      select.add(option);
      select.value = String(saved.id);
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    button.focus();
  });
}
