"""Thread-safe model cache keyed by (spec, device, precision, ...), bounded by bytes (LRU)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


def nbytes_of(obj: Any) -> int:
    """Best-effort size in bytes: torch modules/tensors, numpy arrays, objects with ``nbytes``."""
    if hasattr(obj, "parameters") and hasattr(obj, "buffers"):
        return sum(t.numel() * t.element_size() for t in list(obj.parameters()) + list(obj.buffers()))
    if hasattr(obj, "element_size") and hasattr(obj, "numel"):
        return obj.numel() * obj.element_size()
    return int(getattr(obj, "nbytes", 0))


class ModelCache:
    """LRU cache bounded by total bytes; concurrent ``get_or_load`` of one key loads once.

    Args:
        max_bytes: eviction threshold. An entry larger than ``max_bytes`` is returned but not kept.
    """

    def __init__(self, max_bytes: int = 4 << 30):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._items.values())

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get_or_load(self, key: Hashable, loader: Callable[[], Any], nbytes: int | None = None) -> Any:
        """Return the cached value for ``key`` or build it with ``loader()`` (once, even across threads)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
            value = loader()
            size = nbytes if nbytes is not None else nbytes_of(value)
            with self._lock:
                self._key_locks.pop(key, None)
                if size <= self.max_bytes:
                    self._items[key] = (value, size)
                    self._evict()
            return value

    def _evict(self) -> None:
        total = sum(size for _, size in self._items.values())
        while total > self.max_bytes and self._items:
            _, (_, size) = self._items.popitem(last=False)
            total -= size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
