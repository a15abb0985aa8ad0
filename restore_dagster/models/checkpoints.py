"""Reading a model's weights out of an official checkpoint file, safely (no Dagster here).

One place for what every model loader needs: the file read without running any code it pickles
(``safe_checkpoint``: allow-listed tensors and containers, anything else an inert placeholder, code
refused), the state_dict found where the checkpoint keeps it, and one error type that names the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from restore_dagster.models.safe_checkpoint import UnsafeCheckpointError, load_checkpoint


class CheckpointError(ValueError):
    """The file is there but is not a usable checkpoint of the model (corrupt, unsafe or another model's)."""


def read_state_dict(path: Path, *, under: str | None, what: str) -> dict[str, torch.Tensor]:
    """The dict of tensors at ``checkpoint[under]`` (or the checkpoint itself when ``under`` is None).

    ``what`` names the model in errors ("BOPBTL scratch-detection"). A missing file raises
    FileNotFoundError; anything else wrong raises CheckpointError naming ``path`` and the reason.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} weights file not found (or not a regular file)")
    try:
        checkpoint = load_checkpoint(path)
    except UnsafeCheckpointError as exc:
        raise CheckpointError(f"{path}: refused to load: {exc}") from None
    except MemoryError:
        raise
    except (pickle.UnpicklingError, Exception) as exc:  # torch raises RuntimeError, EOFError, KeyError... on bad files
        first_line = str(exc).splitlines()[0] if str(exc) else "no details"
        raise CheckpointError(f"{path}: unreadable checkpoint (truncated, corrupt or not a PyTorch file): "
                              f"{type(exc).__name__}: {first_line}") from exc
    state = checkpoint.get(under) if under is not None and isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        where = f"under {under!r}" if under else "at its top level"
        raise CheckpointError(f"{path}: not a {what} checkpoint: no dict of tensors {where}")
    return dict(state)
