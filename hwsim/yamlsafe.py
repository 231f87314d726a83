"""YAML loading for user files: PyYAML's safe loader, hardened against what it lets through.

* PyYAML keeps the last of two equal keys without a word, so a pasted or repeated line would
  silently change a design: a duplicate key is an error.
* A key that is a sequence or a mapping (`? [a, b]`) has no field name: an error (PyYAML
  would raise a TypeError while building the mapping).
* Nesting deeper than MAX_DEPTH: an error (PyYAML's composer recurses, so 20,000 `[` end in
  a RecursionError).
* Aliases expanding to more than MAX_NODES nodes (the "billion laughs"), or an alias inside its
  own anchor (a recursive structure): an error, before anything walks the document.
* A tag SafeLoader has no constructor for (`!!python/object`, `!foo`): an error worded like
  the others ("expected plain YAML values, got the tag ...").

Every hwsim YAML file is read through `UniqueKeyLoader` (or a subclass), and these errors are
ordinary yaml.YAMLErrors, so every loader reports them as its other YAML errors.
"""

from __future__ import annotations

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent

MAX_DEPTH = 64  # hwsim's own files nest at most 5 levels
MAX_NODES = 1_000_000  # expanded nodes per document; a 10k-op workload file has ~250k


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader refusing duplicate keys, non-scalar keys, deep nesting and alias bombs
    (each a yaml.YAMLError)."""

    def compose_document(self):
        self._depth, self._weight = 0, {}
        try:
            return super().compose_document()
        finally:
            self._weight = {}

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._weight:
                raise ComposerError(
                    None, None, f"alias *{event.anchor}: expected no alias inside its own "
                    "anchor (a recursive structure)", event.start_mark
                )  # fmt: skip
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(
                None, None, f"expected at most {MAX_DEPTH} levels of nesting, got more",
                event.start_mark,
            )  # fmt: skip
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._weight[id(node)] = weight = 1 + sum(self._weight[id(n)] for n in _children(node))
        if weight > MAX_NODES:
            raise ComposerError(
                None, None, f"expected at most {MAX_NODES} nodes once aliases are expanded, "
                f"got {weight}", event.start_mark
            )  # fmt: skip
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # keys merged in by `<<` may be overridden: that is no duplicate
                if not isinstance(key_node, yaml.ScalarNode):
                    got = "a sequence" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                    raise ConstructorError(
                        None, None, f"expected a field name as key, got {got}",
                        key_node.start_mark,
                    )  # fmt: skip
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node):
        raise ConstructorError(
            None, None, f"expected plain YAML values, got the tag {node.tag!r}", node.start_mark
        )


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, UniqueKeyLoader.construct_mapping
)
UniqueKeyLoader.add_constructor(None, UniqueKeyLoader.construct_undefined)


def load(text: str):
    """yaml.safe_load(text), except for the errors above (each a yaml.YAMLError)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def describe(e: yaml.YAMLError) -> str:
    """One line for a YAML error: what went wrong and, where known, the 1-based line."""
    problem, line = _problem(e)
    return f"{problem}, line {line}" if line else problem


def _problem(e: yaml.YAMLError) -> tuple[str, int | None]:
    problem = getattr(e, "problem", None) or (str(e).splitlines() or [type(e).__name__])[0]
    mark = getattr(e, "problem_mark", None)
    return problem, mark.line + 1 if mark else None


def load_file(path, what: str, loader=UniqueKeyLoader):
    """The parsed YAML of a user's file; an unreadable or invalid file is an HwsimError
    `FILE: cannot read WHAT (...)` or `FILE: not valid YAML: PROBLEM (line N)`."""
    from hwsim.errors import HwsimError, read_text

    try:
        text = read_text(path, what)
    except OSError as e:
        raise HwsimError(f"{path}: cannot read {what} ({e.strerror})") from None
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        problem, line = _problem(e)
        where = f" (line {line})" if line else ""
        raise HwsimError(f"{path}: not valid YAML: {problem}{where}") from None
