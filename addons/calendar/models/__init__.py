"""Activities and calendar events, one concept per module (the digest's settings are in
``digest.py``, with the digest)."""

from . import activity, activity_type, event, partner

MODELS = [activity_type.ActivityType, activity.Activity, partner.Partner, event.CalendarEvent]
