"""Stage 5, results: findings, the suppressions that apply to them, baselines, the finding
store and the scan result."""
