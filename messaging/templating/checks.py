"""Save-time checks: syntax errors, unknown variables and attempts to reach Python internals,
each reported with the line it is on. A template that fails here is never saved."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateAssertionError, TemplateError
from jinja2.sandbox import SecurityError

from .sandbox import TemplateLimitExceeded, html_env, text_env
from .schema import FIXED_ATTRIBUTES, LAYOUT_EXTRA, TOP_LEVEL

CONTENT_PLACEHOLDER = re.compile(r"\{\{\s*content\s*\}\}")


@dataclass(frozen=True)
class Problem:
    field: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    segment_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # top-level names the template reads
    attributes: set[tuple[str, str]] = field(default_factory=set)  # (object, attribute) read

    @property
    def ok(self) -> bool:
        return not self.problems

    def reads(self, name: str, attribute: str | None = None) -> bool:
        if attribute is None:
            return name in self.names
        return (name, attribute) in self.attributes


def check_source(
    source: str,
    *,
    field_name: str,
    html: bool,
    extra_names: Iterable[str] = (),
    segment_exists: Callable[[str], bool] | None = None,
) -> CheckResult:
    """Everything wrong with one template source, with line numbers."""
    env = html_env if html else text_env
    result = CheckResult()

    def problem(line: int | None, message: str) -> None:
        result.problems.append(Problem(field_name, line, message))

    try:
        ast = env.parse(source)
    except TemplateSyntaxError as error:
        problem(error.lineno, f"syntax error: {error.message}")
        return result
    try:
        env.compile(ast)  # unknown filters and tests are found here
    except TemplateAssertionError as error:
        problem(error.lineno, error.message or "invalid template")
        return result

    if _check_unrenderable(ast, problem):
        return result

    known = TOP_LEVEL | set(extra_names) | set(env.globals)
    undeclared = meta.find_undeclared_variables(ast)
    first_line: dict[str, int] = {}
    for name_node in ast.find_all(nodes.Name):
        if name_node.ctx == "load":
            first_line.setdefault(name_node.name, name_node.lineno)
        if name_node.name.startswith("_"):
            problem(name_node.lineno, f"names starting with '_' are not allowed: {name_node.name}")
    for name in sorted(undeclared, key=lambda n: first_line.get(n, 0)):
        if name.startswith("_"):
            continue
        result.names.add(name)
        if name not in known:
            problem(first_line.get(name), f"unknown variable '{name}'")

    for getattr_node in ast.find_all(nodes.Getattr):
        attribute = getattr_node.attr
        if attribute.startswith("_"):
            problem(getattr_node.lineno, f"access to '{attribute}' is not allowed")
            continue
        owner = getattr_node.node
        if isinstance(owner, nodes.Name) and owner.name in undeclared:
            result.attributes.add((owner.name, attribute))
            allowed = FIXED_ATTRIBUTES.get(owner.name)
            if allowed is not None and attribute not in allowed:
                problem(getattr_node.lineno, f"unknown variable '{owner.name}.{attribute}'")
    for getitem in ast.find_all(nodes.Getitem):
        key = getitem.arg
        if isinstance(key, nodes.Const) and str(key.value).startswith("_"):
            problem(getitem.lineno, f"access to '{key.value}' is not allowed")
    for filter_node in ast.find_all(nodes.Filter):
        if filter_node.name == "attr":
            for arg in filter_node.args:
                if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
                    problem(filter_node.lineno, f"access to '{arg.value}' is not allowed")
    _check_segment_calls(ast, result, problem, segment_exists)
    if result.ok:
        _check_sample_render(env, source, problem)
    return result


LOADING_TAGS = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
}


def _check_unrenderable(ast: nodes.Template, problem: Callable[[int | None, str], None]) -> bool:
    """What can never render: tags that load other templates (messages have no template
    loader; shared header and footer belong in a layout) and macros that call themselves."""
    found = False
    for node_type, tag in LOADING_TAGS.items():
        for node in ast.find_all(node_type):
            problem(
                node.lineno,
                f"{{% {tag} %}} is not available: a message cannot load other templates "
                "(use a layout for a shared header and footer)",
            )
            found = True
    macros = {macro.name: macro for macro in ast.find_all(nodes.Macro)}
    calls = {
        name: {
            call.node.name
            for call in macro.find_all(nodes.Call)
            if isinstance(call.node, nodes.Name) and call.node.name in macros
        }
        for name, macro in macros.items()
    }
    for name, macro in macros.items():
        if _reaches(calls, name, name):
            problem(macro.lineno, f"macro '{name}' calls itself (recursion is not allowed)")
            found = True
    return found


def _reaches(calls: dict[str, set[str]], start: str, target: str) -> bool:
    seen: set[str] = set()
    todo = list(calls.get(start, ()))
    while todo:
        name = todo.pop()
        if name == target:
            return True
        if name not in seen:
            seen.add(name)
            todo.extend(calls.get(name, ()))
    return False


def _check_segment_calls(ast, result, problem, segment_exists) -> None:  # type: ignore[no-untyped-def]
    for call in ast.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == "in_segment"):
            continue
        if len(call.args) != 1 or not isinstance(call.args[0], nodes.Const):
            problem(call.lineno, 'in_segment needs one segment id in quotes: in_segment("42")')
            continue
        segment_id = str(call.args[0].value)
        if segment_exists is not None and not segment_exists(segment_id):
            problem(call.lineno, f"in_segment: there is no segment {segment_id}")
            continue
        result.segment_ids.add(segment_id)


def _check_sample_render(env, source: str, problem) -> None:  # type: ignore[no-untyped-def]
    from .personalise import sample_context

    try:
        env.from_string(source).render(sample_context())
    except TemplateLimitExceeded as error:
        problem(_template_line(error), f"too big to render: {error}")
    except SecurityError as error:
        problem(_template_line(error), f"not allowed: {error}")
    except TemplateError:
        pass  # data-dependent errors (a missing property) are not the author's mistake
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError):
        pass


def _template_line(error: BaseException) -> int | None:
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None


def footer_problems(result: CheckResult, *, field_name: str, what: str) -> list[Problem]:
    """A layout (or a template without one) must carry the unsubscribe link and postal address."""
    missing = []
    if not result.reads("unsubscribe_url"):
        missing.append("the unsubscribe link {{ unsubscribe_url }}")
    if not result.reads("workspace", "physical_address"):
        missing.append("the postal address {{ workspace.physical_address }}")
    if not missing:
        return []
    return [Problem(field_name, None, f"{what} must contain {' and '.join(missing)} in its footer")]


def layout_check(source: str) -> list[Problem]:
    result = check_source(source, field_name="html", html=True, extra_names=LAYOUT_EXTRA)
    problems = list(result.problems)
    count = len(CONTENT_PLACEHOLDER.findall(source))
    if count != 1:
        problems.append(
            Problem(
                "html",
                None,
                "the layout must contain {{ content }} exactly once (where the template goes)",
            )
        )
    if result.ok:
        problems += footer_problems(result, field_name="html", what="The layout")
    return problems
