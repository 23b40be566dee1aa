"""Rendering without a screen: which backend a family's renderer gets on a headless machine.

Every family that renders through MuJoCo (``dmc``, ``reacher``, ``mujoco_top``) and the
commands that draw frames (``record``, ``render``) ask here, so that the rule is written once.
"""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """False on Linux/BSD without X11 or Wayland; macOS and Windows always have a screen."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def use_egl_when_headless() -> None:
    """Default ``MUJOCO_GL`` to ``egl`` on a machine without a display.

    Without a display MuJoCo's default GLFW backend cannot create a context, so offscreen
    rendering (``render_mode="rgb_array"``, pixel observations) fails. A value the user set is
    kept. It must run before ``dm_control`` is first imported: dm_control picks its backend on
    import.
    """
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "egl"
