from celery import shared_task

from .scoping import dangerously_all_workspaces


@shared_task(name="workspaces.tasks.invitations_expire")
def invitations_expire() -> int:
    from .services import invitations_expire as expire

    with dangerously_all_workspaces(reason="beat: expire every workspace's old invitations"):
        return expire()


@shared_task(name="workspaces.tasks.idempotency_keys_expire")
def idempotency_keys_expire() -> int:
    from .services import idempotency_keys_expire as expire

    with dangerously_all_workspaces(reason="beat: delete every workspace's expired keys"):
        return expire()
