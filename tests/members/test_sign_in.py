from govern.members.models import Member
from tests.conftest import PASSWORD


def test_member_signs_in_and_out(client, make_member, sign_in):
    member = make_member(name="Mina Member")
    sign_in(member)
    page = client.get("/").get_data(as_text=True)
    assert "Mina Member" in page and "Sign out" in page
    client.post("/auth/sign-out")
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part(client, make_member):
    member = make_member()
    wrong = client.post("/auth/sign-in", data={"email": member.email, "password": "nope"})
    unknown = client.post("/auth/sign-in", data={"email": "who@example.org", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "That email and password do not match." in response.get_data(as_text=True)
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_sign_in_ignores_email_case(client, make_member):
    member: Member = make_member(email="mina@example.org")
    response = client.post(
        "/auth/sign-in", data={"email": " MINA@Example.org ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert member.name in client.get("/").get_data(as_text=True)
