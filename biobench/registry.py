"""Name -> plugin class registries, extended by other packages through entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Generic, TypeVar

from biobench.errors import PluginError

T = TypeVar("T")


class Registry(Generic[T]):
    """Plugins keyed by name; refuses duplicates, loads entry points on first lookup."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._items: dict[str, type[T]] = {}
        self._loaded_entry_points = False

    def register(self, name: str):
        """Class decorator: ``@initializers.register("lhs")``."""

        def decorate(cls: type[T]) -> type[T]:
            if name in self._items and self._items[name] is not cls:
                raise PluginError(f"{self.kind} {name!r} is registered twice ({self._items[name]} and {cls}).")
            cls.name = name
            self._items[name] = cls
            return cls

        return decorate

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue
            try:
                cls = ep.load()
            except Exception as exc:
                raise PluginError(f"the {self.kind} plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
            self.register(ep.name)(cls)

    def get(self, name: str) -> type[T]:
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise PluginError(
                f"unknown {self.kind} {name!r}; available: {', '.join(sorted(self._items))}. "
                "Run 'biobench plugins' to see them all."
            ) from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)
