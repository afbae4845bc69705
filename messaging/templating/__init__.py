"""User-authored templates: a sandboxed Jinja2 environment, save-time checks with line numbers,
compilation of a saved version (layout + preheader + CSS inlined once), and the per-recipient
render (personalisation, click tracking, open pixel)."""
