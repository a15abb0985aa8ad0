"""restore_dagster: bring old family photographs back to life, as a Dagster project."""
