from tests.conftest import login
from tests.factories import make_org, make_user


def test_login_and_home(app, session, client):
    org = make_org(session)
    user = make_user(session, org, "manager")
    session.commit()
    login(client, user.email)
    assert "Bonjour" in client.get("/").text
