"""What initializers and optimizers share: typed options, and registries by name.

Registries are extended by other packages through entry points, so a third-party
method is used exactly like a built-in one (``--init NAME``, ``--opt NAME``).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, TypeVar

from biobench.errors import PluginError

T = TypeVar("T")


class Plugin:
    """Constructor arguments are the method's options (scikit-learn style), checked against ``defaults``."""

    kind: ClassVar[str] = "plugin"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}  # option -> default; the default's type is enforced

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            known = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items()) or "none"
            raise PluginError(f"{self.kind} {self.name!r} has no option(s) {unknown}; its options: {known}.")
        self.options = {**self.defaults}
        for key, value in options.items():
            self.options[key] = self._coerce(key, value, self.defaults[key])
        self.check_options()

    def check_options(self) -> None:
        """Raise ``PluginError`` for option values the method cannot use (called on construction)."""

    def _coerce(self, key: str, value: Any, default: Any) -> Any:
        """Options from the command line arrive as strings; give them the default's type."""
        if default is None or (type(value) is type(default)):
            return value
        try:
            if isinstance(default, bool):
                lowered = str(value).lower()
                if lowered not in ("true", "1", "yes", "false", "0", "no"):
                    raise ValueError(value)
                return lowered in ("true", "1", "yes")
            if isinstance(default, int) and float(value) != int(float(value)):
                raise ValueError(value)
            return type(default)(float(value)) if isinstance(default, int) else type(default)(value)
        except (TypeError, ValueError):
            raise PluginError(
                f"{self.kind} {self.name!r}: option {key}={value!r} is not a valid {type(default).__name__}."
            ) from None


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
