"""What initializers and optimizers share: options as pydantic models, and registries by name.

A plugin declares its options as a pydantic model (``class Options(PluginOptions)``):
defaults, types and bounds in one place, which validates what the user typed (strings
from the command line, values from YAML) and which ``biobench plugins`` lists.
Registries are extended by other packages through entry points, so a third-party
method is used exactly like a built-in one (``--init NAME``, ``--opt NAME``).
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from biobench.errors import PluginError

T = TypeVar("T")


class PluginOptions(BaseModel):
    """A plugin's options; subclasses add fields (``Field(10, ge=1)``). Unknown options are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_LIMITS = {"greater_than_equal": "at least", "greater_than": "greater than", "less_than_equal": "at most",
           "less_than": "less than"}
_TYPES = {"int_parsing": "int", "int_from_float": "int", "int_type": "int", "float_parsing": "float",
          "float_type": "float", "bool_parsing": "bool", "bool_type": "bool", "string_type": "str"}


def describe_options(options: type[PluginOptions]) -> str:
    """``name=default (constraint)`` for every option, as ``biobench plugins`` and errors list them."""
    parts = []
    for name, info in options.model_fields.items():
        limits = [f"{sign} {getattr(m, attr)}" for m in info.metadata for attr, sign in
                  (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if getattr(m, attr, None) is not None]
        choices = get_args(info.annotation)
        detail = " | ".join(map(str, choices)) if choices and all(isinstance(c, str) for c in choices) else \
            ", ".join(limits)
        default = info.get_default(call_default_factory=True)  # a default_factory's value, not PydanticUndefined
        parts.append(f"{name}={default!r}" + (f" ({detail})" if detail else ""))
    return ", ".join(parts) or "none"


def _option_error(exc: ValidationError, kind: str, name: str, options: type[PluginOptions]) -> PluginError:
    unknown = sorted(str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden")
    if unknown:
        return PluginError(f"{kind} {name!r} has no option(s) {unknown}; its options: {describe_options(options)}.")
    lines = []
    for err in exc.errors():
        option = ".".join(map(str, err["loc"]))
        value = err.get("input")
        context = err.get("ctx") or {}
        if err["type"] in _TYPES:
            lines.append(f"option {option}={value!r} is not a valid {_TYPES[err['type']]}")
        elif err["type"] in _LIMITS:
            limit = next(iter(context.values()))
            lines.append(f"{option} must be {_LIMITS[err['type']]} {limit}, not {value!r}")
        elif err["type"] == "literal_error":
            lines.append(f"{option} must be one of {context.get('expected', '')}, not {value!r}")
        else:
            lines.append(f"option {option}={value!r}: {err['msg']}")
    return PluginError(f"{kind} {name!r}: {'; '.join(lines)}.")


class Plugin:
    """Constructor arguments are the method's options (scikit-learn style), validated by its ``Options`` model."""

    kind: ClassVar[str] = "plugin"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[PluginOptions]] = PluginOptions
    # Options added after results were stored, each with the default that behaves as the method did before:
    # left out of a start's identity while at that default, so stores made before the option existed still
    # hold the same starts (a rerun finds them instead of duplicating them).
    added_later: ClassVar[dict[str, Any]] = {}

    @classmethod
    def report_figures(cls, runs, problems) -> list:
        """Figures of this method's own diagnostics for the HTML report (``biobench.plotting.Figure``), drawn from
        the store's runs (with convergence columns; every method's, so a family can compare its members) and
        problems frames. The report asks every method that ran and never imports a method's internals; methods
        sharing this function (one family) are asked once."""
        return []

    def __init__(self, **options: Any) -> None:
        try:
            self.settings = self.Options.model_validate(options)
        except ValidationError as exc:
            raise _option_error(exc, self.kind, self.name, self.Options) from None
        self.options: dict[str, Any] = self.settings.model_dump()  # with defaults: what records and keys store

    @property
    def identity_options(self) -> dict[str, Any]:
        """The options that name a start: all of them, less those ``added_later`` at their old behaviour."""
        return {key: value for key, value in self.options.items()
                if not (key in self.added_later and value == self.added_later[key])}


class Registry(Generic[T]):
    """Plugins keyed by name; refuses duplicates, loads entry points on first lookup."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind, self.group = kind, group
        self._items: dict[str, type[T]] = {}
        self._lazy: dict[str, str] = {}  # name -> module that registers it when imported
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

    def register_lazily(self, name: str, module: str) -> None:
        """``name`` is registered by importing ``module`` on first lookup: plugins built on torch stay out of
        the import of every command that does not use them."""
        self._lazy[name] = module

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
        if name not in self._items and name in self._lazy:
            importlib.import_module(self._lazy[name])
        try:
            return self._items[name]
        except KeyError:
            known = self.names()  # the lazily registered ones too (the learning initializers, bo, ...)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise PluginError(f"unknown {self.kind} {name!r}; available: {', '.join(known)}.{hint} "
                              "Run 'biobench plugins' to see them all.") from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items.keys() | self._lazy.keys())
