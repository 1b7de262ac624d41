def test_login_and_home(web, factory):
    user = factory.user("partner")
    r = web.login(user.email, "correct horse battery")
    assert r.status_code == 302, r.get_data(as_text=True)
    r = web.get("/")
    assert r.status_code == 200
    assert user.organisation.name in r.get_data(as_text=True)
