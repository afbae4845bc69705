// The body of a template created in place from the side panel (POST messaging/…-templates/):
// the marketer types plain text; paragraphs become HTML and the compliance footer (postal
// address, unsubscribe link) is added, as every marketing email must carry them.
export const EMAIL_FOOTER =
  '<hr><p style="font-size:12px;color:#666">{{ workspace.physical_address }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>';

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function paragraphsHtml(text) {
  return String(text || "")
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, "<br>")}</p>`)
    .join("");
}

export function templateBody(channel, { name, subject, message }) {
  if (channel === "sms") return { name: name.trim(), body: String(message || "").trim() };
  return {
    name: name.trim(),
    subject: subject.trim(),
    html: `${paragraphsHtml(message)}${EMAIL_FOOTER}`,
    text: String(message || "").trim(),
  };
}
