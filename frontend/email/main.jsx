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
