"""A workflow's definition: parse, check, lay out, say in words, resolve a document's references."""
