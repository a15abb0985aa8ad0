"""Stopping ``restore-photos run`` on Ctrl-C or SIGTERM: cancel the current step, then leave.

The CLI runs each batch with ``dagster.materialize`` in a worker thread, so Dagster's own SIGINT
handling (which only works in the main thread and, while a step waits for a pool slot, never fires)
stays out of the way and the main thread always receives the signals. The first signal asks to
stop: the runner marks its run CANCELING, then ``cancel_steps()`` makes the worker raise Dagster's
``DagsterExecutionInterruptedError`` at the next checkpoint (between photos and before every module
call of a PyTorch model, so within one tile or one layer), and Dagster records the run as CANCELED.
A second signal ends the process at once; the run it leaves behind is cleaned up by the next
``run``, ``status`` or sensor tick (stale_runs.py).
"""
from __future__ import annotations

import os
import signal
import sys
import threading

import dagster as dg

_cancel = threading.Event()
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def checkpoint() -> None:
    """Raise Dagster's interruption inside a step when a stop was asked for (no-op otherwise)."""
    if _cancel.is_set():
        raise dg.DagsterExecutionInterruptedError("stopped on request (Ctrl-C or SIGTERM)")


def _module_hook(module, args) -> None:
    checkpoint()


class SignalStop:
    """Context manager for the main thread: the first SIGINT/SIGTERM asks to stop, the second exits."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._count = 0
        self._previous: dict = {}
        self._hook = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal).name if self.signal else ""

    @property
    def exit_code(self) -> int:
        return 128 + (self.signal or signal.SIGINT)

    def _handle(self, signo, frame) -> None:
        self._count += 1
        if self._count == 1:
            self.signal = signo
            sys.stderr.write(f"\n{signal.Signals(signo).name}: stopping after cancelling the current step "
                             "(press Ctrl-C again to quit at once)\n")
            sys.stderr.flush()
            return
        sys.stderr.write(f"\n{signal.Signals(signo).name} again: quitting now; the next `restore-photos run` "
                         "cleans up the unfinished run\n")
        sys.stderr.flush()
        os._exit(128 + signo)

    def cancel_steps(self) -> None:
        _cancel.set()

    def __enter__(self) -> "SignalStop":
        import torch

        _cancel.clear()
        for signo in SIGNALS:
            self._previous[signo] = signal.signal(signo, self._handle)
        # Checked before every module's forward: a photo's model call (DeOldify is one call per photo)
        # stops within one layer instead of running to its end.
        self._hook = torch.nn.modules.module.register_module_forward_pre_hook(_module_hook)
        return self

    def __exit__(self, *exc) -> None:
        for signo, handler in self._previous.items():
            signal.signal(signo, handler)
        if self._hook is not None:
            self._hook.remove()
        _cancel.clear()
