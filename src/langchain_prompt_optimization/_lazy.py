"""Lazy exports (PEP 562): a package's public names, imported from their modules on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of a package whose `exports` map each public name to
    the module defining it.

    Args:
        namespace: The package's `globals()`; a name, once imported, is stored there so later
            look-ups skip `__getattr__`.
        exports: Public name -> module path.

    Example:
        ```python
        __getattr__, __dir__ = lazy_exports(globals(), {"PromptRegistry": "...registry"})
        ```
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
