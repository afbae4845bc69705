"""The sandboxed Jinja2 environments messages are rendered in.

Templates are written by workspace members, so they get nothing but data: plain dicts,
lists, strings and numbers (never a model instance), no attribute starting with "_", no
Python globals, and bounded string/number arithmetic so a template cannot exhaust memory.
"""

from __future__ import annotations

import operator
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_OUTPUT_REPEAT = 100_000  # longest string/list `*` may build
MAX_POWER = 1_000

# Names the context carries that templates must not read directly.
PRIVATE_SEGMENTS_KEY = "_tendril_segments"


class TemplateSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_POWER:
                raise SecurityError("exponent too large")
            return operator.pow(left, right)
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_OUTPUT_REPEAT
                ):
                    raise SecurityError("repeated value too long")
            return operator.mul(left, right)
        return super().call_binop(context, op, left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # The default returns an Undefined that prints as "" under a lenient Undefined;
        # an attempt to reach internals should fail loudly instead.
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} is not allowed"
        )


@pass_context
def in_segment(context: Context, segment_id: Any) -> bool:
    """`{% if in_segment("42") %}…{% endif %}`: a block only members of segment 42 see."""
    return str(segment_id) in context.get(PRIVATE_SEGMENTS_KEY, ())


ALLOWED_GLOBALS = {"range", "dict", "namespace"}


def _make(autoescape: bool) -> TemplateSandbox:
    env = TemplateSandbox(
        autoescape=autoescape,
        undefined=ChainableUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        cache_size=0,  # compiled templates are cached per immutable version instead
    )
    for name in list(env.globals):
        if name not in ALLOWED_GLOBALS:
            del env.globals[name]
    env.globals["in_segment"] = in_segment
    return env


html_env = _make(autoescape=True)
text_env = _make(autoescape=False)


@lru_cache(maxsize=2048)
def compiled(source: str, *, html: bool) -> Template:
    """A compiled template for a source string. Sources come from immutable versions, so the
    source itself is the cache key and a worker compiles each version once."""
    return (html_env if html else text_env).from_string(source)
