"""YAML loading for user files: PyYAML's safe loader, refusing duplicate mapping keys.

PyYAML keeps the last of two equal keys without a word, so a pasted or repeated line would
silently change a design; every hwsim YAML file is read through `UniqueKeyLoader` instead.
"""

from __future__ import annotations

import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that raises a ConstructorError (a yaml.YAMLError) on a duplicate key."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # keys merged in by `<<` may be overridden: that is no duplicate
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, UniqueKeyLoader.construct_mapping
)


def load(text: str):
    """yaml.safe_load(text), except that a duplicate key is a yaml.YAMLError."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def describe(e: yaml.YAMLError) -> str:
    """One line for a YAML error: what went wrong and, where known, the 1-based line."""
    problem = getattr(e, "problem", None) or (str(e).splitlines() or [type(e).__name__])[0]
    mark = getattr(e, "problem_mark", None)
    return f"{problem}, line {mark.line + 1}" if mark else problem
