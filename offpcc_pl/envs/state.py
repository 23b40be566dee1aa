"""The state of a training env as plain data, so a checkpoint can carry the episode in progress.

A checkpoint is loaded with ``torch.load(weights_only=True)``: it may hold tensors
and plain Python values only, never a pickled object whose loading could run code. So the
env is not pickled; each env family that can describe its state as data does so here:

- pure-Python envs (classic control, our pendulum / cart-pole / water-maze / car domains):
  the plain attributes of every wrapper layer and of the env itself, plus their RNG states;
- MuJoCo envs: the same, plus ``mj_getState(mjSTATE_INTEGRATION)`` (qpos, qvel, act, time,
  warm start, controls), which restores the physics exactly;
- others (pybullet, dm_control): ``None``; the episode in progress is dropped on resume.

Loading writes the values into a freshly made env of the same id, attribute by attribute,
after checking that the wrapper layers and attribute names and types match.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch

from offpcc_pl.errors import CheckpointError

# Families whose whole state is plain attributes (checked: no other object in any layer).
PURE_PYTHON_MODULES = (
    "gymnasium.envs.classic_control",
    "offpcc_pl.envs.pendulum",
    "offpcc_pl.envs.cartpole",
    "offpcc_pl.envs.water_maze",
    "offpcc_pl.envs.car",
)
# Attributes that are configuration or links, never episode state.
_NOT_STATE = {
    "env",
    "spec",
    "metadata",
    "_metadata",
    "_cached_spec",
    "_saved_kwargs",
    "_previous_data",  # PassiveEnvChecker's record of the first step's output
    "_ezpickle_args",
    "_ezpickle_kwargs",
}
_MUJOCO_HANDLES = {"model", "data", "mujoco_renderer", "observation_structure"}
_SCALARS = (bool, int, float, str, type(None))


def _layers(env: gymnasium.Env) -> list[gymnasium.Env]:
    layers = [env]
    while isinstance(layers[-1], gymnasium.Wrapper):
        layers.append(layers[-1].env)
    return layers


def _to_data(value: Any) -> Any:
    """A plain value as checkpoint data, or raise TypeError for anything else."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, np.generic | np.ndarray):
        array = np.asarray(value)
        return {"array": torch.from_numpy(array.copy()), "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple | list):
        return {"items": [_to_data(v) for v in value], "tuple": isinstance(value, tuple)}
    raise TypeError(type(value).__name__)


def _from_data(data: Any) -> Any:
    if isinstance(data, dict) and "array" in data:
        array = data["array"].numpy().copy()
        return array[()] if data["scalar"] else array
    if isinstance(data, dict) and "items" in data:
        items = [_from_data(v) for v in data["items"]]
        return tuple(items) if data["tuple"] else items
    return data


def _rng_state(value: Any) -> dict | None:
    return None if value is None else dict(value.bit_generator.state)


def _layer_state(layer: gymnasium.Env, handles: set[str]) -> dict[str, Any]:
    """Plain attributes and RNG states of one layer; TypeError if something else holds state."""
    attrs, rngs = {}, {}
    for name, value in vars(layer).items():
        if name in _NOT_STATE or name in handles:
            continue
        if isinstance(value, np.random.Generator):
            rngs[name] = _rng_state(value)
        elif isinstance(value, gymnasium.spaces.Space):
            rngs[name] = _rng_state(value._np_random)  # action_space.sample() draws from it
        else:
            try:
                attrs[name] = _to_data(value)
            except TypeError as err:
                raise TypeError(f"{type(layer).__name__}.{name} is a {err}") from None
    return {"class": type(layer).__name__, "attrs": attrs, "rngs": rngs}


def _is_mujoco(env: gymnasium.Env) -> bool:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    return isinstance(env, MujocoEnv)


def env_state(env: gymnasium.Env) -> dict[str, Any] | None:
    """The env (all wrapper layers) as plain data, or None where its family can't say it."""
    unwrapped = env.unwrapped
    mujoco = type(unwrapped).__module__.startswith("gymnasium.envs.mujoco") and _is_mujoco(
        unwrapped
    )
    if not (mujoco or type(unwrapped).__module__.startswith(PURE_PYTHON_MODULES)):
        return None
    try:
        layers = [
            _layer_state(layer, _MUJOCO_HANDLES if layer is unwrapped and mujoco else set())
            for layer in _layers(env)
        ]
    except TypeError:  # an attribute that is not plain data: the state can't be saved
        return None
    state: dict[str, Any] = {"layers": layers}
    if mujoco:
        import mujoco as mj

        spec = mj.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mj.mj_stateSize(unwrapped.model, spec), dtype=np.float64)
        mj.mj_getState(unwrapped.model, unwrapped.data, physics, spec)
        state["mujoco"] = torch.from_numpy(physics)
    return state


def load_env_state(env: gymnasium.Env, state: dict[str, Any]) -> None:
    """Write :func:`env_state`'s data into ``env`` (made with the same id and options).

    Raises:
        CheckpointError: the saved layers or attributes do not match this env.
    """
    layers = _layers(env)
    saved = state["layers"]
    names = [type(layer).__name__ for layer in layers]
    if [s["class"] for s in saved] != names:
        raise CheckpointError(
            f"saved env layers {[s['class'] for s in saved]} do not match this env's {names}"
        )
    for layer, layer_state in zip(layers, saved):
        for name, data in layer_state["attrs"].items():
            if name not in vars(layer):
                raise CheckpointError(f"saved env attribute {names[0]}.{name} is unknown here")
            setattr(layer, name, _from_data(data))
        for name, rng in layer_state["rngs"].items():
            target = getattr(layer, name)
            if isinstance(target, gymnasium.spaces.Space):
                if rng is not None:
                    target.seed(0)  # creates the generator the state is written into
                    target._np_random.bit_generator.state = rng
            elif rng is not None:
                if target is None:
                    setattr(layer, name, np.random.default_rng())
                    target = getattr(layer, name)
                target.bit_generator.state = rng
    if "mujoco" in state:
        import mujoco as mj

        unwrapped = env.unwrapped
        spec = mj.mjtState.mjSTATE_INTEGRATION
        mj.mj_setState(unwrapped.model, unwrapped.data, state["mujoco"].numpy(), spec)
        mj.mj_forward(unwrapped.model, unwrapped.data)
