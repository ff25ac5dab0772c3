"""Support code every stage may use: bounded sorting on disk, atomic files, what of
manifest text may be shown, JSON Schema checks, signals, paths relative to a repository."""
