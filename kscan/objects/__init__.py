"""Kubernetes objects found in documents: kind dispatch, List flattening, typed pod views."""

from kscan.objects.extract import (
    ContainerRef,
    InvalidObject,
    KubeObject,
    ObjectKey,
    PodView,
    Shape,
    extract_objects,
)

__all__ = [
    "ContainerRef",
    "InvalidObject",
    "KubeObject",
    "ObjectKey",
    "PodView",
    "Shape",
    "extract_objects",
]
