"""GET /live/: the page shell; its data comes over the WebSocket."""

from __future__ import annotations


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get("/live/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/live/"


def test_it_renders_the_dashboard_shell_with_the_tick(owner_client, settings):
    settings.LIVE_TICK_SECONDS = 0.5
    response = owner_client.get("/live/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="live-status"' in html and 'data-state="connecting"' in html
    assert 'src="/static/live.js" data-tick-seconds="0.5"' in html
    assert "/static/vendor/chartjs/chart.umd.js" in html
