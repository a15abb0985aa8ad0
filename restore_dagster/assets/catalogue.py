"""catalogue: one table of every photo with its state, sizes, settings and timings."""
import dagster as dg

from restore_dagster.catalogue import CATALOGUE_FILE, album_summary, build_catalogue
from restore_dagster.config import STAGES
from restore_dagster.files import atomic_write_bytes
from restore_dagster.resources import StorageResource


# It reads every stage's records, so it depends on every stage. Refreshed by the automation sensor
# (definitions.py) once any stage of any photo was materialized and no such run is still going: a
# backfill of many batches refreshes it once at the end, not per batch, and photos that stopped at
# a failing stage (weights missing, say) show up as failed without waiting for a publish. Not
# eager(): that waits for every dep partition to exist, and a failed photo never gets them all.
REFRESH_AFTER_PROCESSING = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("photos were processed")


@dg.asset(
    deps=list(STAGES),
    automation_condition=REFRESH_AFTER_PROCESSING,
    group_name="catalogue",
    kinds={"pandas", "csv"},
    description="Every photo in the registry with its state (restored, pending, failed + reason, or published "
    "without an optional step such as 'colour pending'), sizes, "
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
        "published_with_steps_pending": int((table["pending_steps"] != "").sum()),
        "path": dg.MetadataValue.path(str(path)),
        "albums": dg.MetadataValue.md(summary.to_markdown(index=False) if not summary.empty else "(none)"),
        "dagster/row_count": len(table),
    })
