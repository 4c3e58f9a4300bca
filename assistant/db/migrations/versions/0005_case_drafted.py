"""cases: status "drafted" (方案待确认) for open cases that already have an unconfirmed plan

``cases.status`` is a plain string column, so the schema stays as it is; this only moves the cases
stored before the status existed, so listings filtered by status find them.

Revision ID: 0005_case_drafted
Revises: 0003_cases
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_case_drafted"
down_revision: str | Sequence[str] | None = "0003_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE cases SET status = 'drafted', row_version = row_version + 1 "
        "WHERE status = 'open' AND EXISTS ("
        "SELECT 1 FROM plans WHERE plans.case_id = cases.id AND plans.status IN ('draft', 'edited'))"
    )


def downgrade() -> None:
    op.execute("UPDATE cases SET status = 'open', row_version = row_version + 1 WHERE status = 'drafted'")
