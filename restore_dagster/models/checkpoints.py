"""Reading a model's weights out of an official checkpoint file, safely (no Dagster here).

One place for what every model loader needs: the file read without running any code it pickles
(``safe_checkpoint``: allow-listed tensors and containers, anything else an inert placeholder, code
refused), the state_dict found where the checkpoint keeps it, and one error type that names the file.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from restore_dagster.models.safe_checkpoint import UnsafeCheckpointError, load_checkpoint


class CheckpointError(ValueError):
    """The file is there but is not a usable checkpoint of the model (corrupt, unsafe or another model's)."""


def read_state_dict(path: Path, *, under: str | None, what: str, or_bare: bool = False) -> dict[str, torch.Tensor]:
    """The dict of tensors at ``checkpoint[under]`` (or the checkpoint itself when ``under`` is None).

    With ``or_bare``, a checkpoint without the key ``under`` is taken as the state_dict itself (some
    releases wrap it, some do not).

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
    wrapped = under is not None and isinstance(checkpoint, dict) and (under in checkpoint or not or_bare)
    state = checkpoint.get(under) if wrapped else checkpoint
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        where = f"under {under!r}" if under else "at its top level"
        where += " nor at its top level" if under and or_bare else ""
        raise CheckpointError(f"{path}: not a {what} checkpoint: no dict of tensors {where}")
    return dict(state)


def check_state_dict(expected: Mapping[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path, what: str,
                     *, shown_prefix: str = "") -> None:
    """Refuse ``state`` unless it has exactly ``expected``'s keys and shapes; make its floats float32, in place.

    The error names ``path``, the model (``what``) and a few keys of each kind of mismatch (shown with
    ``shown_prefix``, e.g. ``generator.``, as the file spells them).
    """
    missing = [shown_prefix + key for key in expected if key not in state]
    unexpected = [shown_prefix + key for key in state if key not in expected]
    wrong = [f"{shown_prefix}{key} {list(state[key].shape)} (expected {list(tensor.shape)})"
             for key, tensor in expected.items() if key in state and state[key].shape != tensor.shape]
    problems = [f"{len(items)} {label}: {', '.join(items[:4])}{', ...' if len(items) > 4 else ''}"
                for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if items]
    if problems:
        raise CheckpointError(f"{path}: not a {what} checkpoint: " + "; ".join(problems))
    for key, tensor in state.items():
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            state[key] = tensor.float()
