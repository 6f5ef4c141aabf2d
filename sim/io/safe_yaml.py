"""Reading YAML safely, with errors that name the file and the line.

Only ``yaml.SafeLoader`` is used (no object construction).  Duplicate keys, which the
plain loader silently resolves to the last value, are an error here: a scenario where
``horizon_days`` appears twice is ambiguous, not "the second one wins".

Every YAML the workbench reads (scenario, policy, sweep, batch, import mapping, and the
YAML values of ``--set`` and ``-p``) goes through :func:`load_mapping` or
:func:`parse_scalar`, which bound what a hostile or broken file can cost before it is
built: at most :data:`MAX_BYTES` bytes (refused before parsing), :data:`MAX_DEPTH`
levels of nesting, :data:`MAX_ALIASES` aliases (``*name``), and :data:`MAX_NODES` values
once every alias is expanded (an alias bomb is refused, never expanded).  A key must be
a plain value (text, number, date), never a list or a mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import ConfigError

__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load_mapping", "parse_scalar"]

MAX_BYTES = 2_000_000
"""Largest YAML file read (2 MB); the workbench's own files are a few kB."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings."""
MAX_ALIASES = 1_000
"""Most aliases (``*name``) in one document."""
MAX_NODES = 200_000
"""Most values in a document, counting each alias as the whole value it repeats."""


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keys that are lists or mappings."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, not a {kind}", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {_short(key)}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _check_events(text: str) -> None:
    """Depth and alias count from the event stream (no tree is built, no recursion)."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=_StrictSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    f"{_where(event.start_mark)}nested more than {MAX_DEPTH} levels deep"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(f"{_where(event.start_mark)}more than {MAX_ALIASES} aliases")


def _expanded_size(root: yaml.Node) -> int:
    """Number of values with every alias expanded, computed once per node (memoised)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if ready:
            sizes[id(node)] = 1 + sum(sizes.get(id(child), 0) for child in children)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _load(text: str) -> Any:
    """Parse *text* within the limits; ConfigError (no file name) or yaml.YAMLError."""
    _check_events(text)
    loader = _StrictSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_NODES:
            raise ConfigError(
                f"{_where(node.start_mark)}expands to {size:,} values with its aliases "
                f"(at most {MAX_NODES:,})"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Load a YAML file whose top level is a mapping; any problem is a ConfigError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(
                f"{path}: file is {size:,} bytes; a YAML input may have at most {MAX_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read file ({exc.__class__.__name__})") from None
    try:
        data = _load(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"{path}: {_where(mark)}{exc.problem or exc.context}") from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{path}: invalid YAML ({_short(str(exc), 80)})") from None
    if data is None:
        raise ConfigError(f"{path}: file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def parse_scalar(text: str) -> Any:
    """Parse a command-line value the way YAML would (``4`` -> int, ``[1,2]`` -> list).

    Text that is not YAML stays text; a value beyond the limits is a ConfigError.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(f"value is {len(text):,} characters long (at most {MAX_BYTES:,})")
    try:
        return _load(text)
    except ConfigError as exc:
        raise ConfigError(f"value {_short(text)}: {exc}") from None
    except (yaml.YAMLError, ValueError, OverflowError):
        return text
