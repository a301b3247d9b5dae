def test_healthz_reports_database_cache_and_broker(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_landing_page_links_admin_portal_and_demo_site(client, db):
    html = client.get("/").content.decode()

    assert 'href="/admin/"' in html
    assert 'href="/portal/"' in html
    assert 'href="/demo/"' in html
