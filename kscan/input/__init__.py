"""Stage 1, input: find and read files, decode YAML and JSON as Kubernetes' clients do, with
the position of every key and item."""
