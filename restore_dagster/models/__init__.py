"""Plain-PyTorch restoration models (no Dagster here): waifu2x UpPhoto and DeOldify."""
