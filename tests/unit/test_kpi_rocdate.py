"""ROC (Minguo) years and dates: ROC year + 1911 = Gregorian."""

from datetime import date, datetime, timezone

import pytest

from ioc.kpi.rocdate import parse_date, parse_datetime, parse_year


@pytest.mark.parametrize("text, year", [
    ("roc104", 2015), ("ROC104", 2015), ("roc 105", 2016), ("roc-105", 2016), ("民國104年", 2015),
    ("民國 105", 2016), ("2015", 2015), (" 2016 ", 2016), (2016, 2016),
])
def test_years(text, year):
    assert parse_year(text) == year


@pytest.mark.parametrize("text, hint", [
    ("104", "did you mean roc104"), (104, "did you mean roc104"), ("roc0", "ROC year must be 1 or later"),
    ("20155", "is not a year"), (True, "expected a year"), (None, "expected a year"), ("roc10a", "is not a year"),
])
def test_bad_years(text, hint):
    with pytest.raises(ValueError, match=hint):
        parse_year(text)


@pytest.mark.parametrize("text, day", [
    ("2015-06-30", date(2015, 6, 30)), ("2015/6/30", date(2015, 6, 30)), ("104/06/30", date(2015, 6, 30)),
    ("104-6-30", date(2015, 6, 30)), ("104.06.30", date(2015, 6, 30)), ("民國104年6月30日", date(2015, 6, 30)),
    ("roc105-02-29", date(2016, 2, 29)),
    # a time is read in Taiwan time: 16:30 UTC on 30 June is already 1 July in Taichung
    ("2015-06-30T16:30:00+00:00", date(2015, 7, 1)), ("2015-06-30T16:30:00Z", date(2015, 7, 1)),
])
def test_dates(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["104/02/29", "2015-02-29", "2015-06-31", "30/06/2015", "June 30", "", "2015-06"])
def test_bad_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_datetime_without_offset_is_taiwan_time():
    moment = parse_datetime("2015-06-30T08:00:00")
    assert moment.astimezone(timezone.utc) == datetime(2015, 6, 30, 0, 0, tzinfo=timezone.utc)
