"""The one condition language of field, flag and capability checks: every test means the same
in each template, and only the spelling of values differs (typed JSON values; Go flag values,
whose booleans ``strconv.ParseBool`` reads; capability names, which the runtime reads in any
case and with or without ``CAP_``, while Pod Security admission compares them exactly)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from kscan.checks.capabilities import CapabilitiesParams
from kscan.checks.conditions import (
    CAPABILITY,
    GO_FLAG,
    Conditions,
    Spelling,
    Test,
    go_flag_item,
    go_flag_value,
    normalize_capability,
)
from kscan.checks.control_plane import FlagParams
from kscan.checks.paths import Condition


class _Flag(Conditions):
    tests: ClassVar[frozenset[Test]] = frozenset(
        {"allowed", "forbidden", "contains", "not-contains", "minimum", "absent"}
    )
    spelling: ClassVar[Spelling] = GO_FLAG


class _Capability(Conditions):
    tests: ClassVar[frozenset[Test]] = frozenset({"allowed", "forbidden", "must-include"})
    spelling: ClassVar[Spelling] = CAPABILITY


@pytest.mark.parametrize(
    ("tests", "value", "failed"),
    [
        ({"forbidden": [True]}, True, "forbidden"),
        ({"forbidden": [True]}, 1, None),  # 1 is not true: JSON types are compared too
        ({"forbidden": [0]}, False, None),
        ({"allowed": [False]}, False, None),
        ({"allowed": [False]}, "false", "allowed"),  # a string is not the boolean
        ({"minimum": 1000}, 999, "minimum"),
        ({"minimum": 1000}, "999", None),  # not a number: the API refuses it, not this test
        ({"maximum": 0}, 1, "maximum"),  # 0 is a limit, not "no limit given"
        ({"pattern": "^[a-z]+$"}, "abc", None),
        ({"pattern": "^[a-z]+$"}, 5, "pattern"),
        ({"forbidden-pattern": "latest$"}, "nginx:latest", "forbidden-pattern"),
        ({"absent": True}, "anything", "absent"),
    ],
)
def test_field_values_are_compared_exactly(
    tests: dict[str, Any], value: Any, failed: str | None
) -> None:
    assert Condition.model_validate({"path": "f", **tests}).failed(value) == failed


@pytest.mark.parametrize(
    ("tests", "value", "failed"),
    [
        ({"allowed": ["false"]}, "0", None),  # strconv.ParseBool: 0, f, F, FALSE, False
        ({"allowed": ["false"]}, "FALSE", None),
        ({"allowed": ["false"]}, "no", "allowed"),
        ({"forbidden": ["true"]}, "T", "forbidden"),
        ({"forbidden": ["AlwaysAllow"]}, "alwaysallow", "forbidden"),
        ({"contains": "Node"}, "RBAC,Node", None),
        ({"contains": "Node"}, "node,RBAC", "contains"),  # mode names are case-sensitive
        ({"not-contains": "AlwaysAdmit"}, "NodeRestriction, AlwaysAdmit", "not-contains"),
        ({"not-contains": "RotateKubeletServerCertificate=false"}, "A=1,Rotate=0", None),
        (
            {"contains": "RotateKubeletServerCertificate=true"},
            "RotateKubeletServerCertificate=1",
            None,
        ),
        ({"minimum": 12}, "11", "minimum"),
        ({"minimum": 12}, "12", None),
        ({"minimum": 12}, "12h", "minimum"),  # not a count: the flag fails its test
        ({"minimum": 12}, "\u00b2", "minimum"),  # a digit to str.isdigit, not to strconv.ParseInt
        ({"minimum": 12}, "+12", None),  # strconv.ParseInt reads a sign
        ({"allowed": ["true"]}, "tRuE", None),  # not ParseBool's, compared without case
    ],
)
def test_flag_values_are_read_as_go_reads_them(
    tests: dict[str, Any], value: str, failed: str | None
) -> None:
    assert _Flag.model_validate(tests).failed(value) == failed


def test_go_flag_spelling() -> None:
    assert go_flag_item("Gate=TRUE") == "Gate=true"
    assert go_flag_item("RBAC") == "RBAC"
    assert go_flag_value("RBAC") == "rbac"


@pytest.mark.parametrize(
    ("tests", "value", "failed"),
    [
        ({"forbidden": ["SYS_ADMIN"]}, "cap_sys_admin", "forbidden"),  # the runtime's reading
        ({"allowed": ["NET_BIND_SERVICE"]}, "net_bind_service", "allowed"),  # admission's
        ({"allowed": ["NET_BIND_SERVICE"]}, "NET_BIND_SERVICE", None),
        ({"must-include": ["ALL"]}, ["all"], "must-include"),  # admission compares ALL exactly
        ({"must-include": ["NET_RAW"]}, ["ALL"], None),
        ({"must-include": ["NET_RAW"]}, ["NET_RAW", "CHOWN"], None),
    ],
)
def test_capability_names(tests: dict[str, Any], value: Any, failed: str | None) -> None:
    assert _Capability.model_validate(tests).failed(value) == failed


def test_capability_prefix_and_case() -> None:
    assert normalize_capability("cap_Sys_Admin") == "SYS_ADMIN"


def test_a_template_refuses_tests_it_does_not_take() -> None:
    with pytest.raises(ValidationError, match="does not take must-include"):
        Condition.model_validate({"path": "f", "must-include": ["x"]})
    with pytest.raises(ValidationError, match="does not take pattern"):
        FlagParams.model_validate({"components": ["etcd"], "flag": "--x", "pattern": "y"})
    with pytest.raises(ValidationError, match="does not take minimum"):
        CapabilitiesParams.model_validate({"list": "add", "minimum": 1})


def test_a_condition_needs_a_test() -> None:
    with pytest.raises(ValidationError, match="needs at least one test"):
        FlagParams.model_validate({"components": ["etcd"], "flag": "--x"})


def test_allowed_items_in_every_spelling() -> None:
    """``allowed-items``: each item of the value's list must be listed, compared as the
    spelling compares items (exactly for field values and cipher suite names, which
    Kubernetes' ``cliflag.TLSCipherSuites`` looks up in a map as written)."""

    class Field(Conditions):
        tests: ClassVar[frozenset[Test]] = frozenset({"allowed-items"})

    class Flag(_Flag):
        tests: ClassVar[frozenset[Test]] = frozenset({"allowed-items"})

    class Capability(_Capability):
        tests: ClassVar[frozenset[Test]] = frozenset({"allowed-items"})

    field = Field.model_validate({"allowed-items": ["a", "b"]})
    assert field.failed(["a", "b", "a"]) is None
    assert field.failed([]) is None
    assert field.failed(["a", "c"]) == "allowed-items"
    assert field.outside(["c", "a", "d"]) == [0, 2]
    flag = Flag.model_validate({"allowed-items": ["TLS_AES_128_GCM_SHA256"]})
    assert flag.failed("TLS_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256") is None
    assert flag.failed("tls_aes_128_gcm_sha256") == "allowed-items"
    assert flag.outside("TLS_AES_128_GCM_SHA256,TLS_RSA_WITH_RC4_128_SHA") == [1]
    capability = Capability.model_validate({"allowed-items": ["NET_BIND_SERVICE"]})
    assert capability.failed(["NET_BIND_SERVICE"]) is None
    assert capability.failed(["NET_BIND_SERVICE", "SYS_ADMIN"]) == "allowed-items"
