"""Checkpoints and run directories, in three modules by what each may import.

- :mod:`offpcc_pl.checkpointing.names`: where a run writes (run directories and their
  groups) and the algorithm names; the standard library only, so the CLI checks a command
  line with it before importing torch.
- :mod:`offpcc_pl.checkpointing.files`: reading a checkpoint (plain data only), the one
  atomic file writer, the run identity and the replay state inside a checkpoint; torch but
  no Lightning, so an exported policy loads without it.
- :mod:`offpcc_pl.checkpointing.savers`: Lightning's side: ``last.ckpt`` and ``best.ckpt``,
  written atomically, and the saves on SIGINT / SIGTERM and on a timer.
"""
