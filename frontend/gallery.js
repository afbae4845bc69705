// The workflows list page: "New workflow" (created through the API, then opened in the
// builder) and the gallery's pictures, drawn with the canvas's own layout.
import { api } from "./builder/api.js";
import { thumbnailSvg } from "./builder/thumbnail.js";

const data = document.getElementById("gallery-data");
if (data) {
  const { nodeTypes, library } = JSON.parse(data.textContent);
  const types = Object.fromEntries(nodeTypes.map((t) => [t.type, t]));
  for (const item of library) {
    const slot = document.querySelector(`[data-thumbnail="${CSS.escape(item.slug)}"]`);
    if (slot) slot.innerHTML = thumbnailSvg(item.document.graph, types, { label: `Picture of ${item.name}` });
  }
}

const create = document.getElementById("new-workflow");
if (create) {
  create.hidden = false;
  create.addEventListener("click", async () => {
    create.disabled = true;
    const error = document.getElementById("new-workflow-error");
    try {
      const workflow = await api("workflows/", { method: "POST", body: { name: "Untitled workflow" } });
      window.location.assign(create.dataset.builderUrl.replace("0", String(workflow.id)));
    } catch (e) {
      error.textContent = e.message;
      create.disabled = false;
    }
  });
}
