"""Restricted checkpoint reading: unknown classes become inert placeholders, code is never run.

Written against torch 2.13's ``torch.serialization`` internals (zip reader, ``_load``); these tests
pin that behaviour, so a torch upgrade that changes it fails here rather than in a photo's run.
"""

from __future__ import annotations

import builtins
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from restore_dagster.models import safe_checkpoint
from restore_dagster.models.safe_checkpoint import (
    Placeholder,
    UnsafeCheckpointError,
    load_checkpoint,
    loads_restricted,
)


class _Calls:
    """Unpickling this calls ``function(*args)``: what a malicious checkpoint does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _malicious_payloads(marker: Path):
    shell = f"touch {marker}"
    return {
        "os.system": _Calls(os.system, shell),
        "builtins.eval": _Calls(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.exec": _Calls(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "subprocess.call": _Calls(subprocess.call, ["touch", str(marker)]),
        "subprocess.Popen": _Calls(subprocess.Popen, ["touch", str(marker)]),
        "pathlib.Path.touch": _Calls(pathlib.Path.touch, pathlib.Path(marker)),
        "torch.load": _Calls(torch.load, str(marker)),
    }


@pytest.mark.parametrize("name", list(_malicious_payloads(Path("x"))))
def test_malicious_checkpoint_is_refused_and_runs_nothing(name, tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "best.ckpt"
    payload = _malicious_payloads(marker)[name]
    torch.save({"state_dict": {"generator.w": torch.zeros(2)}, "hyper_parameters": payload}, path)
    with pytest.raises(UnsafeCheckpointError, match="could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_reduce_on_an_allowed_object_that_is_not_callable_data_is_refused(tmp_path):
    """REDUCE is only allowed on allow-listed callables and placeholders: a tensor made by the
    allow-listed rebuilder is neither, so calling it (a crafted pickle) is refused."""
    # GLOBAL collections.OrderedDict, EMPTY_TUPLE, REDUCE -> an OrderedDict; then REDUCE on it.
    data = b"\x80\x04ccollections\nOrderedDict\n)R)R."
    with pytest.raises(UnsafeCheckpointError, match="REDUCE on OrderedDict"):
        loads_restricted(data)


def test_protocol_zero_instantiation_is_refused():
    data = b"(iunknown_module\nThing\n."  # INST: would instantiate a class found by name
    with pytest.raises(UnsafeCheckpointError, match="INST"):
        loads_restricted(data)


def test_unknown_function_is_only_recorded():
    """A name in a module that is not installed becomes a placeholder: calling it records the call."""
    data = pickle.dumps(_Calls(os.system, "x"), protocol=2).replace(b"posix", b"zzmod").replace(b"system", b"run__")
    loaded = loads_restricted(data)
    assert isinstance(loaded, Placeholder)
    assert (type(loaded).__module__, type(loaded).__qualname__, loaded.args) == ("zzmod", "run__", ("x",))


_THROWAWAY = '''
import pathlib

MARKER = None


class TrainingConfig(dict):
    """Like an OmegaConf/AttributeDict config: a dict subclass with attributes and state."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.flags = {"readonly": True}

    def __setstate__(self, state):
        pathlib.Path(MARKER).write_text("setstate ran")


class Callback:
    def __init__(self, monitor):
        self.monitor = monitor
        self.best = 0.25

    def __reduce__(self):
        return (Callback, (self.monitor,), {"best": self.best, "marker": MARKER})


def make(marker):
    global MARKER
    MARKER = marker
    return TrainingConfig(generator={"kind": "ffc_resnet", "n_blocks": 18}), Callback("val_loss")
'''


def test_classes_not_installed_load_as_inert_placeholders(tmp_path, monkeypatch):
    """A checkpoint pickling instances of classes that are not installed (Lightning callbacks,
    OmegaConf configs) loads: the tensors are real, those objects are placeholders holding their
    recorded state, and none of their code (``__setstate__``, ``__init__``) runs."""
    module_name = "throwaway_lightning_like"
    module_file = tmp_path / f"{module_name}.py"
    module_file.write_text(textwrap.dedent(_THROWAWAY))
    monkeypatch.syspath_prepend(str(tmp_path))
    marker = tmp_path / "code_ran"
    module = __import__(module_name)
    config, callback = module.make(str(marker))
    path = tmp_path / "best.ckpt"
    weights = OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3))
    torch.save({"state_dict": weights, "hyper_parameters": config, "callbacks": {"ModelCheckpoint": callback},
                "epoch": 3}, path)
    del sys.modules[module_name]
    module_file.unlink()
    del module, config, callback

    loaded = load_checkpoint(path)

    assert module_name not in sys.modules  # nothing was imported
    assert not marker.exists()
    assert torch.equal(loaded["state_dict"]["w"], weights["w"]) and loaded["epoch"] == 3
    config = loaded["hyper_parameters"]
    assert isinstance(config, Placeholder)
    assert (type(config).__module__, type(config).__qualname__) == (module_name, "TrainingConfig")
    assert config.items == {"generator": {"kind": "ffc_resnet", "n_blocks": 18}}
    assert config.state == {"flags": {"readonly": True}}
    callback = loaded["callbacks"]["ModelCheckpoint"]
    assert type(callback).__qualname__ == "Callback" and callback.args == ("val_loss",)
    assert callback.state == {"best": 0.25, "marker": str(marker)}


def test_builtin_types_are_placeholders_builtin_functions_refused():
    """OmegaConf metadata names types such as ``builtins.dict``; those read as placeholders."""
    loaded = loads_restricted(b"\x80\x04cbuiltins\ndict\n.")
    assert issubclass(loaded, Placeholder) and loaded.__qualname__ == "dict"
    for name in (b"getattr", b"__import__", b"open", b"compile"):
        with pytest.raises(UnsafeCheckpointError):
            loads_restricted(b"\x80\x04cbuiltins\n" + name + b"\n.")


@pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")
def test_torchscript_archive_is_refused(tmp_path):
    """torch.load would hand a TorchScript archive to torch.jit.load, which runs its code."""
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(UnsafeCheckpointError, match="TorchScript"):
        load_checkpoint(path)


def test_legacy_and_non_checkpoint_files_are_refused(tmp_path):
    legacy = tmp_path / "legacy.ckpt"
    torch.save({"state_dict": {}}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(pickle.UnpicklingError, match="not a zip-format PyTorch checkpoint"):
        load_checkpoint(legacy)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "absent.ckpt")


def test_tensors_storages_and_map_location_match_torch_load(tmp_path):
    """The torch 2.13 internals used (zip reader, _load) give what torch.load(weights_only=True) gives."""
    for internal in ("_is_zipfile", "_open_zipfile_reader", "_is_torchscript_zip", "_load"):
        assert hasattr(torch.serialization, internal), f"torch.serialization.{internal} is gone: see safe_checkpoint.py"
    base = torch.randn(4, 5)
    payload = {"a": base, "view": base[1:3, ::2], "half": base.half(), "p": torch.nn.Parameter(torch.ones(2)),
               "i": torch.arange(3), "size": torch.Size([2, 3]), "nested": [1, 2.5, "x", (None, True)]}
    path = tmp_path / "plain.ckpt"
    torch.save(payload, path)
    ours = load_checkpoint(path, map_location="cpu")
    theirs = torch.load(path, weights_only=True)
    assert ours.keys() == theirs.keys()
    for key in ("a", "view", "half", "p", "i"):
        assert torch.equal(ours[key], theirs[key]) and ours[key].dtype == theirs[key].dtype, key
    assert ours["view"].untyped_storage().data_ptr() == ours["a"].untyped_storage().data_ptr()  # shared storage
    assert isinstance(ours["p"], torch.nn.Parameter)
    assert ours["size"] == theirs["size"] and ours["nested"] == theirs["nested"]


def test_denied_modules_cover_the_usual_code_runners():
    for module in ("os", "posix", "subprocess", "importlib.util", "runpy", "pickle", "torch.hub", "ctypes"):
        assert safe_checkpoint._is_denied(module, "anything"), module
