"""wait.until_reorder — wait until some days before the contact's predicted reorder date
(commerce: the last purchase plus the contact's own or the product's median interval).

Checked again when the time comes: a contact who reordered meanwhile has a later date and
keeps waiting. A contact without a prediction leaves at once through `no_prediction`.
"""

from datetime import timedelta

from .. import integrations
from .base import DEFAULT, RESUMED, NodeType, Result, Step, iso, schema, wait_until

NO_PREDICTION = "no_prediction"


def execute(step: Step) -> Result:
    predicted = integrations.reorder_predicted_at(
        workspace=step.workspace,
        contact_id=step.contact.pk,
        product=str(step.config.get("product") or "").strip() or None,
    )
    if predicted is None:
        return Result(outcome="passed", port=NO_PREDICTION, detail={"reason": "no prediction"})
    target = predicted - timedelta(days=step.config.get("days_before", 3))
    if target <= step.now:
        return Result(
            outcome=RESUMED,
            port=DEFAULT,
            detail={"until": iso(target), "predicted_at": iso(predicted)},
        )
    return wait_until(step, target, predicted_at=iso(predicted))


NODE = NodeType(
    type="wait.until_reorder",
    label="Wait for the reorder date",
    description="Waits until some days before the contact is predicted to buy again "
    "(a product's, or their earliest). Without a prediction the contact takes the "
    "“No prediction” path at once.",
    schema=schema(
        {
            "days_before": {
                "type": "integer",
                "minimum": 0,
                "maximum": 365,
                "default": 3,
                "title": "Days before the predicted date",
            },
            "product": {
                "type": "string",
                "maxLength": 200,
                "title": "Product id",
                "description": "The shop's product id; empty: the contact's earliest predicted "
                "reorder of any product.",
            },
        }
    ),
    execute=execute,
    ports=(DEFAULT, NO_PREDICTION),
)
