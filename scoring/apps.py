from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import (
            home,  # noqa: F401  (its part of the home page)
            processors,  # noqa: F401  (registers the pipeline processor)
        )
        from .models import ScoringModel, ScoringRule
        from .services.engine import rules_changed

        def changed(sender, instance, **kwargs):  # noqa: ANN001, ANN202
            rules_changed(instance.workspace_id)

        for model in (ScoringModel, ScoringRule):
            # weak=False: `changed` is a local function; a weak reference would let it go.
            post_save.connect(
                changed, sender=model, weak=False, dispatch_uid=f"scoring-save-{model.__name__}"
            )
            post_delete.connect(
                changed, sender=model, weak=False, dispatch_uid=f"scoring-del-{model.__name__}"
            )
