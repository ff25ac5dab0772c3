"""Service account tokens: does the pod get one it may not need?"""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks.base import Params, Violation, template
from kscan.model.inventory import Inventory


class AccountParams(Params):
    """No params; the template looks at ServiceAccounts too."""

    def kinds_seen(self) -> frozenset[str]:
        return frozenset({"ServiceAccount"})


@template(
    "service-account-token", scope="namespace", params=AccountParams, reports=["pod-automount"]
)
def service_account_token(params: AccountParams, inventory: Inventory) -> Iterator[Violation]:
    """A pod gets its service account's API token unless the pod, or the ServiceAccount (when it
    is in the scanned set), sets ``automountServiceAccountToken: false``; the pod value wins.
    The pods of a cluster-scoped object run in a namespace not known here, whose ServiceAccounts
    are not known either."""
    placed = list(inventory.workloads_by_namespace.items())
    for namespace, workloads in [*placed, (None, inventory.unplaced_workloads)]:
        accounts = {
            obj.name: obj
            for obj in (inventory.of_kind("ServiceAccount", namespace) if namespace else [])
        }
        for obj, pod in ((o, p) for o in workloads for p in o.pods):
            pod_value = pod.automount
            if pod_value is False:
                continue
            name = pod.service_account
            account = accounts.get(name)
            account_value = account.automount if account else None
            if pod_value is None and account_value is False:
                continue
            if pod_value is True:
                why = "sets automountServiceAccountToken: true"
            elif account is not None:
                why = f"and ServiceAccount '{name}' leave automountServiceAccountToken unset"
            else:
                why = "does not set automountServiceAccountToken: false"
            subject = pod.subject(obj.display)
            message = f"{subject} {why}, so its containers get an API token for '{name}'."
            yield Violation(pod.automount_pointer, message, obj)
