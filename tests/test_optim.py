"""Optimizers: five steps on a quadratic against the documented update rules computed by hand in NumPy
(and against torch.optim when PyTorch is installed), skipped parameters, state_dict round trips, dtypes,
and the errors bad input gets."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan import optim
from tinywgan.nn import MLP, Parameter

# The quadratic L(p) = 0.5 * sum(A * p^2) + sum(C * p), whose gradient is A * p + C.
RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 3.0, (2, 3))
C = RNG.uniform(-1.0, 1.0, (2, 3))
P0 = RNG.normal(size=(2, 3))

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.5, 0.9))),
    ("Adam", dict(lr=0.1, betas=(0.0, 0.9), eps=1e-3, weight_decay=0.1)),  # WGAN-GP's betas
]
CONFIG_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in hp.items())}" for name, hp in CONFIGS]


def reference_step(name: str, hp: dict, p, g, state: dict):
    """One update of the formula in PyTorch's documentation of torch.optim.<name>, on float64 NumPy arrays.
    ``state`` holds this parameter's step count t and buffers; returns the new p."""
    state["t"] = t = state.get("t", 0) + 1
    g = g + hp.get("weight_decay", 0.0) * p
    if name == "SGD":
        mu, tau = hp.get("momentum", 0.0), hp.get("dampening", 0.0)
        if mu:
            state["b"] = g.copy() if t == 1 else mu * state["b"] + (1 - tau) * g
            g = g + mu * state["b"] if hp.get("nesterov") else state["b"]
        return p - hp["lr"] * g
    if name == "RMSprop":
        alpha, eps, mu = hp.get("alpha", 0.99), hp.get("eps", 1e-8), hp.get("momentum", 0.0)
        state["v"] = alpha * state.get("v", 0.0) + (1 - alpha) * g ** 2
        v = state["v"]
        if hp.get("centered"):
            state["gbar"] = alpha * state.get("gbar", 0.0) + (1 - alpha) * g
            v = v - state["gbar"] ** 2
        if mu:
            state["b"] = mu * state.get("b", 0.0) + g / (np.sqrt(v) + eps)
            return p - hp["lr"] * state["b"]
        return p - hp["lr"] * g / (np.sqrt(v) + eps)
    assert name == "Adam"
    (beta1, beta2), eps = hp.get("betas", (0.9, 0.999)), hp.get("eps", 1e-8)
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g ** 2
    m_hat, v_hat = state["m"] / (1 - beta1 ** t), state["v"] / (1 - beta2 ** t)
    return p - hp["lr"] * m_hat / (np.sqrt(v_hat) + eps)


def param(values, device="cpu", dtype="float64") -> Parameter:
    # A copy: the optimizer updates in place, and to_device may share memory with a host array.
    return Parameter(backend.to_device(np.array(values, dtype=dtype), device))


def quadratic_step(optimizer, p: Parameter, a: tw.Tensor, c: tw.Tensor) -> None:
    optimizer.zero_grad()
    loss = 0.5 * (a * p * p).sum() + (c * p).sum()
    loss.backward()
    optimizer.step()


def constants(device):
    return tw.tensor(A, device=device), tw.tensor(C, device=device)


# -------------------------------------------------------------------------------------------------------
# The update rules


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_five_steps_match_the_documented_formula(device, name, hp):
    a, c = constants(device)
    p = param(P0, device)
    opt = getattr(optim, name)([p], **hp)
    expected, state = P0.copy(), {}
    for _ in range(5):
        quadratic_step(opt, p, a, c)
        expected = reference_step(name, hp, expected, A * expected + C, state)
        np.testing.assert_allclose(backend.to_numpy(p.data), expected, rtol=1e-12, atol=1e-12)
    assert opt.state[0]["step"] == 5
    assert not np.array_equal(expected, P0)


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_five_steps_match_torch_optim(name, hp):
    torch = pytest.importorskip("torch")
    a, c = constants("cpu")
    p = param(P0)
    opt = getattr(optim, name)([p], **hp)
    tp = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, name)([tp], **hp)
    ta, tc = torch.tensor(A), torch.tensor(C)
    for _ in range(5):
        quadratic_step(opt, p, a, c)
        topt.zero_grad()
        (0.5 * (ta * tp * tp).sum() + (tc * tp).sum()).backward()
        topt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_parameters_whose_gradients_are_one_array(device, name, hp):
    """backward() of p + q hands p and q the very same gradient array; an optimizer that kept it as state or
    changed it in place would update one parameter through the other."""
    c = tw.tensor(C, device=device)
    p, q = param(P0, device), param(-P0, device)
    opt = getattr(optim, name)([p, q], **hp)
    expected, states = [P0.copy(), -P0], [{}, {}]
    for _ in range(5):
        opt.zero_grad()
        (c * (p + q)).sum().backward()
        assert p.grad.data is q.grad.data
        opt.step()
        expected = [reference_step(name, hp, e, C.copy(), s) for e, s in zip(expected, states)]
        for t, e in zip((p, q), expected):
            np.testing.assert_allclose(backend.to_numpy(t.data), e, rtol=1e-12, atol=1e-12)


def test_defaults_are_pytorchs():
    p = param(P0)
    assert optim.SGD([p]).hyperparameters == dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                                                  nesterov=False)
    assert optim.RMSprop([p]).hyperparameters == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                                      momentum=0.0, centered=False)
    assert optim.Adam([p]).hyperparameters == dict(lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0)


# -------------------------------------------------------------------------------------------------------
# Parameters without a gradient are skipped


@pytest.mark.parametrize("name, hp", [CONFIGS[2], CONFIGS[6], CONFIGS[9]], ids=["SGD", "RMSprop", "Adam"])
def test_parameter_without_gradient_is_untouched(device, name, hp):
    """q takes part in steps 1, 2, 4, 5 only; r in none. A zero gradient would still move q at step 3
    (momentum, weight decay) and advance Adam's t; a skipped parameter keeps its values and its state."""
    a, c = constants(device)
    p, q, r = param(P0, device), param(-P0, device), param(P0 + 1, device)
    opt = getattr(optim, name)([p, q, r], **hp)
    expected_q, state_q = -P0, {}
    for step in range(1, 6):
        opt.zero_grad()
        loss = 0.5 * (a * p * p).sum() + (c * p).sum()
        if step != 3:
            loss = loss + 0.5 * (a * q * q).sum() + (c * q).sum()
        loss.backward()
        before = backend.to_numpy(q.data).copy()
        opt.step()
        if step == 3:
            assert q.grad is None
            assert np.array_equal(backend.to_numpy(q.data), before)
            assert opt.state[1]["step"] == 2
        else:
            expected_q = reference_step(name, hp, expected_q, A * expected_q + C, state_q)
        np.testing.assert_allclose(backend.to_numpy(q.data), expected_q, rtol=1e-12, atol=1e-12)
    assert opt.state[0]["step"] == 5 and opt.state[1]["step"] == 4
    assert 2 not in opt.state
    assert np.array_equal(backend.to_numpy(r.data), P0 + 1)


# tinywgan's state name -> the name reference_step keeps it under
STATE_NAMES = {"step": "t", "momentum_buffer": "b", "square_avg": "v", "grad_avg": "gbar", "exp_avg": "m",
               "exp_avg_sq": "v"}


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_lr_0_leaves_the_parameter_but_still_updates_the_state(device, name, hp):
    """With lr = 0 (a warm-up's first step, or LinearLR's last) p stays as it is, bit for bit, while the
    state moves as in PyTorch: the step count, momentum buffers, RMSprop's square_avg, Adam's m and v."""
    hp = {**hp, "lr": 0.0}
    a, c = constants(device)
    p = param(P0, device)
    opt = getattr(optim, name)([p], **hp)
    state = {}
    for _ in range(3):
        quadratic_step(opt, p, a, c)
        reference_step(name, hp, P0, A * P0 + C, state)
        assert np.array_equal(backend.to_numpy(p.data), P0)
    ours = opt.state[0]
    assert set(ours) == {"step"} | set(opt._state_arrays())  # plain SGD keeps only the count
    assert ours["step"] == state["t"] == 3
    for key in set(ours) - {"step"}:
        np.testing.assert_allclose(backend.to_numpy(ours[key]), state[STATE_NAMES[key]], rtol=1e-12, atol=1e-15,
                                   err_msg=key)


def test_zero_grad_sets_grads_to_none():
    p = param(P0)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    assert p.grad is not None
    opt.zero_grad()
    assert p.grad is None


# -------------------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_float32_stays_float32(device, name, hp):
    """Hyperparameters given as NumPy float64 scalars must not promote the float32 arrays (NEP 50)."""
    hp = {k: (tuple(np.float64(b) for b in v) if isinstance(v, tuple) else
              np.float64(v) if isinstance(v, float) else v) for k, v in hp.items()}
    a, c = (tw.tensor(x, dtype="float32", device=device) for x in (A, C))
    p = param(P0, device, "float32")
    opt = getattr(optim, name)([p], **hp)
    for _ in range(3):
        quadratic_step(opt, p, a, c)
    assert backend.to_numpy(p.data).dtype == np.float32
    for k, v in opt.state[0].items():
        assert k == "step" or backend.to_numpy(v).dtype == np.float32, k
    assert all(type(v) in (float, bool, list) for v in opt.hyperparameters.values())


def test_gradient_of_another_dtype_is_refused():
    p = param(P0, dtype="float32")
    p.grad = tw.tensor(np.ones((2, 3)), dtype="float64")
    with pytest.raises(ValueError,
                       match=r"parameter 0 is float32 of shape \(2, 3\) but its gradient is float64"):
        optim.Adam([p]).step()


# -------------------------------------------------------------------------------------------------------
# state_dict / load_state_dict


@pytest.mark.parametrize("name, hp", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_round_trip_continues_identically(device, name, hp):
    a, c = constants(device)
    p = param(P0, device)
    opt = getattr(optim, name)([p], **hp)
    for _ in range(3):
        quadratic_step(opt, p, a, c)
    saved = opt.state_dict()
    snapshot = {k: backend.to_numpy(v).copy() for k, v in saved["state"][0].items() if k != "step"}
    json.dumps({k: v for k, v in saved.items() if k != "state"})  # the rest is JSON-friendly
    assert saved["state"][0]["step"] == 3

    p2 = param(backend.to_numpy(p.data), device)
    opt2 = getattr(optim, name)([p2])  # the defaults: load_state_dict brings the saved hyperparameters
    opt2.load_state_dict(saved)
    assert opt2.hyperparameters == opt.hyperparameters
    for _ in range(2):
        quadratic_step(opt, p, a, c)
        quadratic_step(opt2, p2, a, c)
    assert np.array_equal(backend.to_numpy(p.data), backend.to_numpy(p2.data))
    for k, v in opt.state[0].items():
        assert np.array_equal(backend.to_numpy(v), backend.to_numpy(opt2.state[0][k])), k
    # The state_dict held copies: later steps did not change it.
    for k, v in snapshot.items():
        assert np.array_equal(backend.to_numpy(saved["state"][0][k]), v)


def test_load_state_dict_moves_arrays_to_the_parameters_device():
    p = param(P0)
    opt = optim.Adam([p])
    quadratic_step(opt, p, *constants("cpu"))
    q = param(P0, "strict")
    opt2 = optim.Adam([q])
    opt2.load_state_dict(opt.state_dict())
    assert backend.device_of(opt2.state[0]["exp_avg"]) == "strict"


def _adam_state():
    p, q = param(P0), param(np.ones(4))
    opt = optim.Adam([p, q], lr=0.1)
    quadratic_step(opt, p, *constants("cpu"))
    return opt.state_dict()


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(optimizer="SGD"), r"'SGD' optimizer, not 'Adam'"),
    (lambda s: s.update(num_parameters=3), r"state is for 3 parameters; this optimizer has 2"),
    (lambda s: s["state"][0].update(exp_avg=np.zeros((3, 2))),
     r"state\[0\]\['exp_avg'\] has shape \(3, 2\); parameter 0 has shape \(2, 3\)"),
    (lambda s: s["state"][0].update(exp_avg_sq=np.zeros((2, 3), np.float32)),
     r"state\[0\]\['exp_avg_sq'\] has dtype float32; parameter 0 has dtype float64"),
    (lambda s: s["state"][0].pop("exp_avg"), r"state\[0\] has entries \['exp_avg_sq', 'step'\]"),
    (lambda s: s["state"].update({5: s["state"][0]}), r"state\[5\] names no parameter"),
    (lambda s: s["state"][0].update(step=0), r"state\[0\]\['step'\] must be an integer >= 1"),
    (lambda s: s["hyperparameters"].pop("eps"), r"hyperparameters \['betas', 'lr', 'weight_decay'\]"),
    (lambda s: s["hyperparameters"].update(betas=[0.9, 1.5]), r"betas must be two numbers in \[0, 1\)"),
])
def test_load_state_dict_refuses_a_mismatch_and_changes_nothing(change, message):
    bad = _adam_state()
    change(bad)
    p, q = param(P0), param(np.ones(4))
    opt = optim.Adam([p, q], lr=0.5)
    quadratic_step(opt, p, *constants("cpu"))
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(bad)
    assert opt.hyperparameters == before["hyperparameters"]
    assert opt.state.keys() == before["state"].keys()
    assert np.array_equal(opt.state[0]["exp_avg"], before["state"][0]["exp_avg"])


# -------------------------------------------------------------------------------------------------------
# Construction errors


@pytest.mark.parametrize("make, error, message", [
    (lambda p: optim.SGD([]), ValueError, "empty parameter list"),
    (lambda p: optim.SGD(p), TypeError, "single Tensor"),
    (lambda p: optim.SGD([p, np.ones(3)]), TypeError, r"params\[1\] is a ndarray, not a Parameter"),
    (lambda p: optim.SGD([p, p]), ValueError, r"params\[1\] .* appears twice"),
    (lambda p: optim.SGD([tw.tensor([1.0])]), ValueError, "must be a leaf that requires grad"),
    (lambda p: optim.SGD([p], lr=-0.1), ValueError, "lr must be >= 0.0; got -0.1"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    (lambda p: optim.RMSprop([p], alpha=1.5), ValueError, r"alpha must be in \[0, 1\]"),
    (lambda p: optim.Adam([p], betas=(0.9, 1.0)), ValueError, r"betas must be two numbers in \[0, 1\)"),
    (lambda p: optim.Adam([p], eps=float("nan")), ValueError, "eps must be >= 0.0; got nan"),
])
def test_bad_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make(param(P0))


def test_module_parameters_and_repr():
    mlp = MLP([2, 4, 1])
    opt = optim.Adam(mlp.parameters(), lr=1e-4, betas=(0.0, 0.9))
    assert len(opt.params) == 4
    assert repr(opt) == "Adam(4 parameters, lr=0.0001, betas=[0.0, 0.9], eps=1e-08, weight_decay=0.0)"
    with pytest.raises(TypeError, match=r"params\[0\] is a Linear, not a Parameter"):
        optim.Adam(mlp)
