"""catalogue: one table of every photo with its state, sizes, settings and timings."""
import dagster as dg

from restore_dagster.catalogue import CATALOGUE_FILE, album_summary, build_catalogue
from restore_dagster.files import atomic_write_bytes
from restore_dagster.resources import StorageResource


# Refreshed by the automation sensor (definitions.py) once photos were published and no publishing
# run is still going, so a backfill of many batches refreshes it once at the end, not per batch.
# Not eager(): that waits for every dep partition to exist, and a failed photo never publishes.
REFRESH_AFTER_PUBLISHING = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("photos were published")


@dg.asset(
    deps=["published"],
    automation_condition=REFRESH_AFTER_PUBLISHING,
    group_name="catalogue",
    kinds={"pandas", "csv"},
    description="Every photo in the registry with its state (restored, pending, failed + reason), sizes, "
    "settings and timings, written to state/catalogue.csv.",
)
def catalogue(context: dg.AssetExecutionContext, storage: StorageResource) -> dg.MaterializeResult:
    layout = storage.layout
    table = build_catalogue(layout, storage.registry().load(), storage.settings())
    path = layout.state / CATALOGUE_FILE
    atomic_write_bytes(path, table.to_csv(index=False).encode("utf-8"))
    summary = album_summary(table)
    return dg.MaterializeResult(metadata={
        "photos": len(table),
        "restored": int((table["state"] == "restored").sum()),
        "failed": int((table["state"] == "failed").sum()),
        "path": dg.MetadataValue.path(str(path)),
        "albums": dg.MetadataValue.md(summary.to_markdown(index=False) if not summary.empty else "(none)"),
        "dagster/row_count": len(table),
    })
