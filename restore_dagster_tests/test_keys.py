import re

import pytest

from restore_dagster.keys import photo_slug, slugify, split_key, unique_slug

UI_SAFE = re.compile(r"^[a-z0-9._-]+$")


@pytest.mark.parametrize("name, slug", [
    ("Family 1962", "family-1962"),
    ("Café de Flore", "cafe-de-flore"),
    ("a, b [c]", "a-b-c"),
    ("dots...here", "dots.here"),
    ("--Wedding--", "wedding"),
])
def test_slugify_is_ascii_and_ui_safe(name, slug):
    assert slugify(name) == slug


def test_non_ascii_names_get_a_stable_hash():
    first = photo_slug("妈妈年轻时.jpg")
    assert first == photo_slug("妈妈年轻时.jpg") and UI_SAFE.match(first)
    assert first != photo_slug("爸爸年轻时.jpg")


def test_long_names_are_cut_with_a_hash_and_stay_unique():
    a, b = slugify("x" * 80 + "a"), slugify("x" * 80 + "b")
    assert len(a) <= 48 and a != b


def test_unique_slug_on_collision():
    taken = {"photo-1"}
    second = unique_slug("photo-1", "Photo 1.png", taken)
    assert second != "photo-1" and second.startswith("photo-1-") and UI_SAFE.match(second)


def test_split_key_refuses_what_is_not_a_key():
    assert split_key("album/photo") == ("album", "photo")
    for bad in ("album", "a/b/c", "A/b", "a b/c", "../etc"):
        with pytest.raises(ValueError):
            split_key(bad)
