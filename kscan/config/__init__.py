"""Configuration: ``.kscan.yaml`` and ``[tool.kscan]`` files, their discovery and validation,
path globs and rule selectors."""
