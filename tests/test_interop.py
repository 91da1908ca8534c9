"""tinyjax.interop: PyTorch state_dicts both ways, the (out, in) layout, dtypes and precise errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tinyjax as tj
from tinyjax.tools.interop import from_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")


def _tinyjax_mlp():
    return tj.Sequential(tj.Linear(6, 8), tj.ReLU(), tj.Linear(8, 5), tj.Tanh(), tj.Linear(5, 3, bias=False))


def _torch_mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(6, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 5),
        torch.nn.Tanh(),
        torch.nn.Linear(5, 3, bias=False),
    )


def test_torch_sequential_reproduces_tinyjax_outputs():
    model = _tinyjax_mlp()
    params = model.init(jax.random.key(0))
    net = _torch_mlp()
    result = net.load_state_dict(to_torch_state_dict(params, model))
    assert not result.missing_keys and not result.unexpected_keys
    x = np.array(jax.random.normal(jax.random.key(1), (7, 6)))
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.asarray(model.apply(params, x)), expected, rtol=1e-5, atol=1e-6)
    assert tuple(net[0].weight.shape) == (8, 6)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), np.asarray(params[0]["weight"]).T)


def test_torch_trained_weights_run_in_tinyjax():
    torch.manual_seed(0)
    net = _torch_mlp()
    model = _tinyjax_mlp()
    params = from_torch_state_dict(net.state_dict(), model)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.asarray(model.apply(params, x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_round_trip_both_ways_is_bit_exact(dtype):
    model = tj.Sequential(tj.Linear(3, 4, dtype=dtype), tj.GELU(), tj.Linear(4, 2, dtype=dtype))
    params = jax.tree_util.tree_map(
        lambda a: (a + jax.random.normal(jax.random.key(5), a.shape)).astype(dtype), model.init(jax.random.key(4))
    )
    state = to_torch_state_dict(params, model)
    assert state["0.weight"].dtype == {jnp.float32: torch.float32, jnp.bfloat16: torch.bfloat16}.get(
        dtype, torch.float16
    )
    back = from_torch_state_dict(state, model)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(back), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(
            np.asarray(a).view(np.uint16 if a.dtype.itemsize == 2 else np.uint32),
            np.asarray(b).view(np.uint16 if b.dtype.itemsize == 2 else np.uint32),
        )
    again = to_torch_state_dict(back, model)
    for name, tensor in state.items():
        assert torch.equal(tensor, again[name])


def test_mismatches_are_listed_in_torch_layout():
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    model = tj.Sequential(tj.Linear(6, 9), tj.ReLU(), tj.Linear(9, 4, dtype=jnp.float16), tj.ReLU(), tj.Linear(4, 2))
    with pytest.raises(tj.WeightsMismatchError) as info:
        from_torch_state_dict(net.state_dict(), model)
    message = str(info.value)
    for line in (
        "tensor '0.weight': expected shape (9, 6), got (8, 6)",
        "tensor '0.bias': expected shape (9,), got (8,)",
        "tensor '2.weight': expected shape (4, 9), got (4, 8)",
        "tensor '2.weight': expected dtype float16, got float32",
        "tensor '2.bias': expected dtype float16, got float32",
        "missing tensor '4.weight': expected shape (2, 4) float32",
        "missing tensor '4.bias'",
    ):
        assert line in message
    assert len(info.value.differences) == 7


def test_extra_torch_entries_are_named():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    with pytest.raises(tj.WeightsMismatchError, match=r"unexpected tensor '1.running_mean' of shape \(2,\)"):
        from_torch_state_dict(net.state_dict(), tj.Sequential(tj.Linear(3, 2)))


def test_non_tensor_entry_is_a_config_error():
    with pytest.raises(tj.ConfigError, match="'weight' is list"):
        from_torch_state_dict({"weight": [[1.0]]}, tj.Linear(1, 1, bias=False))
