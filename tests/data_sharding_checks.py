"""Run on 8 simulated devices by tests/test_data.py (XLA_FLAGS set there): prints JSON of the checks."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from tinyjax import data, sharding

x = np.arange(52 * 3, dtype=np.float32).reshape(52, 3)
y = np.arange(52, dtype=np.int32)
key = jax.random.key(7)
mesh = sharding.make_mesh(data=4, model=2)
expected = list(data.batches(key, (x, y), 8, drop_last=True))
out: dict[str, object] = {"devices": jax.device_count(), "expected_batches": len(expected)}
# An epoch of 103 rows for key 42, for the test process to compare with its own (another process,
# another device count).
out["epoch_42"] = [b.tolist() for b in data.batches(jax.random.key(42), np.arange(103), 16)]

host = list(sharding.sharded_batches(key, (x, y), 8, mesh))
out["host_batches"] = len(host)


def same(batches: list, want_batches: list) -> bool:
    pairs = [(a, e) for got, want in zip(batches, want_batches, strict=True) for a, e in zip(got, want, strict=True)]
    return all(np.array_equal(np.asarray(a), e) for a, e in pairs)


out["host_equal"] = same(host, expected)
out["host_spec"] = [list(a.sharding.spec) for a in host[0]]  # repr differs between jax versions
out["host_shard_rows"] = sorted({s.data.shape[0] for s in host[0][0].addressable_shards})

replicated = jax.sharding.NamedSharding(mesh, P())
xd, yd = jax.device_put((jnp.asarray(x), jnp.asarray(y)), replicated)  # on every device, once
list(sharding.sharded_batches(key, (xd, yd), 8, mesh))  # compile the gather before guarding
epoch = sharding.sharded_batches(key, (xd, yd), 8, mesh)
device = [next(epoch)]  # the epoch's setup (permutation, step counter) moves the key once
with jax.transfer_guard("disallow"):  # every later step transfers nothing
    device += list(epoch)
    out["device_specs"] = sorted({a.sharding.spec == P("data") for b in device for a in b})
out["device_batches"] = len(device)
out["device_equal"] = same(device, expected)
try:  # the guard does see a per-step transfer: data.batches indexes with a host array each step
    with jax.transfer_guard("disallow"):
        next(data.batches(key, (xd, yd), 8))
    out["guard_sees_host_index"] = False
except Exception:
    out["guard_sees_host_index"] = True
try:
    sharding.sharded_batches(key, (x, y), 6, mesh)
    out["refuses_6"] = False
except ValueError as error:
    out["refuses_6"] = type(error).__name__
print(json.dumps(out))
