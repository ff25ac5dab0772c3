"""Kubernetes objects found in documents: kind dispatch, List flattening, pods and their
containers wherever an object keeps them, typed views, and the API's verdict on their fields."""

from kscan.model.extract import (
    ContainerRef,
    InvalidField,
    KubeObject,
    LayeredPod,
    ObjectKey,
    PodView,
    Shape,
    extract_objects,
)

__all__ = [
    "ContainerRef",
    "InvalidField",
    "KubeObject",
    "LayeredPod",
    "ObjectKey",
    "PodView",
    "Shape",
    "extract_objects",
]
