"""catalogue: one table of every photo with its state, sizes, settings and timings."""
import dagster as dg

from restore_dagster.catalogue import album_summary, build_catalogue
from restore_dagster.files import atomic_write_bytes
from restore_dagster.resources import StorageResource


@dg.asset(
    deps=["published"],
    group_name="catalogue",
    kinds={"pandas", "csv"},
    description="Every photo in the registry with its state (restored, pending, failed + reason), sizes, "
    "settings and timings, written to state/catalogue.csv.",
)
def catalogue(context: dg.AssetExecutionContext, storage: StorageResource) -> dg.MaterializeResult:
    layout = storage.layout
    table = build_catalogue(layout, storage.registry().load(), storage.settings())
    path = layout.state / "catalogue.csv"
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
