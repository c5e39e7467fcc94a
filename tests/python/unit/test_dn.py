"""Unit tests of dirsync.dn: distinguished names compared as the directory compares them."""

import pytest

from dirsync import dn


@pytest.mark.parametrize("one, other", [
    ("OU=Staff,DC=contoso,DC=com", "ou=staff, dc=Contoso ,DC=COM"),                  # case and blanks
    ("CN=Smith\\, Jane,OU=Staff,DC=contoso,DC=com", "CN=Smith\\2C Jane,OU=Staff,DC=contoso,DC=com"),
    ("OU=R\\;D,DC=contoso,DC=com", "OU=R\\3BD,DC=contoso,DC=com"),                     # Samba's hex escapes
    ("OU=a\\=b,DC=x", "OU=a\\3db,DC=x"),
    ("CN=J\\C3\\A9r\\C3\\B4me,DC=x", "CN=Jérôme,DC=x"),                               # UTF-8 in hex
    ("CN=A+UID=7,DC=x", "UID=7+CN=a,DC=x"),                                          # multi-valued RDN
])
def test_two_spellings_of_one_dn_are_equal(one, other):
    assert dn.parse(one) == dn.parse(other)


def test_the_leaf_comes_first_and_an_escaped_comma_stays_in_its_value():
    parsed = dn.parse("CN=x\\,OU=Leavers,OU=Staff,DC=contoso,DC=com")
    assert parsed == (("cn=x,ou=leavers",), ("ou=staff",), ("dc=contoso",), ("dc=com",))
    assert not dn.is_under(parsed, dn.parse("OU=Leavers,OU=Staff,DC=contoso,DC=com"))


def test_escaped_blanks_at_the_edges_are_kept_and_plain_ones_dropped():
    assert dn.parse("CN=\\ Ann\\ ,DC=x") == (("cn= ann ",), ("dc=x",))
    assert dn.parse("CN=  Ann  ,DC=x") == (("cn=ann",), ("dc=x",))
    assert dn.parse("CN=Ann Lee,DC=x") == (("cn=ann lee",), ("dc=x",))


def test_a_numeric_attribute_type_is_accepted():
    assert dn.parse("2.5.4.3=Ann,DC=x")[0] == ("2.5.4.3=ann",)


@pytest.mark.parametrize("text, problem", [
    ("Staff", "has no '='"),
    ("OU=Staff,contoso", "has no '='"),
    ("OU=,DC=x", "OU= has no value"),
    ("O U=Staff", "is not an attribute name"),
    ("=Staff", "is not an attribute name"),
    ("OU=Staff\\", "lone backslash"),
])
def test_what_is_not_a_dn_is_refused_with_the_reason(text, problem):
    with pytest.raises(ValueError, match=problem):
        dn.parse(text)


def test_is_under_is_true_for_the_container_itself_and_below_it_only():
    staff = dn.parse("OU=Staff,DC=contoso,DC=com")
    assert dn.is_under(dn.parse("CN=Ann,OU=Staff,DC=contoso,DC=com"), staff)
    assert dn.is_under(dn.parse("CN=Bo,OU=IT,OU=Staff,DC=contoso,DC=com"), staff)
    assert dn.is_under(staff, staff)
    assert not dn.is_under(dn.parse("CN=Ann,OU=Staff2,DC=contoso,DC=com"), staff)
    assert not dn.is_under(dn.parse("DC=contoso,DC=com"), staff)
    assert not dn.is_under(dn.parse("OU=Staff,DC=fabrikam,DC=com"), staff)


def test_text_is_the_canonical_form():
    assert dn.text(dn.parse("UID=7+CN=A,OU=R\\3BD, DC=X")) == "cn=a+uid=7,ou=r;d,dc=x"
