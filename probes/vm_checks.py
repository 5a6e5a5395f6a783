"""A check of what a VM's start needs, as `vm.preflight` reports it per VM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Check:
    """One thing a start needs: `status` pass, fail, warn, info or "not recorded"."""

    check: str  # "hostdev", "iommu_group", "card", "hugepages", "vfio_node", "rom", ...
    subject: str
    status: str
    detail: str
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "status": self.status,
            "detail": self.detail,
            "cause": self.cause,
        }
