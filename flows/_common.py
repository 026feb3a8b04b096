"""What every flow needs: settings, the run's id, and quiet defaults."""

from __future__ import annotations

from prefect.runtime import flow_run


def current_flow_run_id() -> str | None:
    try:
        value = flow_run.id
    except Exception:  # outside a flow run
        return None
    return str(value) if value else None
