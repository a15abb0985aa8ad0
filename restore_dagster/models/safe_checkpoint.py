"""Read a pickled PyTorch checkpoint without running any code it names (no Dagster here).

``torch.load(weights_only=True)`` refuses any class outside its allow-list, which rejects training
checkpoints as published: a PyTorch Lightning ``.ckpt`` also pickles callbacks' state, OmegaConf
configs and ``hyper_parameters``, whose classes are not installed here (nor wanted). Plain
``torch.load`` would import and run them. This module reads such a file with a restricted
unpickler instead:

- globals on torch's own weights-only allow-list (tensor rebuilders, storages, dtypes,
  ``OrderedDict``, ...) are the real objects, as with ``weights_only=True``;
- any other global is replaced by an inert :class:`Placeholder` subclass named after it. Nothing is
  imported: the original class's code never runs. Calling a placeholder (pickle's REDUCE / NEWOBJ)
  and restoring its state (BUILD, SETITEMS, APPENDS) only record their arguments;
- globals that are known ways to run code refuse the whole file: a weights file has no business
  naming them, so it is reported rather than half-read. These are names in modules such as ``os``,
  ``subprocess``, ``importlib``, ``pickle`` or non-allow-listed ``torch.*`` (:data:`DENIED_MODULES`),
  builtins that are not types (``eval``, ``exec``, ``getattr``, ``open`` ...), and any name that
  resolves, in a module already imported here, to something other than a class (a function or
  method such as ``pathlib.Path.touch``: data is made of classes). That look-up reads
  ``sys.modules`` and class dictionaries statically: it never imports and never runs a getter;
- REDUCE / BUILD / NEWOBJ on anything that is neither allow-listed nor a placeholder is refused.

The zip container, storages and ``map_location`` are torch's own reader (``torch.serialization``
internals, whose names changed across versions: this is written against torch 2.13 and its tests
check that behaviour). Legacy (pre-1.6, non-zip) files and TorchScript archives are refused
(``torch.load`` would hand the latter to ``torch.jit.load``, which runs code).
"""

from __future__ import annotations

import _compat_pickle
import builtins
import inspect
import io
import os
import pickle
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.serialization as _serialization
from torch import _weights_only_unpickler

# Modules whose globals are ways to run code, reach processes or load more pickles. Prefix match on
# module paths ("os" covers "os.path"). Everything else unknown (numpy scalars, pathlib paths,
# OmegaConf nodes ...) becomes a placeholder, which is harmless; these are refused so that a
# malicious file is reported as such. torch is here too: only its allow-listed names are let through.
DENIED_MODULES = (
    "os", "posix", "nt", "sys", "subprocess", "_posixsubprocess", "shutil", "importlib", "runpy",
    "pickle", "_pickle", "copyreg", "marshal", "ctypes", "_ctypes", "socket", "code", "codeop", "pty",
    "multiprocessing", "webbrowser", "signal", "types", "functools", "operator", "inspect", "pdb",
    "bdb", "timeit", "trace", "dill", "cloudpickle", "torch",
)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint's pickle names something that could run code; nothing of it was run."""


class Placeholder:
    """An inert stand-in for an instance of a class that is not (or must not be) loaded.

    Subclasses carry the original's name in ``__module__``/``__qualname__``; instances record what
    pickle gave them: ``args`` (constructor / REDUCE arguments), ``kwargs``, ``state`` (BUILD),
    ``items`` (SETITEMS, for dict-like originals) and ``list_items`` (APPENDS).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Placeholder:
        instance = object.__new__(cls)
        object.__setattr__(instance, "args", args)
        object.__setattr__(instance, "kwargs", kwargs)
        object.__setattr__(instance, "state", None)
        object.__setattr__(instance, "items", {})
        object.__setattr__(instance, "list_items", [])
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # __new__ recorded everything; no original __init__ exists here

    def __setstate__(self, state: Any) -> None:
        object.__setattr__(self, "state", state)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.list_items.append(value)

    def extend(self, values: Any) -> None:
        self.list_items.extend(values)

    def __repr__(self) -> str:
        return f"<placeholder {type(self).__module__}.{type(self).__qualname__}>"


def _placeholder_class(module: str, name: str) -> type[Placeholder]:
    # A fresh class per global; its metadata only names the original (no import, no lookup).
    return type(name, (Placeholder,), {"__module__": module, "__qualname__": name, "__slots__": ()})


def _is_denied(module: str, name: str) -> bool:
    if module == "builtins" or module == "__builtin__":
        # Builtin types (dict, int, ... as OmegaConf metadata names them) are harmless as
        # placeholders; builtin functions (eval, exec, getattr, open, __import__ ...) are not data.
        return not isinstance(getattr(builtins, name, None), type) or name.startswith("_")
    if any(module == denied or module.startswith(denied + ".") for denied in DENIED_MODULES):
        return True
    found = _static_lookup(module, name)
    return found is not _MISSING and not isinstance(found, type)


_MISSING = object()


def _static_lookup(module: str, name: str) -> Any:
    """``module.name`` if the module is already imported, read without running any code; else _MISSING."""
    loaded = sys.modules.get(module)
    if not isinstance(loaded, ModuleType):
        return _MISSING
    parts = name.split(".")
    found = vars(loaded).get(parts[0], _MISSING)
    for part in parts[1:]:
        if found is _MISSING:
            break
        found = inspect.getattr_static(found, part, _MISSING)
    return found


class RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 - the pure-Python unpickler's dispatch is overridable
    """pickle's pure-Python unpickler with globals resolved as the module docstring says."""

    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

    def __init__(self, file: Any, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._allowed = _weights_only_unpickler._get_allowed_globals()  # noqa: SLF001
        self._allowed.update(_weights_only_unpickler._get_user_allowed_globals())  # noqa: SLF001
        self._allowed_objects = {id(value) for value in self._allowed.values()}
        self.placeholders: dict[str, type[Placeholder]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if not isinstance(module, str) or not isinstance(name, str):
            raise UnsafeCheckpointError(f"global with a non-string name: {module!r}.{name!r}")
        if self.proto < 3 and self.fix_imports:
            # What pickle's own find_class does: Python 2 names (torch.save writes protocol 2, so
            # subprocess.call is stored as "commands call") mapped to their Python 3 modules.
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if full in self._allowed:
            return self._allowed[full]
        if _is_denied(module, name):
            raise UnsafeCheckpointError(f"the pickle names {full}, which could run code")
        if full not in self.placeholders:
            self.placeholders[full] = _placeholder_class(module, name)
        return self.placeholders[full]

    def _check_callable(self, func: Any, opcode: str) -> None:
        if isinstance(func, type) and issubclass(func, Placeholder):
            return
        if id(func) in self._allowed_objects:
            return
        raise UnsafeCheckpointError(f"{opcode} on {func!r}, which is neither allow-listed nor a placeholder")

    def load_reduce(self) -> None:
        self._check_callable(self.stack[-2], "REDUCE")
        super().load_reduce()

    def load_newobj(self) -> None:
        self._check_callable(self.stack[-2], "NEWOBJ")
        super().load_newobj()

    def load_newobj_ex(self) -> None:
        self._check_callable(self.stack[-3], "NEWOBJ_EX")
        super().load_newobj_ex()

    def load_build(self) -> None:
        target = self.stack[-2]
        # torch's Parameter/Tensor rebuilders and OrderedDict are BUILD targets in ordinary
        # checkpoints (their __setstate__ is torch's / the standard library's own).
        if not isinstance(target, (Placeholder, torch.Tensor, dict)):
            raise UnsafeCheckpointError(f"BUILD on {type(target).__module__}.{type(target).__qualname__}")
        super().load_build()

    def load_inst(self) -> None:
        raise UnsafeCheckpointError("protocol-0 INST opcode (instantiates a class by name)")

    def load_obj(self) -> None:
        raise UnsafeCheckpointError("protocol-1 OBJ opcode (instantiates a class from the stack)")

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.INST[0]] = load_inst
    dispatch[pickle.OBJ[0]] = load_obj


class _RestrictedPickleModule:
    """What torch.serialization._load expects of ``pickle_module``: an Unpickler class (and load)."""

    Unpickler = RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """The object pickled in the zip-format checkpoint at ``path``, read as the module docstring says.

    Raises FileNotFoundError for a missing file, :class:`UnsafeCheckpointError` for a pickle that
    names code, and pickle.UnpicklingError for a file that is not a zip-format PyTorch checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (or not a regular file)")
    with open(path, "rb") as handle:
        if not _serialization._is_zipfile(handle):  # noqa: SLF001
            raise pickle.UnpicklingError(
                f"{path}: not a zip-format PyTorch checkpoint (legacy pre-1.6 files are not read)"
            )
        with _serialization._open_zipfile_reader(handle) as archive:  # noqa: SLF001
            if _serialization._is_torchscript_zip(archive):  # noqa: SLF001
                raise UnsafeCheckpointError(f"{path}: a TorchScript archive (holds code), not a checkpoint")
            # encoding="utf-8": what torch.load passes by default (Python 2 str pickles).
            return _serialization._load(archive, map_location, _RestrictedPickleModule,  # noqa: SLF001
                                        encoding="utf-8")


def loads_restricted(data: bytes) -> Any:
    """Unpickle plain ``data`` (no tensor storages) with the same rules; for tests and small records."""
    return RestrictedUnpickler(io.BytesIO(data)).load()
