"""kscan.support.values against the standard library's dataclasses: the same instances, equality,
hashes, representations, copies and pickles, before and after ``__init__`` is compiled."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any, NamedTuple, get_type_hints

import pytest

from kscan.support import values


@values.dataclass(frozen=True, slots=True)
class Slotted:
    name: str
    items: tuple[int, ...] = values.field(default_factory=tuple)
    size: int = 3


@dataclasses.dataclass(frozen=True, slots=True)
class StandardSlotted:
    name: str
    items: tuple[int, ...] = dataclasses.field(default_factory=tuple)
    size: int = 3


@values.dataclass
class Mutable:
    name: str
    seen: dict[str, int] = values.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seen["init"] = self.seen.get("init", 0) + 1


@values.dataclass
class Derived(Mutable):
    extra: int = 0


def instances() -> list[tuple[Slotted, StandardSlotted]]:
    return [
        (Slotted("a"), StandardSlotted("a")),
        (Slotted("b", (1,), size=4), StandardSlotted("b", (1,), size=4)),
        (Slotted(name="c", size=5), StandardSlotted(name="c", size=5)),
    ]


@pytest.mark.parametrize("made", [1, 40])  # the generic __init__, then the compiled one
def test_instances_behave_as_dataclasses(made: int) -> None:
    for _ in range(made):
        pairs = instances()
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs).replace("StandardSlotted", "Slotted")
        assert hash(ours) == hash(theirs)
        assert ours == copy.deepcopy(ours) == pickle.loads(pickle.dumps(ours))
        assert ours != values.replace(ours, size=99)
        assert values.replace(ours, size=99).size == 99
        with pytest.raises(AttributeError):
            ours.size = 1  # type: ignore[misc]
    assert Slotted.__slots__ == ("name", "items", "size")
    assert Slotted.__match_args__ == StandardSlotted.__match_args__
    assert [item.name for item in values.fields(Slotted)] == ["name", "items", "size"]
    assert Slotted("x").items == ()


@pytest.mark.parametrize("made", [1, 40])
def test_arguments_are_checked(made: int) -> None:
    for _ in range(made):
        Slotted("x")
    wrong: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        (("x", (), 1, 2), {}),
        (("x",), {"name": "y"}),
        (("x",), {"colour": 1}),
    ]
    for args, kwargs in wrong:
        with pytest.raises(TypeError):
            Slotted(*args, **kwargs)


def test_mutable_classes_run_post_init_and_are_unhashable() -> None:
    for _ in range(40):
        mutable = Mutable("m")
        assert mutable.seen == {"init": 1}
        derived = Derived("d", extra=2)
        assert (derived.name, derived.seen, derived.extra) == ("d", {"init": 1}, 2)
    assert Mutable("m") == Mutable("m") != Derived("m")
    assert Mutable.__hash__ is None
    assert Mutable("x").seen is not Mutable("x").seen
    mutable.name = "changed"
    assert repr(mutable) == "Mutable(name='changed', seen={'init': 1})"


class Point(values.Record):
    """A record with a default, a property and a method."""

    x: int
    label: str | None = None

    @property
    def doubled(self) -> int:
        return 2 * self.x

    def moved(self, by: int) -> Point:
        return self._replace(x=self.x + by)


class StandardPoint(NamedTuple):
    """A record with a default, a property and a method."""

    x: int
    label: str | None = None

    @property
    def doubled(self) -> int:
        return 2 * self.x

    def moved(self, by: int) -> StandardPoint:
        return self._replace(x=self.x + by)


def test_records_behave_as_typing_named_tuples() -> None:
    ours, standard = Point(3), StandardPoint(3)
    assert tuple(ours) == tuple(standard) == (3, None)
    assert repr(ours) == repr(standard).replace("StandardPoint", "Point")
    assert ours._fields == standard._fields
    assert ours._field_defaults == standard._field_defaults
    assert ours.doubled == standard.doubled == 6
    assert ours.moved(1) == Point(4) and type(ours.moved(1)) is Point
    assert Point(1, label="a") == Point(x=1, label="a") == (1, "a")
    assert Point.__doc__ == StandardPoint.__doc__
    assert Point.__module__ == __name__ and Point.__qualname__ == "Point"
    assert get_type_hints(Point) == get_type_hints(StandardPoint)  # strings, not ForwardRefs
    assert issubclass(Point, tuple) and Point.__mro__[1:] == StandardPoint.__mro__[1:]
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert hash(ours) == hash(standard)
    with pytest.raises(AttributeError):
        ours.x = 4  # type: ignore[misc]


def test_records_refuse_what_typing_refuses() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class Unordered(values.Record):
            x: int = 0
            y: int  # type: ignore[misc]

    with pytest.raises(AttributeError, match="_make"):

        class Shadowing(values.Record):
            x: int

            def _make(self) -> None:  # type: ignore[override]
                pass
