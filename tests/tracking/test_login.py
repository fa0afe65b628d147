from __future__ import annotations


def test_it_logs_in_through_the_form_and_lands_on_the_projects(owner, client):
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    response = client.post("/login/", {"username": "alice", "password": "password-alice"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_rejects_a_wrong_password(owner, client):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_it_returns_to_the_page_asked_for(owner, project, client):
    response = client.post(
        "/login/", {"username": "alice", "password": "password-alice", "next": "/p/alpha/"}
    )
    assert response["Location"] == "/p/alpha/"


def test_it_logs_out_with_a_post(owner_client):
    response = owner_client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert owner_client.get("/").status_code == 302
