"""Stage 4, rules: rule files bound to their check templates, the selection a configuration
makes, profiles, rule documentation."""
