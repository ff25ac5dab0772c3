"""Fixes: the edits findings call for (plan), made in the YAML text (text), checked and written
one file at a time (files)."""
