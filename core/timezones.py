"""Time zones for grouping in SQL: when a zone's UTC offset changes, from 1970 on."""

from __future__ import annotations

import datetime
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FIRST_YEAR = 1970
YEARS_AHEAD = 30
# Probing once a week finds every offset change that lasts longer than a week (all real
# daylight-saving periods); the exact second is then found by bisection.
_PROBE = datetime.timedelta(days=7)
_SECOND = datetime.timedelta(seconds=1)


class UnknownTimeZone(ValueError):
    """A time zone name the IANA database does not know."""


def zone(name) -> ZoneInfo:
    """The zone of an IANA name such as ``Europe/Moscow``, or ``UnknownTimeZone``."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise UnknownTimeZone(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownTimeZone(f"unknown time zone {name!r}") from None


@functools.lru_cache(maxsize=64)
def offset_changes(name: str) -> tuple[tuple[datetime.datetime, int], ...]:
    """``((naive UTC instant, offset in seconds from then on), ...)``, the first entry being
    the offset in force on 1 January 1970, up to thirty years from now."""
    tz = zone(name)

    def offset(moment):
        return int(moment.astimezone(tz).utcoffset().total_seconds())

    moment = datetime.datetime(FIRST_YEAR, 1, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(datetime.date.today().year + YEARS_AHEAD, 1, 1, tzinfo=datetime.UTC)
    current = offset(moment)
    changes = [(moment.replace(tzinfo=None), current)]
    while moment < end:
        probe = moment + _PROBE
        new = offset(probe)
        if new != current:
            low, high = moment, probe  # offset(low) == current, offset(high) == new
            while high - low > _SECOND:
                middle = (low + (high - low) / 2).replace(microsecond=0)
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(tzinfo=None), new))
            current = new
        moment = probe
    return tuple(changes)


__all__ = ["UnknownTimeZone", "offset_changes", "zone"]
