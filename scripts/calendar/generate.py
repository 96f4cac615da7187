#!/usr/bin/env python3
"""Independent cross-check data for keqing-care's greeting calendar.

keqing-care computes lunar dates and solar terms with the Rust crate tyme4rs
(ShouXing / 寿星 astronomical algorithms: computed new moons and solar terms,
plus an encoded leap-month table). This script uses methods that share none
of that code or data:

* lunar dates: ``lunardate`` (PyPI), a port of Fung F. Lee and Ricky Yeung's
  ``lunar`` program: a bit-packed table of month lengths and leap months per
  lunar year 1900-2099, counted in days from 1900-01-31;
* Qingming (清明, the solar term at apparent solar longitude 15 degrees):
  ``ephem`` (PyEphem, libastro / VSOP87), solved by bisection for the instant
  the sun's apparent geocentric ecliptic longitude (equinox of date) reaches
  15 degrees, then dated in Beijing time (UTC+8);
* solar holidays and Thanksgiving: Python's ``datetime``.

It writes two CSV files (run through ``run.sh``):

* ``occasions_1901_2099.csv``: ``year,occasion,date`` for every built-in
  occasion and every year 1901-2099;
* ``lunar_anniversaries.csv``: ``month,day,leap,year,date`` for a few lunar
  birthdays (leap months, 30ths), with keqing's documented fallback rules
  applied independently here: a 30th in a 29-day month falls on the 29th; a
  leap-month date in a year without that leap month falls in the ordinary
  month of that number.
"""

import argparse
import csv
import datetime as dt
import math
import os

import ephem
from lunardate import LunarDate

FIRST_YEAR = 1901
LAST_YEAR = 2099

BEIJING = dt.timedelta(hours=8)


def sun_longitude(t: float) -> float:
    """Apparent geocentric ecliptic longitude of the sun in degrees, equinox of date."""
    sun = ephem.Sun()
    sun.compute(ephem.Date(t), epoch=ephem.Date(t))
    return math.degrees(float(ephem.Ecliptic(sun, epoch=ephem.Date(t)).lon))


def qingming(year: int) -> dt.date:
    lo = float(ephem.Date(dt.datetime(year, 3, 28)))
    hi = float(ephem.Date(dt.datetime(year, 4, 10)))
    # Longitude runs 8..20 degrees over the window: monotonic, no wrap.
    for _ in range(60):
        mid = (lo + hi) / 2
        if sun_longitude(mid) < 15.0:
            lo = mid
        else:
            hi = mid
    instant_utc = ephem.Date(hi).datetime()
    return (instant_utc + BEIJING).date()


def lunar(year: int, month: int, day: int, leap: bool = False) -> dt.date:
    return LunarDate(year, month, day, leap).to_solar_date()


def fourth_thursday_of_november(year: int) -> dt.date:
    first = dt.date(year, 11, 1)
    offset = (3 - first.weekday()) % 7  # Thursday is weekday 3
    return first + dt.timedelta(days=offset + 21)


def occasion_rows():
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        yield year, "new_year", dt.date(year, 1, 1)
        yield year, "spring_festival", lunar(year, 1, 1)
        yield year, "lantern", lunar(year, 1, 15)
        yield year, "qingming", qingming(year)
        yield year, "labour_day", dt.date(year, 5, 1)
        yield year, "dragon_boat", lunar(year, 5, 5)
        yield year, "mid_autumn", lunar(year, 8, 15)
        yield year, "national_day", dt.date(year, 10, 1)
        yield year, "thanksgiving", fourth_thursday_of_november(year)
        yield year, "christmas", dt.date(year, 12, 25)


def month_has_30_days(year: int, month: int, leap: bool) -> bool:
    after_29th = lunar(year, month, 29, leap) + dt.timedelta(days=1)
    return LunarDate.from_solar_date(after_29th.year, after_29th.month, after_29th.day).day == 30


def lunar_anniversary(year: int, month: int, day: int, leap: bool) -> dt.date:
    if leap and LunarDate.leap_month_for_year(year) != month:
        leap = False
    if day == 30 and not month_has_30_days(year, month, leap):
        day = 29
    return lunar(year, month, day, leap)


# (month, day, leap): leap-month birthdays on the 1st, 15th and 30th; ordinary
# 30ths in early and late months; the last day of the year.
ANNIVERSARIES = [
    (4, 1, True),
    (4, 30, True),
    (6, 15, True),
    (2, 30, True),
    (1, 30, False),
    (8, 30, False),
    (12, 30, False),
]


def anniversary_rows():
    # The lunar year that starts in solar year Y; lunardate stops at lunar 2099.
    for month, day, leap in ANNIVERSARIES:
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            yield month, day, int(leap), year, lunar_anniversary(year, month, day, leap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    with open(os.path.join(args.out_dir, "occasions_1901_2099.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["year", "occasion", "date"])
        for year, occasion, date in occasion_rows():
            w.writerow([year, occasion, date.isoformat()])

    with open(os.path.join(args.out_dir, "lunar_anniversaries.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["month", "day", "leap", "lunar_year", "date"])
        for row in anniversary_rows():
            w.writerow([*row[:4], row[4].isoformat()])


if __name__ == "__main__":
    main()
