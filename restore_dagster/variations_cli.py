"""``restore-photos variations``: a photo's colour variations, made now, listed, and one chosen.

    restore-photos variations KEY              make them now (through the colour_variations asset, in
                                               this process, progress on the terminal) and list them
    restore-photos variations KEY --max 4 --render-factors 20,35 --input-sizes 256
                                               a smaller or different sheet (fewer candidates cost less)
    restore-photos variations KEY --request    ask the running daemon for them, as the web viewer does
    restore-photos variations KEY --list       list the last ones made (no model runs)
    restore-photos variations KEY --choose ID  make candidate ID (or its number in the list) the photo's
                                               colouring; the photo is then redone from 'colorized'

Choosing is the same as ``restore-photos settings KEY --model M --render-factor N`` (or
``--input-size N``), taken from the candidate the owner looked at.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from restore_dagster.config import Layout


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "variations", help="one photo coloured by each colouriser at a few knobs: make them, list them, choose one",
        description="Makes a contact sheet of candidate colourings of one photo (the models whose weights are "
                    "here, 6-9 candidates), or chooses one of them as the photo's colouring.")
    parser.add_argument("key", help="a photo key, e.g. family-1962/wedding (restore-photos status --photos lists them)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the variations made last, make nothing")
    what.add_argument("--request", action="store_true",
                      help="ask the running daemon to make them (its colour_variations_sensor), as the web viewer does")
    what.add_argument("--choose", metavar="ID", help="a candidate's id (deoldify-artistic-20) or its number in the list")
    parser.add_argument("--max", type=int, metavar="N", help="at most N candidates (default 9)")
    parser.add_argument("--render-factors", type=_numbers, metavar="A,B", help="DeOldify's knobs to try (default 35,20,45,28)")
    parser.add_argument("--input-sizes", type=_numbers, metavar="A,B", help="DDColor's knobs to try (default 512,256,768,384)")
    parser.set_defaults(func=cmd_variations)


def _numbers(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of whole numbers separated by commas")
    return values


def cmd_variations(args, layout: Layout) -> int:
    from restore_dagster import variations
    from restore_dagster.registry import RegistryStore

    if args.key not in RegistryStore(layout.state).load().photos:
        print(f"error: no photo {args.key!r}; `restore-photos status --photos` lists the photos", file=sys.stderr)
        return 2
    if args.choose:
        return _choose(layout, args.key, args.choose)
    if args.request:
        from restore_dagster import variation_requests

        variation_requests.request(layout.state, args.key)
        print(f"asked for: the daemon's colour_variations_sensor starts them within a minute; then "
              f"`restore-photos variations {args.key} --list`")
        return 0
    if not args.list:
        config = {name: value for name, value in (("max_candidates", args.max), ("render_factors", args.render_factors),
                                                  ("input_sizes", args.input_sizes)) if value is not None}
        problem = _knob_problem(config)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        code = _make(layout, args.key, config)
        if code:
            return code
    listing = variations.read_listing(layout, args.key)
    if listing is None:
        print(f"no colour variations of {args.key} yet: `restore-photos variations {args.key}` makes them")
        return 1
    for line in variations.listing_summary(listing):
        print(line)
    if listing.get("sheet"):
        print(f"contact sheet: {variations.folder(layout, args.key) / listing['sheet']}")
        print(f"choose one with: restore-photos variations {args.key} --choose ID")
    return 0 if listing.get("state") != variations.FAILED else 1


def _knob_problem(config: dict) -> str:
    """Why these knobs cannot be tried (checked here: a bad one would fail the run after loading a model)."""
    from restore_dagster.settings import PhotoSettings

    if config.get("max_candidates") is not None and not 1 <= config["max_candidates"] <= 32:
        return "--max must be between 1 and 32"
    try:
        for value in config.get("render_factors", []):
            PhotoSettings(render_factor=value)
        for value in config.get("input_sizes", []):
            PhotoSettings(input_size=value)
    except ValueError as exc:
        return str(exc).removeprefix("invalid settings: ")
    return ""


def _make(layout: Layout, key: str, config: dict) -> int:
    """Materialise colour_variations for ``key`` here: the run is in the instance like the daemon's."""
    import dagster as dg

    from restore_dagster.assets.colour_variations import colour_variations
    from restore_dagster.instance import get_instance
    from restore_dagster.owner import Owner
    from restore_dagster.partitions import photos
    from restore_dagster.resources import GpuResource, StorageResource
    from restore_dagster.stopping import SignalStop

    instance = get_instance(layout)
    if key not in set(instance.get_dynamic_partitions(photos.name)):
        instance.add_dynamic_partitions(photos.name, [key])  # registered but not yet seen by a run or the sensor
    storage = StorageResource(home=str(layout.root), gallery_path=str(layout.gallery))
    gpu = GpuResource()
    cost = ("on this CPU each candidate takes several seconds (about a minute for 9 on an idle 2-core machine, "
            "see BENCHMARKS.md)" if gpu.torch_device == "cpu" else f"on {gpu.torch_device} a candidate takes a fraction of a second once its model is loaded")
    print(f"making colour variations of {key}: {cost}; progress below", file=sys.stderr)
    with SignalStop() as stop, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = dg.materialize([colour_variations], instance=instance, partition_key=key,
                                resources={"storage": storage, "gpu": gpu},
                                tags={"restore/via": "cli", **Owner.this_process().tags()}, raise_on_error=False,
                                run_config={"ops": {"colour_variations": {"config": config}}})
    if stop.requested:
        return stop.exit_code
    if not result.success:
        print(f"error: the variations of {key} failed (see run {result.run_id} in the Dagster UI)", file=sys.stderr)
    return 0


def _choose(layout: Layout, key: str, wanted: str) -> int:
    from restore_dagster import variations
    from restore_dagster.settings import SettingsStore

    listing = variations.read_listing(layout, key) or {}
    candidates = listing.get("candidates") or []
    if wanted.isdigit() and 1 <= int(wanted) <= len(candidates):
        wanted = candidates[int(wanted) - 1]["id"]
    try:
        choice = variations.choose(layout, SettingsStore(layout.state), key, wanted)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    knob, value = choice.settings.colour_knob
    print(f"model = {choice.settings.model}\n{knob} = {value}")
    if choice.note:
        print(choice.note)
    if choice.changed:
        print(f"the photo is redone from 'colorized' by the sensor, or now with: restore-photos run --photo {key}")
    else:
        print("this already was the photo's colouring: nothing to redo")
    return 0
