"""Tiny numpy rasteriser for the ``rgb_array`` frames of the pure-python domains.

The original domains drew with gym's removed ``classic_control.rendering`` viewer (pyglet).
Here a frame is a (H, W, 3) uint8 array painted with a few filled shapes given in world
units, which is all `offpcc-pl record` needs and keeps the envs free of display libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Colour = tuple[int, int, int]

WHITE: Colour = (255, 255, 255)
BLACK: Colour = (0, 0, 0)
GREY: Colour = (150, 150, 150)
RED: Colour = (220, 40, 40)
GREEN: Colour = (40, 170, 40)
BLUE: Colour = (40, 80, 220)
CYAN: Colour = (90, 190, 230)

RENDER_MODES = ["rgb_array"]


def check_render_mode(render_mode: str | None) -> str | None:
    """Return ``render_mode`` if these envs can draw it, else raise a helpful error.

    Args:
        render_mode: requested mode, ``"rgb_array"`` or None.

    Returns:
        The same mode.

    Raises:
        ValueError: for any other mode, e.g. ``"human"``.
    """
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(
            f"render_mode={render_mode!r} is not supported; allowed: {RENDER_MODES} or None. "
            "For a window, use gymnasium.make(id, render_mode='human'), which wraps the "
            "rgb_array frames in gymnasium's HumanRendering (needs pygame)."
        )
    return render_mode


@dataclass(frozen=True)
class Canvas:
    """World-to-pixel mapping of an axis-aligned window; y points up in the world.

    Attributes:
        x_range: world (left, right) shown.
        y_range: world (bottom, top) shown.
        pixels_per_unit: scale; the frame is ``round(extent * scale)`` pixels each way.
    """

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    pixels_per_unit: float

    @property
    def shape(self) -> tuple[int, int]:
        """Frame (height, width) in pixels."""
        height = round((self.y_range[1] - self.y_range[0]) * self.pixels_per_unit)
        width = round((self.x_range[1] - self.x_range[0]) * self.pixels_per_unit)
        return height, width

    def blank(self, colour: Colour = WHITE) -> np.ndarray:
        """A new frame filled with ``colour``, shape (H, W, 3) uint8."""
        return np.full((*self.shape, 3), colour, dtype=np.uint8)

    def _pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates of every pixel centre: x (1, W) and y (H, 1)."""
        height, width = self.shape
        x = self.x_range[0] + (np.arange(width) + 0.5) / self.pixels_per_unit  # (W,)
        y = self.y_range[1] - (np.arange(height) + 0.5) / self.pixels_per_unit  # (H,)
        return x[None, :], y[:, None]

    def disc(
        self, frame: np.ndarray, centre: tuple[float, float], radius: float, colour: Colour
    ) -> None:
        """Paint a filled disc (world units) onto ``frame`` in place."""
        x, y = self._pixel_centres()
        # at least half a pixel, so that small markers stay visible
        radius = max(radius, 0.5 / self.pixels_per_unit)
        frame[(x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2] = colour

    def ring(
        self,
        frame: np.ndarray,
        centre: tuple[float, float],
        radius: float,
        width: float,
        colour: Colour,
    ) -> None:
        """Paint a circle outline of line ``width`` (world units) in place."""
        x, y = self._pixel_centres()
        distance = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2)  # (H, W)
        half_width = max(width, 1.0 / self.pixels_per_unit) / 2
        frame[np.abs(distance - radius) <= half_width] = colour

    def rect(
        self,
        frame: np.ndarray,
        low: tuple[float, float],
        high: tuple[float, float],
        colour: Colour,
    ) -> None:
        """Paint the filled rectangle with corners ``low`` (x, y) and ``high`` in place."""
        x, y = self._pixel_centres()
        inside = (x >= low[0]) & (x <= high[0]) & (y >= low[1]) & (y <= high[1])  # (H, W)
        frame[inside] = colour

    def segment(
        self,
        frame: np.ndarray,
        start: tuple[float, float],
        end: tuple[float, float],
        width: float,
        colour: Colour,
    ) -> None:
        """Paint a straight stroke of line ``width`` from ``start`` to ``end`` in place."""
        x, y = self._pixel_centres()
        direction = np.subtract(end, start)
        length_sq = max(float(direction @ direction), 1e-12)
        # projection of each pixel onto the segment, clamped to its ends
        along = ((x - start[0]) * direction[0] + (y - start[1]) * direction[1]) / length_sq
        along = np.clip(along, 0.0, 1.0)  # (H, W)
        dx = x - (start[0] + along * direction[0])
        dy = y - (start[1] + along * direction[1])
        half_width = max(width, 1.0 / self.pixels_per_unit) / 2
        frame[dx**2 + dy**2 <= half_width**2] = colour
