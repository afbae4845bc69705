// Entry of the workflow builder island: mounts on #workflow-builder with the data the page
// embeds (json_script "builder-boot").
import "@xyflow/react/dist/style.css";
import "./builder.css";
import { createRoot } from "react-dom/client";
import { App } from "./App.jsx";

const mount = document.getElementById("workflow-builder");
if (mount) {
  const boot = JSON.parse(document.getElementById("builder-boot").textContent);
  window.__tendrilBuilder = { start: performance.now() };
  createRoot(mount).render(<App boot={boot} />);
}
