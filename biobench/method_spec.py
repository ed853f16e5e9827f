"""A method as the user named it: one frozen (kind, name, options) built once from what was typed.

The command line and bench configs make a ``MethodSpec`` before any slow work (which validates the name and
every option), pass it to the runner, and ship it to workers as plain values; ``build()`` makes the plugin
once per process and hands out that one instance after (plugins keep no state between starts), so a run of
n starts no longer builds its optimizer n + 2 times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from biobench.plugins import Plugin

Kind = Literal["initializer", "optimizer"]

_BUILT: dict[tuple[str, str, str], Plugin] = {}  # this process's plugins, by spec


def _registry(kind: Kind):
    if kind == "initializer":
        from biobench.initializers import initializers

        return initializers
    from biobench.optimizers import optimizers

    return optimizers


@dataclass(frozen=True)
class MethodSpec:
    """An initializer or optimizer by registry name, with every option (defaults filled in)."""

    kind: Kind
    name: str
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: Kind, method: MethodSpec | str, options: dict[str, Any] | None = None) -> MethodSpec:
        """A spec from a name and the options typed for it (validated now: an unknown name or option is a
        ``PluginError`` naming the choices), or ``method`` itself when it is a spec already."""
        if isinstance(method, MethodSpec):
            if options:
                raise TypeError(f"options are part of the spec {method.name!r}; pass them to MethodSpec.of")
            return method
        plugin = _registry(kind).get(method)(**dict(options or {}))
        spec = cls(kind, method, dict(plugin.options))
        _BUILT.setdefault(spec._key, plugin)
        return spec

    @classmethod
    def initializer(cls, name: MethodSpec | str, options: dict[str, Any] | None = None) -> MethodSpec:
        return cls.of("initializer", name, options)

    @classmethod
    def optimizer(cls, name: MethodSpec | str, options: dict[str, Any] | None = None) -> MethodSpec:
        return cls.of("optimizer", name, options)

    @property
    def _key(self) -> tuple[str, str, str]:
        return self.kind, self.name, json.dumps(self.options, sort_keys=True, default=str)

    def build(self) -> Any:
        """The plugin, made once per process for this spec."""
        if self._key not in _BUILT:
            _BUILT[self._key] = _registry(self.kind).get(self.name)(**self.options)
        return _BUILT[self._key]
