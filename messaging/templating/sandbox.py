"""The sandboxed Jinja2 environments messages are rendered in.

Templates are written by workspace members, so they get nothing but data: plain dicts,
lists, strings and numbers (never a model instance), no attribute starting with "_", no
Python globals, no methods that change a list or dict, and every render is bounded:

- **steps**: each loop iteration and each call (function, macro, method) counts against
  MESSAGING_TEMPLATE_MAX_STEPS, and the render's deadline (MESSAGING_TEMPLATE_RENDER_SECONDS)
  is checked at every step — a time limit that works in any thread, no signals;
- **range**: `range()` longer than MESSAGING_TEMPLATE_MAX_RANGE is refused;
- **size**: the output, and every string a single operation would build (`*`, `+`, `~`,
  `%`, the padding filters and str methods, `join`, `replace` …) is capped at
  MESSAGING_TEMPLATE_MAX_OUTPUT characters — checked *before* building it where the size
  can be known, so a bomb is refused, not allocated; integer arithmetic is capped in bits.

Every limit raises TemplateLimitExceeded (a SecurityError) naming the limit: save-time
checks report it with the line, previews show it, and a send fails that message with it.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

from django.conf import settings
from jinja2 import (
    ChainableUndefined,
    Template,
    Undefined,
    nodes,
    pass_context,
    pass_eval_context,
)
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

MAX_OUTPUT_REPEAT = 100_000  # longest string/list `*` may build
MAX_POWER = 1_000
MAX_INT_BITS = 100_000  # about 30,000 digits: more is never a number an email shows

# Names the context carries that templates must not read directly.
PRIVATE_SEGMENTS_KEY = "_tendril_segments"
# A block template's dynamic blocks the recipient sees travel in the same set as their
# segment ids, as "block:<id>" (segment ids are numbers, so the two never meet).
VISIBLE_BLOCK_PREFIX = "block:"


class TemplateLimitExceeded(SecurityError):
    """A render went past one of its limits (steps, range, size, time)."""


# --- The budget of one render ------------------------------------------------------------


@dataclass
class _Budget:
    steps_left: int
    deadline: float
    max_output: int


_budget: ContextVar[_Budget | None] = ContextVar("tendril_template_budget", default=None)


def _new_budget() -> _Budget:
    return _Budget(
        steps_left=int(settings.MESSAGING_TEMPLATE_MAX_STEPS),
        deadline=time.monotonic() + float(settings.MESSAGING_TEMPLATE_RENDER_SECONDS),
        max_output=int(settings.MESSAGING_TEMPLATE_MAX_OUTPUT),
    )


def max_output() -> int:
    budget = _budget.get()
    return budget.max_output if budget is not None else int(settings.MESSAGING_TEMPLATE_MAX_OUTPUT)


def _step() -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.steps_left -= 1
    if budget.steps_left < 0:
        raise TemplateLimitExceeded(
            f"more than {settings.MESSAGING_TEMPLATE_MAX_STEPS:,} loop iterations and calls"
        )
    if time.monotonic() > budget.deadline:
        raise TemplateLimitExceeded(
            f"rendering took longer than {settings.MESSAGING_TEMPLATE_RENDER_SECONDS} s"
        )


def _check_size(size: int, what: str) -> None:
    limit = max_output()
    if size > limit:
        raise TemplateLimitExceeded(f"{what} would be {size:,} characters (limit {limit:,})")


class BoundedTemplate(Template):
    """Template.render with a fresh budget (unless nested in a render) and the output cap."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        budget = _budget.get()
        token = None
        if budget is None:
            budget = _new_budget()
            token = _budget.set(budget)
        ctx = self.new_context(dict(*args, **kwargs))
        try:
            chunks, size, limit = [], 0, budget.max_output
            for chunk in self.root_render_func(ctx):
                size += len(chunk)
                if size > limit:
                    raise TemplateLimitExceeded(f"the output is longer than {limit:,} characters")
                chunks.append(chunk)
            return self.environment.concat(chunks)  # type: ignore[attr-defined,no-any-return]
        except Exception:
            self.environment.handle_exception()
        finally:
            if token is not None:
                _budget.reset(token)


# --- Compile-time: loops and `~` go through the environment's guards ------------------------


class _Guards(NodeTransformer):
    """`{% for x in ITEMS %}` iterates `ITEMS|tendril_loop_guard`; `a ~ b` becomes
    `[a, b]|tendril_concat_guard`. Filters, because compiled templates call those directly
    (a call would go through the sandbox's slower `call`); a template naming them itself
    only guards itself."""

    def _filter(self, guard: str, arg: nodes.Node, lineno: int) -> nodes.Filter:
        return nodes.Filter(arg, guard, [], [], None, None, lineno=lineno)  # type: ignore[arg-type]

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._filter("tendril_loop_guard", node.iter, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return self._filter("tendril_concat_guard", items, node.lineno)


# --- Size predictions for what builds strings ---------------------------------------------

_PERCENT_SPEC = re.compile(r"%[^a-zA-Z%]*")
_BRACE_SPEC = re.compile(r"\{[^{}]*\}")
_DIGITS = re.compile(r"\d+")
_NESTED_SPEC = re.compile(r"\{[^{}]*\{")


def _spec_widths(fmt: str, spec: re.Pattern[str]) -> int:
    """The sum of the numbers (widths, precisions) written in a format string's specs."""
    total = 0
    for found in spec.findall(fmt):
        for digits in _DIGITS.findall(found):
            total += int(digits) if len(digits) < 12 else 10**12
    return total


def _replace_size(text: str, old: Any, new: Any, count: Any = None) -> int:
    old, new = str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * len(new)


def _join_size(items: list[Any], sep: Any) -> int:
    return sum(len(str(item)) for item in items) + len(str(sep)) * max(len(items) - 1, 0)


def _width(value: Any) -> int:
    return int(value) if isinstance(value, int) else len(str(value))


def _str_method_size(name: str, owner: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    values = list(args) + list(kwargs.values())
    if name in ("ljust", "rjust", "center", "zfill") and values:
        return max(len(owner), _width(values[0]))
    if name == "expandtabs":
        tabsize = values[0] if values and isinstance(values[0], int) else 8
        return len(owner) + owner.count("\t") * max(tabsize, 0)
    if name == "replace" and len(values) >= 2:
        return _replace_size(owner, *values[:3])
    return 0


def _format_size(fmt: str, values: Iterable[Any]) -> int:
    """str.format: the widths written in the specs, plus any number passed in when a width
    comes from an argument (`{:{}}`)."""
    size = len(fmt) + _spec_widths(fmt, _BRACE_SPEC)
    if _NESTED_SPEC.search(fmt):
        size += sum(abs(v) for v in values if isinstance(v, int))
    return size


def _filter_size(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    text = str(value)
    if name == "center":
        return max(len(text), _width(args[0] if args else kwargs.get("width", 80)))
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        return len(text) + (text.count("\n") + 1) * _width(width)
    if name == "wordwrap":
        wrapstring = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        return len(text) * (1 + len(str(wrapstring)))
    if name == "format":
        extra = sum(abs(a) for a in args if isinstance(a, int)) if "*" in text else 0
        return len(text) + _spec_widths(text, _PERCENT_SPEC) + extra
    if name == "replace" and len(args) >= 2:
        return _replace_size(text, *args[:3])
    if name in ("slice", "batch"):
        count = args[0] if args else kwargs.get("slices", kwargs.get("linecount", 0))
        padded = name == "slice" or len(args) > 1 or kwargs.get("fill_with") is not None
        return _width(count) if padded else 0
    return 0


SIZED_FILTERS = ("center", "indent", "wordwrap", "format", "replace", "slice", "batch")


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if _PassArg.from_obj(func) is not None else 0

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _step()
        if len(args) > offset:
            _check_size(_filter_size(name, args[offset], args[offset + 1 :], kwargs), f"|{name}")
        return func(*args, **kwargs)

    return guarded


def _guarded_join(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def guarded(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> Any:
        _step()
        items = list(_counted(value))
        if attribute is None:
            _check_size(_join_size(items, d), "|join")
        result = func(eval_ctx, items, d, attribute)
        _check_size(len(result), "|join")
        return result

    return guarded


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _step()
        yield item


# --- The environment ----------------------------------------------------------------------


class TemplateSandbox(ImmutableSandboxedEnvironment):
    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        return _Guards().visit(tree)  # type: ignore[no-any-return]

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_POWER:
                raise TemplateLimitExceeded("exponent too large")
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(abs(left).bit_length() * abs(right))
            return operator.pow(left, right)
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_OUTPUT_REPEAT
                ):
                    raise TemplateLimitExceeded("repeated value too long")
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(abs(left).bit_length() + abs(right).bit_length())
            return operator.mul(left, right)
        if op == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, Sized):
                _check_size(len(left) + len(right), "+")
            return operator.add(left, right)
        if op == "%" and isinstance(left, str):
            _check_size(len(left) + _spec_widths(left, _PERCENT_SPEC), "%")
            result = operator.mod(left, right)
            _check_size(len(result), "%")
            return result
        return super().call_binop(context, op, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                args = (list(_counted(args[0])), *args[1:])
                _check_size(_join_size(args[0], owner), ".join()")
            _check_size(_str_method_size(name, owner, args, kwargs), f".{name}()")
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):
            _check_size(len(result), "a call")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt: str = value.__self__

        @wraps(sandboxed)
        def bounded(*args: Any, **kwargs: Any) -> str:
            values = [
                *args,
                *kwargs.values(),
                *(args[0].values() if args and isinstance(args[0], dict) else ()),
            ]
            _check_size(_format_size(fmt, values), f".{value.__name__}()")
            return sandboxed(*args, **kwargs)

        return bounded

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # The default returns an Undefined that prints as "" under a lenient Undefined;
        # an attempt to reach internals should fail loudly instead.
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} is not allowed"
        )


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitExceeded("number too large")


def loop_guard(iterable: Any) -> Iterator[Any]:
    _step()  # a loop over nothing is a step too
    return _counted(iterable)


@pass_eval_context
def concat_guard(eval_ctx: EvalContext, parts: list[Any]) -> str:
    _check_size(sum(len(str(part)) for part in parts), "~")
    return (markup_join if eval_ctx.autoescape else str_join)(parts)


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    limit = int(settings.MESSAGING_TEMPLATE_MAX_RANGE)
    if len(numbers) > limit:
        raise TemplateLimitExceeded(
            f"range({', '.join(map(str, args))}) has {len(numbers):,} items (limit {limit:,})"
        )
    return numbers


@pass_context
def in_segment(context: Context, segment_id: Any) -> bool:
    """`{% if in_segment("42") %}…{% endif %}`: a block only members of segment 42 see."""
    return str(segment_id) in context.get(PRIVATE_SEGMENTS_KEY, ())


@pass_context
def block_visible(context: Context, block_id: Any) -> bool:
    """`{% if block_visible("promo") %}…{% endif %}`: a dynamic block (messaging/blocks) is
    shown to recipients matching its condition, worked out per send batch."""
    return f"{VISIBLE_BLOCK_PREFIX}{block_id}" in context.get(PRIVATE_SEGMENTS_KEY, ())


def merge_default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default` as merge tags mean it: `{{ first_name | default("there") }}` falls back when
    the contact has no first name — an empty (or blank) string or None, not only a missing
    key (Jinja's own default keeps ""; contacts' empty fields are "", so it never fell back).
    0 and False are values; `default(x, true)` still falls back on any falsy value."""
    if isinstance(value, Undefined) or value is None or (boolean and not value):
        return default_value
    if isinstance(value, str) and not value.strip():
        return default_value
    return value


ALLOWED_GLOBALS = {"dict", "namespace"}


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
    env.globals["range"] = bounded_range
    env.globals["in_segment"] = in_segment
    env.globals["block_visible"] = block_visible
    for name in SIZED_FILTERS:
        env.filters[name] = _guarded_filter(name, env.filters[name])
    env.filters["join"] = _guarded_join(env.filters["join"])
    env.filters["default"] = env.filters["d"] = merge_default
    env.filters["tendril_loop_guard"] = loop_guard
    env.filters["tendril_concat_guard"] = concat_guard
    return env


html_env = _make(autoescape=True)
text_env = _make(autoescape=False)


@lru_cache(maxsize=2048)
def compiled(source: str, *, html: bool) -> Template:
    """A compiled template for a source string. Sources come from immutable versions, so the
    source itself is the cache key and a worker compiles each version once."""
    return (html_env if html else text_env).from_string(source)
