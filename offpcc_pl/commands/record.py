"""``offpcc-pl record``: MP4 videos of a saved policy, rendered off-screen (no display needed)."""

from __future__ import annotations

import os

import numpy as np

from offpcc_pl.commands.common import (
    add_overwrite_arg,
    add_source_args,
    env_id_arg,
    load_source,
    make_parser,
    make_policy_env,
    positive_int,
    run_command,
)
from offpcc_pl.errors import ConfigError
from offpcc_pl.outputs import check_new_files, check_output_dir
from offpcc_pl.rollout import play_episode

DEFAULT_FPS = 30


def _parser():
    parser = make_parser(
        "record",
        "Write one MP4 per episode (render_mode=rgb_array): the reset frame, then one frame per "
        "step, so a video has episode length + 1 frames. Episode i resets with seed TEST_SEED + i.",
    )
    add_source_args(parser)
    parser.add_argument("--episodes", type=positive_int, default=1, help="episodes to record")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="directory to write the videos to, ENV-episodeI.mp4 each (default: RUN/videos "
        "beside the policy)",
    )
    add_overwrite_arg(parser, "videos of the same names in --out")
    parser.add_argument("--max_steps", type=positive_int, help="cut episodes after this many steps")
    parser.add_argument("--fps", type=positive_int, help="frame rate (default: the env's)")
    parser.add_argument(
        "--env_id", type=env_id_arg, help="record another env id (default: the training env)"
    )
    return parser


def even_frame(frame: np.ndarray) -> np.ndarray:
    """Pad to even height and width (H.264 with yuv420p needs them) by repeating the edge."""
    frame = np.asarray(frame, dtype=np.uint8)
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


def video_name(env_id: str, episode: int) -> str:
    return f"{env_id}-episode{episode}.mp4"


def _record(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    policy, run_dir = load_source(args)
    env_id = args.env_id or policy.env_id
    out = check_output_dir(args.out or run_dir / "videos", "--out")
    names = [video_name(env_id, i) for i in range(args.episodes)]
    check_new_files(out, names, "--out", args.overwrite)
    from offpcc_pl.envs.rendering import has_display, use_egl_when_headless

    use_egl_when_headless()  # before any MuJoCo renderer is created
    if not has_display():  # pygame (classic control) renders off-screen without a window
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import imageio.v2 as imageio

    from offpcc_pl.envs.make import TEST_SEED

    env = make_policy_env(policy, env_id, render_mode="rgb_array")
    if "rgb_array" not in (env.metadata.get("render_modes") or []):
        env.close()
        raise ConfigError(f"env '{env_id}' cannot render rgb_array frames, so it can't be recorded")
    out.mkdir(parents=True, exist_ok=True)
    fps = args.fps or int(env.metadata.get("render_fps") or DEFAULT_FPS)
    try:
        for i in range(args.episodes):
            path = out / names[i]
            writer = imageio.get_writer(
                path, fps=fps, codec="libx264", macro_block_size=1, ffmpeg_log_level="error"
            )
            try:
                result = play_episode(
                    policy,
                    env,
                    TEST_SEED + i,
                    max_steps=args.max_steps,
                    on_frame=lambda frame, w=writer: w.append_data(even_frame(frame)),
                )
            finally:
                writer.close()
            print(
                f"{path}: {result.length + 1} frames at {fps} fps, "
                f"return {result.episode_return:.3f}"
            )
    finally:
        env.close()
    return 0


def record_command(args: list[str]) -> int:
    """Entry of ``offpcc-pl record --ckpt_path FILE | --policy DIR [--episodes N] [--out DIR]``."""
    return run_command("record", _record, args)
