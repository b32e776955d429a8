"""The CRM's models, one concept per module: stages, lost reasons, tags, UTM, teams and
their assignment rules, web forms, plans, leads and deals, and the stage history."""

from . import history, lead, lost_reason, plan, stage, tag, team, utm, webform

MODELS = [
    stage.Stage,
    lost_reason.LostReason,
    tag.Tag,
    utm.UtmSource,
    utm.UtmMedium,
    utm.UtmCampaign,
    team.Team,
    team.AssignmentRule,
    webform.WebForm,
    webform.WebFormRate,
    plan.Plan,
    lead.Lead,
    *history.MODELS,
]
