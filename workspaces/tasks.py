from celery import shared_task


@shared_task(name="workspaces.tasks.invitations_expire")
def invitations_expire() -> int:
    from .services import invitations_expire as expire

    return expire()
