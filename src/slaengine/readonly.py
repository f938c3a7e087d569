"""A read-only mapping that pickles: the mappings inside a loaded policy set.

``types.MappingProxyType`` cannot be pickled, so a policy set holding one could not
reach a process pool started with "spawn" (or a cluster's workers). Registering a
reducer for the builtin type with ``copyreg`` would change pickling for every
program that imports slaengine; this type of our own pickles as its contents instead.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ReadOnlyMap(Mapping[K, V]):
    """A mapping that cannot be changed through its interface; pickles as a copy of its items.

    It holds its own copy of the items given, so changing the source later changes
    nothing here. Equal to any mapping with the same items, like a dict; not hashable.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._items: dict[K, V] = dict(items) if items is not None else {}

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # The dict's own views and look-up: as fast as the proxy this type replaces.
    def get(self, key: K, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self) -> KeysView[K]:
        return self._items.keys()

    def values(self) -> ValuesView[V]:
        return self._items.values()

    def items(self) -> ItemsView[K, V]:
        return self._items.items()

    def __repr__(self) -> str:
        return f"ReadOnlyMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyMap, (self._items,))


__all__ = ["ReadOnlyMap"]
