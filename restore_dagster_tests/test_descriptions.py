"""Descriptions: dates with their precision, validation, album defaults, the CLI and file-name hints."""
from __future__ import annotations

from datetime import date

import pytest

from restore_dagster.cli import main
from restore_dagster.date_hints import date_hint
from restore_dagster.descriptions import Description, DescriptionError, DescriptionStore, parse_date, parse_people
from restore_dagster.lineage import fingerprints
from restore_dagster.settings import PhotoSettings
from restore_dagster_tests.conftest import write_scan


@pytest.mark.parametrize(
    "typed, stored, precision, approximate",
    [
        ("1962-06-14", "1962-06-14", "day", False),
        ("1962-06", "1962-06", "month", False),
        ("1962", "1962", "year", False),
        ("about 1960", "about 1960", "year", True),
        ("circa 1960", "about 1960", "year", True),
        ("ca. 1962-06", "about 1962-06", "month", True),
        ("1960s", "1960s", "decade", False),
        ("约1960", "about 1960", "year", True),
        ("1960年代", "1960s", "decade", False),
        ("1962-06-14T15:30Z", "1962-06-14 15:30:00+00:00", "time", False),
    ],
)
def test_dates_keep_their_precision(typed, stored, precision, approximate):
    parsed = parse_date(typed)
    assert (parsed.text, parsed.precision, parsed.approximate) == (stored, precision, approximate)
    assert parse_date(parsed.text) == parsed  # what is stored reads back the same


@pytest.mark.parametrize("typed", ["", "IMG_1962", "1962-13", "1962-02-30", "1961s", "1800", "2031", "62", "1962-06-14 25:00",
                                   "1962-06-14 10:00+15:00"])
def test_invalid_dates_are_refused_with_the_reason(typed):
    with pytest.raises(DescriptionError):
        parse_date(typed, today=date(2030, 1, 1))


def test_sorting_puts_a_vaguer_date_first_within_its_period():
    order = ["1962-06-14", "1960s", "1962", "1962-06", "1959-12-31", "about 1961"]
    assert sorted(order, key=lambda t: parse_date(t).sort_key) == ["1959-12-31", "1960s", "about 1961", "1962", "1962-06", "1962-06-14"]


def test_people_are_split_on_commas_including_chinese_ones_and_kept_once():
    assert parse_people("Anna, Ben，王芳、 anna ,, Jürgen  Müller") == ("Anna", "Ben", "王芳", "Jürgen Müller")
    with pytest.raises(DescriptionError):
        parse_people(", ".join(f"P{i}" for i in range(51)))


def test_store_validates_clears_and_applies_album_defaults_to_undated_photos_only(tmp_path):
    store = DescriptionStore(tmp_path)
    store.describe("Oma/a.jpg", date="1971", caption="Oma am See", people="Oma, Opa")
    store.describe("Oma/b.jpg", caption="ohne Datum")
    store.describe_album("Oma", date="1960s", place="Leipzig", coordinates="51.34, 12.37")
    a, b = store.effective("Oma/a.jpg", "Oma"), store.effective("Oma/b.jpg", "Oma")
    assert a.date == "1971" and b.date == "1960s" and b.from_album == ("date", "place")
    assert b.coordinates == (51.34, 12.37)
    with pytest.raises(DescriptionError):
        store.describe("Oma/a.jpg", date="soon")
    with pytest.raises(DescriptionError):
        store.describe("Oma/a.jpg", caption="bad\x00byte")
    with pytest.raises(DescriptionError):
        store.describe("Oma/a.jpg", coordinates="91, 0")
    with pytest.raises(DescriptionError):
        store.describe_album("Oma", caption="albums have no caption")
    assert store.photo("Oma/a.jpg").caption == "Oma am See"  # a refused change stores nothing
    store.describe("Oma/a.jpg", caption="")
    assert store.photo("Oma/a.jpg").caption == "" and store.photo("Oma/a.jpg").date == "1971"
    store.clear("Oma/a.jpg")
    assert store.photo("Oma/a.jpg").is_empty()
    assert "Oma/a.jpg" not in store.snapshot().photos


def test_only_the_published_fingerprint_depends_on_the_description(tmp_path):
    store = DescriptionStore(tmp_path)
    plain = fingerprints("1:2", PhotoSettings(), {}, {}, store.snapshot().signature("al/x.jpg", "al"))
    store.describe("al/x.jpg", caption="a")
    first = fingerprints("1:2", PhotoSettings(), {}, {}, store.snapshot().signature("al/x.jpg", "al"))
    store.describe("al/x.jpg", caption="b")
    second = fingerprints("1:2", PhotoSettings(), {}, {}, store.snapshot().signature("al/x.jpg", "al"))
    for stage in ("scanned", "upscaled", "colorized", "compressed"):
        assert plain[stage] == first[stage] == second[stage]
    assert len({plain["published"], first["published"], second["published"]}) == 3
    assert plain == fingerprints("1:2", PhotoSettings(), {}, {})  # undescribed photos keep their fingerprints


@pytest.mark.parametrize(
    "name, hint",
    [
        ("1962 wedding.jpg", "1962"),
        ("Hochzeit (1962).jpg", "1962"),
        ("Wedding 1962-06-14.png", "1962-06-14"),
        ("1960s beach.jpg", "1960s"),
        ("婚礼1962年.jpg", "1962"),
        ("IMG_1962.jpg", None),
        ("IMG_1962 wedding.jpg", None),
        ("DSC01962.JPG", None),
        ("scan-1962.jpg", None),
        ("20230501_101500.jpg", None),
        ("x1962.jpg", None),
        ("photo 3000.jpg", None),
    ],
)
def test_file_names_suggest_dates_but_counters_do_not(name, hint):
    assert date_hint(name) == hint


def test_cli_describes_before_the_first_run_album_wide_and_only_suggests_hints(layout, capsys):
    write_scan(layout.gallery / "Family 1962" / "1962 Wedding.jpg", seed=1)
    write_scan(layout.gallery / "Family 1962" / "beach.jpg", seed=2)
    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--caption", "Die Hochzeit 中文", "--people", "Anna, Ben"]) == 0
    out = capsys.readouterr().out
    assert "people = Anna, Ben" in out
    assert "the file name suggests the date 1962; not applied" in out
    store = DescriptionStore(layout.state)
    assert store.photo("Family 1962/1962 Wedding.jpg").date == ""  # a hint is never applied silently

    assert main(["describe", "--album", "Family 1962"]) == 0
    assert "the album's name suggests the date 1962; not applied" in capsys.readouterr().out
    assert main(["describe", "--album", "Family 1962", "--date", "about 1960"]) == 0
    assert main(["describe", "Family 1962/beach.jpg"]) == 0
    assert "date = about 1960 (from the album)" in capsys.readouterr().out

    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--date", "1962-06-14", "--place", "Köln",
                 "--coordinates", "50.94, 6.96"]) == 0
    own = store.photo("Family 1962/1962 Wedding.jpg")
    assert (own.date, own.place, own.coordinates, own.caption) == ("1962-06-14", "Köln", (50.94, 6.96), "Die Hochzeit 中文")
    capsys.readouterr()

    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--date", "IMG_1962"]) == 2
    assert "is not a date" in capsys.readouterr().err
    assert main(["describe", "Family 1962/missing.jpg", "--date", "1962"]) == 2
    assert main(["describe", "../etc/passwd", "--date", "1962"]) == 2
    assert main(["describe", "--album", "..", "--date", "1962"]) == 2
    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--clear", "--date", "bogus"]) == 2
    assert store.photo("Family 1962/1962 Wedding.jpg").caption == "Die Hochzeit 中文"  # a refused command clears nothing
    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--clear", "--people", "Oma"]) == 0
    assert store.photo("Family 1962/1962 Wedding.jpg") == Description(people=("Oma",))
    assert main(["describe", "Family 1962/1962 Wedding.jpg", "--clear"]) == 0
    assert store.photo("Family 1962/1962 Wedding.jpg").is_empty()


def test_a_broken_hand_edited_file_is_reported_never_overwritten(tmp_path):
    store = DescriptionStore(tmp_path)
    store.describe("al/x.jpg", caption="ok")
    store.path.write_text('{"photos": {"al/x.jpg": {"date": "soon", "people": "Anna"}}}')
    with pytest.raises(DescriptionError, match="al/x.jpg"):
        store.snapshot().effective("al/x.jpg", "al")
    assert store.snapshot().signature("al/x.jpg", "al").startswith("invalid:")  # published re-runs and fails, naming it
    assert store.snapshot().signature("al/y.jpg", "al") is None  # the other photos are not affected
    store.path.write_text("{not json")
    with pytest.raises(DescriptionError, match="descriptions.json cannot be read"):
        store.describe("al/x.jpg", caption="new")
    assert store.path.read_text() == "{not json"  # nothing overwritten
    with pytest.raises(DescriptionError, match="cannot be read"):
        store.snapshot().effective("al/y.jpg", "al")


def test_names_keep_joiners_and_direction_marks_but_not_control_characters():
    assert parse_people("Zoë, \u0645\u200c\u0631\u06cc\u0645, 👨\u200d👩\u200d👧") == ("Zoë", "\u0645\u200c\u0631\u06cc\u0645", "👨\u200d👩\u200d👧")
    with pytest.raises(DescriptionError):
        parse_people("Anna\x1b[31m")


def test_two_processes_describing_at_once_lose_nothing(tmp_path):
    import subprocess
    import sys

    script = ("import sys\nfrom restore_dagster.descriptions import DescriptionStore\n"
              "store = DescriptionStore(sys.argv[1])\n"
              "for i in range(25):\n    store.describe(f'al/{sys.argv[2]}{i}.jpg', caption=f'{sys.argv[2]} {i}')\n")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), name]) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert len(DescriptionStore(tmp_path).snapshot().photos) == 50
