"""kscan: static security scanner for Kubernetes manifests."""

__version__ = "0.1.0"
