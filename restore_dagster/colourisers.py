"""Which colouriser a photo gets and how it is run: shared by the `colorized` stage and the colour
variations (which try several), with no Dagster in it."""


def should_colorize(mode: str, is_grey: bool) -> bool:
    return mode == "on" or (mode == "auto" and is_grey)


def model_label(model: str) -> str:
    """What the record and the owner call a ``settings.MODELS`` choice ("DeOldify artistic", ...)."""
    from restore_dagster.models.pinned_weights import PINNED_WEIGHTS

    if model.startswith("deoldify-"):
        return f"DeOldify {model.removeprefix('deoldify-')}"
    return PINNED_WEIGHTS[model].model


def run_colorizer(image, colorizer, settings):
    """The photo coloured by its model, with the model's own knob (render factor or input size)."""
    if settings.family == "deoldify":
        from restore_dagster.models import deoldify

        return deoldify.colorize(image, colorizer, render_factor=settings.render_factor)
    from restore_dagster.models import ddcolor

    return ddcolor.colorize_ddcolor(image, colorizer, input_size=settings.input_size)
