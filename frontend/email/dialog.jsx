// The editor in a modal dialog: "create with the block editor" in place (broadcasts, the
// workflow builder's send-email panel). Resolves with the saved template, or null if closed.
// Its styles are dist/email.css (built with the email entry): a page that opens it links it.
import { createRoot } from "react-dom/client";
import { Editor } from "./Editor.jsx";

export function EditorDialog({ boot, onSaved, onClose }) {
  return (
    <div className="ee-dialog-body">
      <Editor boot={boot} embedded onSaved={onSaved} onCancel={onClose} />
    </div>
  );
}

export function openEditorDialog(boot) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "ee-dialog";
    dialog.setAttribute("aria-label", "Create an email with the block editor");
    document.body.appendChild(dialog);
    const root = createRoot(dialog);
    let result = null;
    const close = () => { root.unmount(); dialog.close(); dialog.remove(); resolve(result); };
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(); });
    root.render(<EditorDialog boot={boot} onSaved={(t) => { result = t; close(); }} onClose={close} />);
    dialog.showModal();
  });
}
