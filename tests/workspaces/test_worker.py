"""The Celery plumbing works end to end with a real worker process."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.worker import wait_for
from workspaces.models import Invitation
from workspaces.tasks import invitations_expire

pytestmark = [pytest.mark.integration]


def test_a_real_worker_runs_the_invitation_expiry_task(celery_worker, tenant):
    Invitation.objects.create(
        workspace=tenant.workspace,
        email="late@acme.test",
        token_hash="x" * 64,
        expires_at=timezone.now() - timedelta(days=1),
    )
    Invitation.objects.create(
        workspace=tenant.workspace,
        email="fresh@acme.test",
        token_hash="y" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    invitations_expire.delay()
    wait_for(
        lambda: not Invitation.objects.filter(email="late@acme.test").exists(), message="expiry"
    )
    assert Invitation.objects.filter(email="fresh@acme.test").exists()
