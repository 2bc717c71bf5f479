import threading
import time

import numpy as np
from talkinghead.runtime.cache import ModelCache


def test_eviction_is_lru_by_bytes():
    cache = ModelCache(max_bytes=300)
    for key in "abc":
        cache.get_or_load(key, lambda: np.zeros(100, np.uint8))
    assert cache.total_bytes == 300
    cache.get_or_load("a", lambda: (_ for _ in ()).throw(AssertionError("reloaded")))  # touch a
    cache.get_or_load("d", lambda: np.zeros(100, np.uint8))
    assert "b" not in cache and all(k in cache for k in "acd")
    assert cache.total_bytes <= 300


def test_oversized_entry_returned_but_not_kept():
    cache = ModelCache(max_bytes=10)
    value = cache.get_or_load("big", lambda: np.zeros(100, np.uint8))
    assert value.nbytes == 100 and "big" not in cache and len(cache) == 0


def test_torch_module_size_counted():
    import torch

    cache = ModelCache(max_bytes=1 << 20)
    cache.get_or_load("lin", lambda: torch.nn.Linear(10, 10))
    assert cache.total_bytes == (100 + 10) * 4


def test_concurrent_loads_run_loader_once():
    cache = ModelCache(max_bytes=1 << 20)
    calls = []
    barrier = threading.Barrier(8)

    def loader():
        calls.append(1)
        time.sleep(0.05)
        return np.ones(10)

    results = []

    def worker():
        barrier.wait()
        results.append(cache.get_or_load("shared", loader))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


def test_concurrent_distinct_keys_respect_bound():
    cache = ModelCache(max_bytes=1000)

    def worker(i):
        for j in range(50):
            cache.get_or_load((i, j % 7), lambda: np.zeros(100, np.uint8))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.total_bytes <= 1000
