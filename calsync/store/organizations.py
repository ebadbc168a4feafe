"""Organizations and their switchable modules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from calsync.core.model import Module, Organization
from calsync.store.models import OrganizationModuleRow, OrganizationRow


class OrganizationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, name: str, modules: frozenset[Module], now: dt.datetime) -> Organization:
        row = OrganizationRow(name=name, created_at=now)
        self.session.add(row)
        self.session.flush()
        for module in sorted(modules, key=lambda m: m.value):
            self.session.add(OrganizationModuleRow(organization_id=row.id, module=module, enabled_at=now))
        self.session.flush()
        return self._domain(row)

    def get(self, organization_id: int) -> Organization | None:
        row = self.session.get(OrganizationRow, organization_id)
        return None if row is None else self._domain(row)

    def list_all(self) -> list[Organization]:
        return [self._domain(row) for row in self.session.scalars(select(OrganizationRow).order_by(OrganizationRow.id))]

    def by_name(self, name: str) -> Organization | None:
        """The organization with this name, compared case-insensitively (names are unique that way)."""
        row = self.session.scalar(
            select(OrganizationRow).where(func.lower(OrganizationRow.name) == name.lower()).order_by(OrganizationRow.id)
        )
        return None if row is None else self._domain(row)

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(OrganizationRow)) or 0)

    def set_disabled(self, organization_id: int, disabled_at: dt.datetime | None) -> Organization | None:
        """Disable (a time) or enable again (``None``); an already disabled organization keeps its first time."""
        row = self.session.get(OrganizationRow, organization_id, with_for_update=True)
        if row is None:
            return None
        if disabled_at is None or row.disabled_at is None:
            row.disabled_at = disabled_at
            self.session.flush()
        return self._domain(row)

    def set_module(self, organization_id: int, module: Module, enabled: bool, now: dt.datetime) -> bool:
        """Switch a module; returns True if that changed anything."""
        current = self.session.get(OrganizationModuleRow, (organization_id, module))
        if enabled and current is None:
            self.session.add(OrganizationModuleRow(organization_id=organization_id, module=module, enabled_at=now))
            self.session.flush()
            return True
        if not enabled and current is not None:
            self.session.execute(
                delete(OrganizationModuleRow).where(
                    OrganizationModuleRow.organization_id == organization_id, OrganizationModuleRow.module == module
                )
            )
            return True
        return False

    def _modules(self, organization_id: int) -> frozenset[Module]:
        rows = self.session.scalars(
            select(OrganizationModuleRow.module).where(OrganizationModuleRow.organization_id == organization_id)
        )
        return frozenset(rows)

    def _domain(self, row: OrganizationRow) -> Organization:
        return Organization(
            id=row.id,
            name=row.name,
            modules=self._modules(row.id),
            created_at=row.created_at,
            disabled_at=row.disabled_at,
        )
