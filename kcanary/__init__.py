"""kcanary."""
