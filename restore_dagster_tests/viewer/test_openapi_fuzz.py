"""Property-based run over the web gallery's OpenAPI schema (schemathesis): no request gets a 5xx.

Every operation is fuzzed twice, as an anonymous visitor and as the logged-in owner, over a seeded
gallery: one album with a restored, a waiting and a failed photo, a share link and a photo in the
trash. Hooks give about half the cases only real path parameters (the album folder, photo file
names, share token, file kinds, trash item; the other cases keep generated values or get awkward
names such as a 300-byte one), and offer valid bodies beside the generated ones (a new or duplicate scan, valid
settings, the right password), so the fuzzer reaches the handlers behind the 404s and 422s. Each run
ends by checking that it did, and that an anonymous visitor got only 401 from every owner route
(or 400 for a body too malformed to parse).

Checked on every response: no server error, success bodies conform to their documented schema, and
error bodies are ``{"detail": ...}`` (see ``conforms_where_precise``). Deterministic (derandomized,
no example database) and bounded (``MAX_EXAMPLES`` per operation, positive and negative cases mixed).

Why not ``schemathesis.pytest.from_fixture(...).parametrize()``: with pytest 9.2 its lazy loader
fails on ``request.node._nodeid`` (schemathesis 4.32.5), so each operation's strategy is driven by
Hypothesis here, one subtest per operation.

The owner run leaves out POST /login and POST /logout: fuzzed logins are failed logins that the
rate limiter counts against the owner's client, and a logout ends the owner's session. Both run in
the anonymous run. Changes are undone after every case (``Gallery.repair``): a deleted album or
photo comes back from the trash, the trashed photo goes back there, a revoked share link returns
with the same token, changed settings and a cleared failure are put back. Titles stay as renamed.
"""
from __future__ import annotations

import collections
import io
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from restore_dagster.lineage import (
    failure_path, fingerprints, record_failure, repair_mask_path, scan_touchups, stage_file, weights_signatures, write_record,
)
from restore_dagster.registry import RegistryStore
from restore_dagster.settings import COLORIZE_MODES, MODELS, NOISE_LEVELS, REPAIR_MODES, SettingsStore
from restore_dagster.sync import plan_sync
from restore_dagster.viewer.views import KINDS
from restore_dagster_tests.viewer.conftest import OWNER_PASSWORD, create_album, csrf_of, jpeg_bytes, share_token, upload

MAX_EXAMPLES = 30
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)

# Names a browser never sends but any client can: the lookups must answer 404, never 500.
AWKWARD_NAMES = ("a" * 300, "a" * 300 + ".jpg", "é" * 200 + ".jpg", ".trash", "..", ".upload-x.tmp", "x.jpg.tmp", "%2e%2e", "\u202e.jpg")

PUBLIC = {"/login", "/logout", "/lang/{code}", "/manifest.webmanifest", "/icons/icon-{size}.png", "/healthz"}
# Operations each run must have seen succeed (2xx or 303) at least once: proof that the real values
# and valid bodies reach the handlers.
MUST_SUCCEED_ANONYMOUS = [
    "GET /s/{token}", "GET /s/{token}/api/photos", "GET /s/{token}/photos/{photo}", "GET /s/{token}/api/photos/{photo}",
    "GET /s/{token}/photos/{photo}/{kind}", "POST /login", "GET /lang/{code}", "GET /icons/icon-{size}.png",
]
MUST_SUCCEED_OWNER = [
    "GET /albums/{album}", "GET /api/albums/{album}/photos", "GET /albums/{album}/photos/{photo}",
    "GET /api/albums/{album}/photos/{photo}", "GET /albums/{album}/photos/{photo}/{kind}", "POST /albums",
    "POST /albums/{album}/rename", "POST /albums/{album}/delete", "POST /albums/{album}/share",
    "POST /albums/{album}/share/revoke", "POST /albums/{album}/photos", "POST /albums/{album}/photos/{photo}/rename",
    "POST /albums/{album}/photos/{photo}/delete", "POST /albums/{album}/photos/{photo}/settings",
    "POST /albums/{album}/photos/{photo}/retry", "POST /trash/{item}/restore",
    "GET /albums/{album}/photos/{photo}/repair/scan", "GET /albums/{album}/photos/{photo}/repair/mask",
    "POST /albums/{album}/photos/{photo}/repair-mask", "POST /albums/{album}/photos/{photo}/repair-mask/forget",
    "POST /albums/{album}/photos/{photo}/framing", "POST /albums/{album}/photos/{photo}/framing/reset",
]


# --- checks -----------------------------------------------------------------------------------------

def _documented_json_schema(case, status: int) -> dict | None:
    """The JSON schema the OpenAPI document gives for this status, or None."""
    response = case.operation.definition.raw.get("responses", {}).get(str(status)) or {}
    return response.get("content", {}).get("application/json", {}).get("schema") or None


def conforms_where_precise(ctx, response, case):
    """JSON bodies conform to the schema documented for their status, errors included.

    Redirects are documented by FastAPI as ``{}``: nothing to check. Every JSON error must at least be
    ``{"detail": ...}`` (text for a person, or FastAPI's list of invalid fields).
    """
    status = response.status_code
    if 400 <= status < 500 and "json" in (response.headers.get("content-type") or [""])[0]:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("detail"), (str, list)), f"error body without detail: {body!r}"
    if _documented_json_schema(case, status) is None:
        return None
    return response_schema_conformance(ctx, response, case)


CHECKS = [not_a_server_error, conforms_where_precise]


# --- the seeded gallery -----------------------------------------------------------------------------

@dataclass
class Gallery:
    """The seeded gallery, the real values the fuzzer may use, and what each operation answered."""

    app: object
    folder: str
    restored: str  # a photo with a current restoration
    waiting: str  # registered by the pipeline, not restored yet
    failed: str  # the pipeline recorded a failure on its current inputs
    token: str
    trashed: str  # the file name of a photo kept in the trash
    trash_item: str = ""
    state_files: dict = field(default_factory=dict)  # path -> bytes (None: absent) as seeded
    answers: dict = field(default_factory=lambda: collections.defaultdict(collections.Counter))

    @property
    def services(self):
        return self.app.state.services

    def real_values(self, name: str) -> list:
        """Real values of a path parameter, as callables: read when drawn (the trash item changes)."""
        return {
            "album": [lambda: self.folder],
            "photo": [lambda: self.restored, lambda: self.waiting, lambda: self.failed],
            "token": [lambda: self.token],
            "kind": [lambda k=k: k for k in KINDS],
            "item": [lambda: self.trash_item],
            "code": [lambda: "en", lambda: "zh"],
            "size": [lambda: 192],
        }.get(name, [])

    def repair(self) -> None:
        """Undo what a fuzzed change may have done, so every case starts from the seeded state."""
        library = self.services.library
        items = {(item.kind, item.album, item.filename): item.id for item in library.trash_items()}
        if ("album", self.folder, None) in items:
            library.restore(items[("album", self.folder, None)])
        for name in (self.restored, self.waiting, self.failed):
            if ("photo", self.folder, name) in items:
                library.restore(items[("photo", self.folder, name)])
        trashed = items.get(("photo", self.folder, self.trashed))
        if trashed is None:  # restored from the trash by the fuzzer (or not trashed yet): put it there
            trashed = library.trash_photo(self.folder, self.trashed)
        self.trash_item = trashed
        if self.services.shares.album_for(self.token) != self.folder:
            with self.services.web.connect() as db:  # the same token again (hashed and sealed), so drawn values stay valid
                self.services.shares._insert(db, self.folder, self.token, 0)
        for path, data in self.state_files.items():  # settings changed, failure cleared by a retry
            if data is None:
                path.unlink(missing_ok=True)
            elif not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)


def _register_and_publish(layout, gallery: Gallery) -> None:
    """What the pipeline would have left: keys for all photos, one restoration, one failure."""
    store = RegistryStore(layout.state)
    registry = store.load()
    library = gallery.services.library
    settings_store = SettingsStore(layout.state)
    plan_sync(library.gallery, layout, registry, settings_store)
    store.save(registry)
    weights, touchups = weights_signatures(layout), scan_touchups(layout)
    for name in (gallery.restored, gallery.failed):
        key = registry.key_for(f"{gallery.folder}/{name}")
        entry = registry.photos[key]
        desired = fingerprints(entry.signature, settings_store.get(key), touchups.get(key, {}), weights)
        if name == gallery.restored:
            library.gallery.publish(entry.source, jpeg_bytes((80, 60), 200, "RGB"), "jpg")
            write_record(layout, "published", key, desired["published"], None, {"width": 80, "height": 60, "format": "JPEG", "bytes": 1})
        else:
            record_failure(layout, key, "colorized", desired["colorized"], "out of memory", None)
    # All three scanned and repaired, so the repair-mask editor's routes have a scan and a mask to
    # serve whichever real photo is drawn (a saved correction is removed again after each case).
    for name in (gallery.restored, gallery.waiting, gallery.failed):
        key = registry.key_for(f"{gallery.folder}/{name}")
        scan = stage_file(layout, "scanned", key, "png")
        scan.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (90, 80, 70)).save(scan)
        write_record(layout, "scanned", key, "seeded", scan, {"width": 64, "height": 48})
        mask = stage_file(layout, "repaired", key, "mask.png")
        mask.parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (64, 48), 255).save(mask)
        gallery.state_files[repair_mask_path(layout, key)] = None
    for path in (layout.state / "settings.json", failure_path(layout, registry.key_for(f"{gallery.folder}/{gallery.failed}"))):
        gallery.state_files[path] = path.read_bytes() if path.exists() else None


@pytest.fixture
def gallery(app, owner, layout) -> Gallery:
    album = create_album(owner, "Summer 1962 <b>&")
    names = []
    for value in (40, 80, 120, 160):
        response = upload(owner, album, jpeg_bytes((64, 48), value), name=f"scan {value}.jpg")
        assert response.status_code == 201, response.text
        names.append(unquote(response.json()["url"].rsplit("/", 1)[1]))
    seeded = Gallery(app, unquote(album.rsplit("/", 1)[1]), *names[:3], token=share_token(owner, album), trashed=names[3])
    _register_and_publish(layout, seeded)
    seeded.repair()  # moves the fourth photo to the trash
    return seeded


# --- hooks: real values and valid bodies ------------------------------------------------------------

def _with_real_values(gallery: Gallery):
    """A ``flatmap_path_parameters`` hook: about half the cases use only real values; in the others
    each parameter independently keeps its generated value, or becomes a real one or an awkward name."""

    def flatmap_path_parameters(context, path_parameters: dict | None):
        if not path_parameters:
            return st.just(path_parameters)
        real, mixed = {}, {}
        for name, value in path_parameters.items():
            reals = gallery.real_values(name)
            options = [lambda v=value: v, *reals]
            if name in ("album", "photo", "item", "token"):
                options += [lambda v=awkward: v for awkward in AWKWARD_NAMES]
            mixed[name] = st.sampled_from(options).map(lambda pick: pick())
            real[name] = st.sampled_from(reals or [lambda v=value: v]).map(lambda pick: pick())
        return st.one_of(st.fixed_dictionaries(real), st.fixed_dictionaries(mixed))

    return flatmap_path_parameters


# Bodies the handlers accept, offered beside the generated ones so the fuzzer also gets past
# validation: a new or duplicate scan, valid settings, the right password.
VALID_BODIES = {
    "POST /albums/{album}/photos": st.integers(0, 255).map(lambda v: {"file": jpeg_bytes((64, 48), v)}),
    "POST /albums/{album}/photos/{photo}/settings": st.fixed_dictionaries({
        "render_factor": st.integers(7, 64), "model": st.sampled_from(MODELS),
        "noise_level": st.sampled_from(NOISE_LEVELS), "colorize": st.sampled_from(COLORIZE_MODES),
        "repair": st.sampled_from(REPAIR_MODES), "repair_threshold": st.floats(0.05, 0.95),
        "max_magnification": st.floats(1, 64),
    }),
    "POST /albums/{album}/photos/{photo}/repair-mask": st.integers(1, 40).map(lambda w: {"file": _painted_png((64, 48), w)}),
    "POST /albums/{album}/photos/{photo}/framing": st.fixed_dictionaries({
        "corners": st.sampled_from(("", "0.1,0.05 0.9,0.1 0.95,0.9 0.05,0.95")),
        "rotation": st.sampled_from((0, 90, 180, 270)),
    }),
    "POST /login": st.just({"password": OWNER_PASSWORD, "next": "/albums"}),
}


def _painted_png(size: tuple[int, int], width: int) -> bytes:
    """A repair-mask correction as the editor sends it: a white box on transparent."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((255, 255, 255, 255), (0, 0, width, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def flatmap_body(context, body):
    valid = VALID_BODIES.get(f"{context.operation.method.upper()} {context.operation.path}")
    return st.just(body) if valid is None else st.one_of(st.just(body), valid)


# --- the runs ---------------------------------------------------------------------------------------

def _fuzz(gallery: Gallery, subtests, cookies: dict, headers: dict, exclude=()) -> None:
    """Every operation of the schema, each with its own bounded Hypothesis run, as a subtest."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", gallery.app)
    schema.hook(_with_real_values(gallery))
    schema.hook(flatmap_body)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.label not in exclude]
    assert len(operations) >= 25, [op.label for op in operations]
    for operation in operations:
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        if operation.path_parameters or operation.query or operation.body:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ_SETTINGS
        @given(case=st.one_of(strategies))
        def run(case):
            response = case.call(cookies=cookies, headers=headers)
            gallery.answers[case.operation.label][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            finally:
                gallery.repair()

        with subtests.test(msg=operation.label):
            run()


def _assert_succeeded(gallery: Gallery, labels: list[str]) -> None:
    missed = {label: dict(gallery.answers[label]) for label in labels
              if not any(200 <= status < 400 for status in gallery.answers[label])}
    assert not missed, f"never got past the lookups or validation: {missed}"


def test_fuzz_as_anonymous_visitor(gallery, anon, subtests):
    # A visitor who has seen one page: a CSRF cookie and the matching header, no session.
    csrf = csrf_of(anon)
    _fuzz(gallery, subtests, {"restore_csrf": csrf}, {"X-CSRF-Token": csrf})
    _assert_succeeded(gallery, MUST_SUCCEED_ANONYMOUS)
    # Owner routes: 401, or 400 for a body too malformed to parse (FastAPI reads the body before it
    # runs the dependencies that check the session); never anything else.
    let_in = {label: dict(statuses) for label, statuses in gallery.answers.items()
              if label.split(" ", 1)[1] not in PUBLIC and not label.split(" ", 1)[1].startswith("/s/")
              and (not statuses[401] or set(statuses) - {400, 401})}
    assert not let_in, f"owner routes that did not answer 401 to an anonymous visitor: {let_in}"


def test_fuzz_as_owner(gallery, owner, subtests):
    cookies = {"restore_session": owner.cookies.get("restore_session"), "restore_csrf": csrf_of(owner)}
    _fuzz(gallery, subtests, cookies, {"X-CSRF-Token": cookies["restore_csrf"]}, exclude={"POST /login", "POST /logout"})
    _assert_succeeded(gallery, MUST_SUCCEED_OWNER)
    assert gallery.answers["POST /albums/{album}/photos"][201], "no upload was accepted"
