"""The identity resolver: one table of cases, no database (contacts.services.resolver).

contact_upsert, ingestion and the CSV import gather candidates their own way and ask
`identity_resolve`; these cases pin its rules (docs/ingestion.md, "Identity and
precedence"). Each row: the call's identifiers, the contacts holding any of them, and the
whole decision expected.
"""

import pytest

from contacts.services.resolver import (
    Candidate,
    Decision,
    Incoming,
    alias_resolve,
    identifier_clean,
    identity_resolve,
    incoming_clean,
)
from workspaces.errors import ValidationFailed

ANON = Candidate(1, anonymous_ids=("a1",))  # an anonymous visitor
ANON2 = Candidate(2, anonymous_ids=("a1", "a2"))  # another profile with the same cookie
USER = Candidate(10, external_id="u1", email="ada@example.com", anonymous_ids=("a9",))
USER_NO_EMAIL = Candidate(11, external_id="u1")
OTHER_USER = Candidate(20, external_id="u2", email="bob@example.com", anonymous_ids=("a1",))
LEAD = Candidate(30, email="lead@example.com")  # known by email only (a form)
LEAD_OF_OTHER = Candidate(31, external_id="u2", email="lead@example.com")
ANON_WITH_EMAIL = Candidate(40, email="eve@example.com", anonymous_ids=("a1",))
RENAMED = Candidate(50, external_id="u-new", anonymous_ids=("a5", "u-old"))  # alias u-old → u-new
PHONE_A = Candidate(60, phone="+4915112345678")
PHONE_B = Candidate(61, phone="+4915112345678")

R = frozenset
CASES = [
    # --- nobody holds the identifiers: create, recording every one of them
    ("new user", Incoming(external_id="u1"), [], Decision(None, record=R({"external_id"}))),
    (
        "new visitor with everything",
        Incoming("u1", "ada@example.com", "a1", "+4915112345678"),
        [],
        Decision(None, record=R({"external_id", "email", "anonymous_id", "phone"})),
    ),
    (
        "new anonymous visitor",
        Incoming(anonymous_id="a1"),
        [],
        Decision(None, record=R({"anonymous_id"})),
    ),
    # --- one contact, nothing new
    ("known user", Incoming(external_id="u1"), [USER], Decision(10)),
    ("known visitor", Incoming(anonymous_id="a1"), [ANON], Decision(1)),
    ("known by email", Incoming(email="lead@example.com"), [LEAD], Decision(30)),
    (
        "known user, same email and cookie",
        Incoming("u1", "ada@example.com", "a9"),
        [USER],
        Decision(10),
    ),
    # --- one contact, identifiers added
    (
        "known user on a new device",
        Incoming(external_id="u1", anonymous_id="a3"),
        [USER],
        Decision(10, record=R({"anonymous_id"})),
    ),
    (
        "anonymous visitor identifies: the profile becomes the user",
        Incoming(external_id="u1", anonymous_id="a1"),
        [ANON],
        Decision(1, record=R({"external_id"})),
    ),
    (
        "lead signs up: userId + the lead's email",
        Incoming(external_id="u1", email="lead@example.com"),
        [LEAD],
        Decision(30, record=R({"external_id"})),
    ),
    (
        "known user gives an email for the first time",
        Incoming(external_id="u1", email="ada@example.com"),
        [USER_NO_EMAIL],
        Decision(11, record=R({"email"})),
    ),
    (
        "known user changes email (nobody else has it)",
        Incoming(external_id="u1", email="ada@new.example"),
        [USER],
        Decision(10, record=R({"email"}), replaces=R({"email"})),
    ),
    (
        "visitor gives an email",
        Incoming(email="new@example.com", anonymous_id="a1"),
        [ANON],
        Decision(1, record=R({"email"})),
    ),
    (
        "phone added to a known user",
        Incoming(external_id="u1", phone="+4915112345678"),
        [USER],
        Decision(10, record=R({"phone"})),
    ),
    # --- anonymous → known: merges
    (
        "known user identified on a device with an anonymous profile: merged",
        Incoming(external_id="u1", anonymous_id="a1"),
        [USER, ANON],
        Decision(10, merge=(1,)),
    ),
    (
        "candidate order does not matter",
        Incoming(external_id="u1", anonymous_id="a1"),
        [ANON, USER],
        Decision(10, merge=(1,)),
    ),
    (
        "userId + email of a lead: the lead is merged into the user",
        Incoming(external_id="u1", email="lead@example.com"),
        [USER_NO_EMAIL, LEAD],
        Decision(11, merge=(30,)),
    ),
    (
        "the merged lead's email replaces nothing when the user had none",
        Incoming(external_id="u1", email="lead@example.com", anonymous_id="a1"),
        [USER_NO_EMAIL, LEAD, ANON],
        Decision(11, merge=(30, 1)),
    ),
    (
        "user with another email meets a lead: merged, the call's email wins",
        Incoming(external_id="u1", email="lead@example.com"),
        [USER, LEAD],
        Decision(10, merge=(30,), record=R({"email"}), replaces=R({"email"})),
    ),
    (
        "email + cookie of two anonymous-ish profiles: one person",
        Incoming(email="lead@example.com", anonymous_id="a1"),
        [LEAD, ANON],
        Decision(30, merge=(1,)),
    ),
    (
        "two profiles with the same cookie: the first is the contact, the other merged",
        Incoming(anonymous_id="a1"),
        [ANON2, ANON],
        Decision(1, merge=(2,)),
    ),
    # --- conflicting identifiers: nobody is merged into someone else
    (
        "cookie of another known user (shared computer): it moves, no merge",
        Incoming(external_id="u1", anonymous_id="a1"),
        [USER, OTHER_USER],
        Decision(10, anonymous_id_from=(20,), record=R({"anonymous_id"})),
    ),
    (
        "new user on another user's computer: created, the cookie moves",
        Incoming(external_id="u3", anonymous_id="a1"),
        [OTHER_USER],
        Decision(None, anonymous_id_from=(20,), record=R({"external_id", "anonymous_id"})),
    ),
    (
        "email held by another user: not taken from them",
        Incoming(external_id="u1", email="bob@example.com"),
        [USER, OTHER_USER],
        Decision(10, refused=R({"email"})),
    ),
    (
        "email held under another userId: a new contact, without the email",
        Incoming(external_id="u1", email="lead@example.com"),
        [LEAD_OF_OTHER],
        Decision(None, record=R({"external_id"}), refused=R({"email"})),
    ),
    (
        "cookie of a profile with another email: created, the cookie moves",
        Incoming(email="ada@example.com", anonymous_id="a1"),
        [ANON_WITH_EMAIL],
        Decision(None, anonymous_id_from=(40,), record=R({"email", "anonymous_id"})),
    ),
    (
        "userId, an email of someone else and their cookie",
        Incoming(external_id="u1", email="bob@example.com", anonymous_id="a1"),
        [USER, OTHER_USER],
        Decision(10, anonymous_id_from=(20,), record=R({"anonymous_id"}), refused=R({"email"})),
    ),
    # --- external ids renamed by alias
    (
        "a renamed userId still names its contact",
        Incoming(external_id="u-old"),
        [RENAMED],
        Decision(50),
    ),
    (
        "an exact external id wins over a renamed one",
        Incoming(external_id="u-old"),
        [RENAMED, Candidate(51, external_id="u-old")],
        Decision(51),
    ),
    # --- phone: only alone, only when one contact has it
    ("phone alone, one holder", Incoming(phone="+4915112345678"), [PHONE_A], Decision(60)),
    (
        "phone alone, two holders: a new contact",
        Incoming(phone="+4915112345678"),
        [PHONE_A, PHONE_B],
        Decision(None, record=R({"phone"})),
    ),
    (
        "phone with an email: the phone does not match",
        Incoming(email="new@example.com", phone="+4915112345678"),
        [PHONE_A],
        Decision(None, record=R({"email", "phone"})),
    ),
    # --- candidates that hold none of the identifiers are ignored
    (
        "unrelated candidate",
        Incoming(external_id="u9"),
        [USER, ANON],
        Decision(None, record=R({"external_id"})),
    ),
]


@pytest.mark.parametrize(
    ("incoming", "candidates", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_identity_resolve(incoming, candidates, expected):
    assert identity_resolve(incoming, candidates) == expected


def test_a_decision_is_plain_when_no_other_profile_is_touched():
    assert Decision(1, record=R({"email"})).plain
    assert Decision(None, record=R({"external_id"})).plain
    assert not Decision(1, merge=(2,)).plain
    assert not Decision(1, anonymous_id_from=(2,)).plain
    assert not Decision(1, refused=R({"email"})).plain
    assert Decision(None).creates and not Decision(1).creates


ALIAS_CASES = [
    ("previousId unknown: identify's rules", None, None, "u1", "identify"),
    ("previousId is an anonymous profile", ANON, None, "u1", "identify"),
    ("previousId is the user already", USER, USER, "u1", "identify"),
    ("known user renamed to a new userId", OTHER_USER, None, "u3", "rename"),
    ("known user aliased to another known user", OTHER_USER, USER, "u1", "merge"),
]


@pytest.mark.parametrize(
    ("previous", "target", "user_id", "expected"),
    [case[1:] for case in ALIAS_CASES],
    ids=[case[0] for case in ALIAS_CASES],
)
def test_alias_resolve(previous, target, user_id, expected):
    assert alias_resolve(previous, target, user_id) == expected


NORMALISE_CASES = [
    (
        "email case and whitespace",
        {"email": "  Ada@Example.COM "},
        Incoming(email="ada@example.com"),
    ),
    ("email with an IDN domain", {"email": "a@xn--exmple-cua.de"}, Incoming(email="a@exämple.de")),
    (
        "ids are stripped",
        {"external_id": " u1 ", "anonymous_id": "\ta1\n"},
        Incoming("u1", "", "a1"),
    ),
    ("a numeric userId", {"external_id": 42}, Incoming(external_id="42")),
    ("phone in E.164", {"phone": "+49 151 1234 5678"}, Incoming(phone="+4915112345678")),
    (
        "national phone read in the region",
        {"phone": "0151 12345678", "region": "DE"},
        Incoming(phone="+4915112345678"),
    ),
    ("empty values are not given", {"email": "", "phone": "", "external_id": None}, Incoming()),
]


@pytest.mark.parametrize(
    ("given", "expected"), [c[1:] for c in NORMALISE_CASES], ids=[c[0] for c in NORMALISE_CASES]
)
def test_incoming_clean(given, expected):
    assert incoming_clean(**given) == expected


def test_a_normalised_email_finds_the_stored_one():
    incoming = incoming_clean(external_id="u1", email=" ADA@example.com")
    assert identity_resolve(incoming, [USER]) == Decision(10)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": 42}, "email"),
        ({"phone": "12"}, "phone"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"anonymous_id": ["a1"]}, "anonymous_id"),
        ({"external_id": True}, "external_id"),
    ],
)
def test_a_bad_identifier_names_its_field(given, field):
    with pytest.raises(ValidationFailed) as raised:
        incoming_clean(**given)
    assert field in raised.value.fields


def test_identifier_clean():
    assert identifier_clean(None, "external_id") == ""
    assert identifier_clean(" x ", "external_id") == "x"
    assert identifier_clean("x" * 255, "external_id") == "x" * 255
    assert not Incoming()
    assert Incoming(phone="+4915112345678")
