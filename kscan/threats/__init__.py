"""Stage 7, threats: attack paths across objects (entry points, containers, identities, powers,
the node, the cluster), built from the facts a scan keeps, for the threat-model reports."""
