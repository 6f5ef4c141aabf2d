"""Registries of plug-in families (routers, scorers, ...).

Each family has one :class:`Registry`.  A plug-in registers a factory together with
the pydantic model of its parameters; the model's ``name`` literal is the key that a
policy file's ``name:`` field selects.  Built-ins register at the bottom of their own
module, like papermill's engines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["Registry", "UnknownPluginError"]

F = TypeVar("F", bound=Callable[..., Any])


class UnknownPluginError(KeyError):
    """A policy names a plug-in that is not registered; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[F]):
    """Name -> (factory, parameter model) for one family of plug-ins."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, tuple[F, type[BaseModel]]] = {}

    def register(self, name: str, params: type[BaseModel]) -> Callable[[F], F]:
        """Decorator: register *factory* under *name* with its parameter model."""
        if name in self._entries:
            raise ValueError(f"{self.family} {name!r} is already registered")

        def decorate(factory: F) -> F:
            self._entries[name] = (factory, params)
            return factory

        return decorate

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def _entry(self, name: str) -> tuple[F, type[BaseModel]]:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UnknownPluginError(f"unknown {self.family} {name!r}; known: {known}") from None

    def factory(self, name: str) -> F:
        """The factory registered under *name*."""
        return self._entry(name)[0]

    def params_model(self, name: str) -> type[BaseModel]:
        """The parameter model registered under *name*."""
        return self._entry(name)[1]

    def params_models(self) -> list[type[BaseModel]]:
        """All parameter models, in name order (for building a discriminated union)."""
        return [self._entries[n][1] for n in self.names()]

    def build(self, params: BaseModel, *args: Any, **kwargs: Any) -> Any:
        """Instantiate the plug-in selected by ``params.name``."""
        return self.factory(params.name)(params, *args, **kwargs)  # type: ignore[attr-defined]
