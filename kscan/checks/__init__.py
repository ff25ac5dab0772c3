"""Stage 3, checks: the templates behind rules (``base`` defines what a template is,
``catalogue`` lists them). A rule file names a template and gives its params."""
