"""Block templates: a JSON document of blocks, compiled once per version to email HTML.

    validate(document)                  # {json path: message}, empty when the shape is fine
    compile_document(document, brand)   # Compiled(html=Jinja source, conditions={id: tree})
    template_sources(document)          # (path, source, is_html) for the template checks
    Brand, FONT_STACKS                  # the workspace brand the blocks fall back to

The format and why it is JSON compiled through MJML: docs/messaging.md ("Block templates").
Messaging's own: other apps reach block templates through messaging.services.
"""

from .compiler import FONT_STACKS, Brand, Compiled, compile_document, sanitise_rich_text
from .document import MAX_DOCUMENT_BYTES, conditions, template_sources, validate

FONTS = FONT_STACKS  # the brand's font keys (messaging.services.brand reads this name)

__all__ = [
    "FONTS",
    "FONT_STACKS",
    "MAX_DOCUMENT_BYTES",
    "Brand",
    "Compiled",
    "compile_document",
    "conditions",
    "sanitise_rich_text",
    "template_sources",
    "validate",
]
