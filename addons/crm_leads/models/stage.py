"""crm.stage: the stages of the pipeline a deal goes through."""

from core import Model, ValidationError, api, fields, tr


class Stage(Model):
    _name = "crm.stage"
    _description = "CRM stage"
    _order = "sequence, id"

    name = fields.Char("Stage name", required=True, translate=True)
    sequence = fields.Integer("Sequence", default=10)
    probability = fields.Float("Probability (%)", default=10.0, digits=2)
    fold = fields.Boolean("Folded in pipeline")
    is_won = fields.Boolean("Is won stage", help="Deals in this stage are won.")
    user_id = fields.Many2one(
        "res.users", "Stage responsible", help="Who looks after deals in this stage."
    )
    deadline_days = fields.Integer(
        "Days in stage", help="How long a deal may stay in this stage; 0 means no deadline."
    )
    requirements = fields.Text("Requirements", help="What must be done before moving on.")

    @api.constrains("probability")
    def _check_probability(self):
        for stage in self:
            if not 0 <= (stage.probability or 0) <= 100:
                raise ValidationError(
                    tr(
                        self.env,
                        "Probability must be between 0 and 100, got %(value)s",
                        value=stage.probability,
                    ),
                    "probability",
                )
