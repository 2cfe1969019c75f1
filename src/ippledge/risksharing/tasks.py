"""Risk sharing's work outside the request (Django's Tasks API, :mod:`ippledge.core.jobs`): the portfolio
simulation of a :class:`~.models.PortfolioRun` (issue 13 point 5), queued by
:func:`.services_portfolio.run` and done by :func:`.services_portfolio.simulate`."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from ippledge.core import vocabulary
from ippledge.core.audit import current_channel
from ippledge.core.jobs import AttemptFailed

vocabulary.register("task", {"ippledge.risksharing.tasks.simulate_portfolio": _("Portfolio simulation")})
vocabulary.register("task_error", {"ippledge.risksharing.tasks.PortfolioRunFailed": _("Portfolio run failed")})


class PortfolioRunFailed(AttemptFailed):
    """The run is kept ``failed`` with its error code and message; the task log shows the code."""


@task()
def simulate_portfolio(*, run_id: int, actor_id: int | None = None) -> dict:
    """Simulate one queued portfolio run.  ``actor_id`` (who asked for it) lets the task API show the task
    to that user; the book itself was fixed when the run was asked for."""
    from . import services_portfolio

    token = current_channel.set("job")
    try:
        return services_portfolio.simulate(run_id=run_id)
    finally:
        current_channel.reset(token)
