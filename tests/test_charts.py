"""The progress page's SVG charts: bar geometry and the markup written in Python."""

import datetime as dt

from studyapp import charts
from studyapp.stats import HeatCell


def test_bars_stack_bottom_up_scaled_to_the_tallest():
    bars = charts.stacked_bars([("a", [("new", 1), ("review", 3)]), ("b", [("new", 2)])])
    assert [bar.label for bar in bars] == ["a", "b"]
    (new, review), (only,) = bars[0].segments, bars[1].segments
    assert new == ("new", charts.HEIGHT * 3 / 4, charts.HEIGHT / 4, 1)
    assert review == ("review", 0.0, charts.HEIGHT * 3 / 4, 3)
    assert only == ("new", charts.HEIGHT / 2, charts.HEIGHT / 2, 2)


def test_an_empty_segment_draws_nothing():
    rects = charts.bar_rects(charts.stacked_bars([("a", [("new", 0)])]), "{label}")
    assert rects == ""


def test_bar_rects_write_each_segment_with_its_tooltip_escaped():
    bars = charts.stacked_bars([("<b>&", [("new", 2), ("review", 1)])])
    markup = charts.bar_rects(bars, "{label}: {value} {css}")
    assert markup.count("<rect ") == 2
    assert '<rect class="seg-new" x="60.0" y="53.33" width="480.0" height="106.67">' in markup
    assert "<title>&lt;b&gt;&amp;: 2 new</title>" in markup
    assert "<b>" not in markup


def test_heat_rects_place_each_day_by_week_and_weekday():
    day = dt.date(2026, 3, 4)
    weeks = [[None, HeatCell(day, 3, 2, "4 Mar 2026: 3")], [HeatCell(day, 0, 0, "<x>")]]
    markup = charts.heat_rects(weeks)
    assert markup == (
        '<rect class="level-2" x="00" y="10" width="9" height="9" rx="2">'
        "<title>4 Mar 2026: 3</title></rect>"
        '<rect class="level-0" x="10" y="00" width="9" height="9" rx="2">'
        "<title>&lt;x&gt;</title></rect>"
    )
