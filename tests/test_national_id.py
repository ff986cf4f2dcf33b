"""Handbook tests for domain.national_id (fødselsnummer, D-nummer, H-nummer)."""

from __future__ import annotations

import pytest

from domain.national_id import (
    InvalidNationalId,
    is_valid_national_id,
    national_id_kind,
    normalise_national_id,
    with_check_digits,
)

K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def classic_check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """K = 11 - (S mod 11); 11 means 0; 10 means no valid check digit (None)."""
    s = sum(w * int(d) for w, d in zip(weights, digits))
    k = 11 - s % 11
    if k == 11:
        return 0
    if k == 10:
        return None
    return k


def with_classic_check_digits(date_part: str, individual: int = 100) -> str:
    """Build a classic number: the date part, the first individual number from
    ``individual`` upwards (wrapping after 999) for which neither K1 nor K2
    would be 10, then K1 and K2."""
    for step in range(1000):
        first_nine = f"{date_part}{(individual + step) % 1000:03d}"
        k1 = classic_check_digit(first_nine, K1_WEIGHTS)
        if k1 is None:
            continue
        k2 = classic_check_digit(first_nine + str(k1), K2_WEIGHTS)
        if k2 is None:
            continue
        return f"{first_nine}{k1}{k2}"
    raise AssertionError("no individual number gives classic check digits")


def with_k1_remainder(first_nine: str, remainder: int) -> str | None:
    """Choose K1 so that (S1 + K1) mod 11 == remainder; K2 by the classic rule.

    Returns None if no digit gives that remainder or K2 would be 10.
    """
    s1 = sum(w * int(d) for w, d in zip(K1_WEIGHTS, first_nine))
    k1 = (remainder - s1) % 11
    if k1 == 10:
        return None
    k2 = classic_check_digit(first_nine + str(k1), K2_WEIGHTS)
    if k2 is None:
        return None
    return f"{first_nine}{k1}{k2}"


def rule_broken_by(raw: str) -> str:
    with pytest.raises(InvalidNationalId) as excinfo:
        normalise_national_id(raw)
    return excinfo.value.rule


# --- Skatteetaten's published vectors -------------------------------------


@pytest.mark.parametrize("number", ["02013299997", "30108299920"])
def test_skatteetaten_vectors_valid_under_both_rules_are_accepted(number):
    assert is_valid_national_id(number)
    assert normalise_national_id(number) == number


def test_a_2032_number_with_k1_remainder_is_accepted():
    # Valid only under the 2032 rule: (S1 + K1) mod 11 == 1.
    # Widely used validators (python-stdnum included) reject it; we must not.
    assert is_valid_national_id("30108299939")
    assert normalise_national_id("30108299939") == "30108299939"
    assert national_id_kind("30108299939") == "fnr"


# --- Check digits -----------------------------------------------------------


@pytest.mark.parametrize("number", ["01010101006", "15076500565", "17054026641"])
def test_known_classic_numbers_are_accepted(number):
    assert is_valid_national_id(number)


@pytest.mark.parametrize("date_part", ["010190", "311299", "290200", "150632"])
def test_a_number_with_classic_check_digits_is_accepted(date_part):
    for individual in range(0, 1000, 37):
        assert is_valid_national_id(with_classic_check_digits(date_part, individual))


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_2032_numbers_with_k1_remainder_one_to_three_are_accepted(remainder):
    accepted = [
        number
        for individual in range(100, 200)
        if (number := with_k1_remainder(f"150632{individual}", remainder))
    ]
    assert accepted, "the helper should find some 2032 numbers"
    assert all(is_valid_national_id(n) for n in accepted)


@pytest.mark.parametrize("remainder", [4, 5, 6, 7, 8, 9, 10])
def test_k1_remainder_four_or_more_is_rejected(remainder):
    rejected = [
        number
        for individual in range(100, 200)
        if (number := with_k1_remainder(f"150632{individual}", remainder))
    ]
    assert rejected, "the helper should find some numbers to reject"
    for number in rejected:
        assert not is_valid_national_id(number)
        assert rule_broken_by(number) == "checksum"


def test_k2_always_follows_the_classic_rule():
    # Right K1, K2 off by one: rejected under both rules.
    number = with_classic_check_digits("010190", 123)
    wrong_k2 = number[:10] + str((int(number[10]) + 1) % 10)
    assert rule_broken_by(wrong_k2) == "checksum"


def test_a_valid_number_with_one_digit_changed_is_rejected():
    assert rule_broken_by("30108299921") == "checksum"


def test_changing_any_single_digit_of_a_valid_number_is_rejected():
    for number in ["30108299920", "02013299997", "30108299939"]:
        for position in range(11):
            for digit in "0123456789":
                if digit == number[position]:
                    continue
                changed = number[:position] + digit + number[position + 1 :]
                assert not is_valid_national_id(changed), (number, position, digit)


# --- Format -----------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "3010829992", "301082999200", "1"])
def test_wrong_length_is_rejected(raw):
    assert not is_valid_national_id(raw)
    assert rule_broken_by(raw) == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "3010829992O",  # letter O instead of zero
        "30-10-82-99920",
        "+30108299920",
        "٣٠١٠٨٢٩٩٩٢٠",  # Arabic-Indic digits are not accepted
        "3010829992²",
    ],
)
def test_non_digits_are_rejected(raw):
    assert not is_valid_national_id(raw)
    assert rule_broken_by(raw) == "digits"


@pytest.mark.parametrize(
    "raw",
    ["020132 99997", " 02013299997 ", "020132.99997", "020 132 999 97", "02013299997\n"],
)
def test_spaces_and_a_dot_separator_are_normalised(raw):
    assert normalise_national_id(raw) == "02013299997"


def test_is_valid_expects_the_canonical_eleven_digits():
    assert not is_valid_national_id("020132 99997")
    assert not is_valid_national_id(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["0201.3299997", "020132..99997"])
def test_dots_elsewhere_are_rejected(raw):
    assert rule_broken_by(raw) == "digits"


# --- D-nummer and H-nummer ----------------------------------------------------


def test_a_d_number_has_four_added_to_the_first_digit():
    number = with_classic_check_digits("410185", 123)  # born 1 January 1985
    assert is_valid_national_id(number)
    assert national_id_kind(number) == "dnr"


def test_a_d_number_on_the_thirty_first_is_accepted():
    number = with_classic_check_digits("711299", 345)  # 31 December
    assert national_id_kind(number) == "dnr"


@pytest.mark.parametrize("day", [72, 80, 81, 90, 91])
def test_a_d_number_day_is_the_day_plus_forty_and_no_more(day):
    """Days 41-71 are D-numbers for the 1st to the 31st; 81 is not the 1st again."""
    number = with_classic_check_digits(f"{day}0190", 100)
    with pytest.raises(InvalidNationalId) as refused:
        normalise_national_id(number)
    assert refused.value.rule == "date"
    assert "dato" in str(refused.value)


def test_a_d_number_starting_with_8_is_refused_though_its_check_digits_are_right():
    assert rule_broken_by("81019010023") == "date"
    assert rule_broken_by("41019010023") == "checksum"  # same digits, day 1: not a number


def test_a_d_number_on_day_71_is_the_thirty_first():
    assert national_id_kind(with_classic_check_digits("710190", 100)) == "dnr"
    assert rule_broken_by(with_classic_check_digits("710490", 100)) == "date"  # 31 April


def test_an_h_number_has_four_added_to_the_third_digit():
    number = with_classic_check_digits("154185", 123)  # born 15 January 1985
    assert is_valid_national_id(number)
    assert national_id_kind(number) == "hnr"


def test_an_h_number_in_december_is_accepted():
    number = with_classic_check_digits("155299", 345)  # 15 December
    assert national_id_kind(number) == "hnr"


def test_an_ordinary_number_is_an_fnr():
    assert national_id_kind("02013299997") == "fnr"
    assert national_id_kind(with_classic_check_digits("010190", 123)) == "fnr"


def test_a_number_cannot_be_both_d_and_h():
    number = with_classic_check_digits("414185", 123)
    assert rule_broken_by(number) == "date"


def test_kind_of_an_invalid_number_is_refused():
    with pytest.raises(InvalidNationalId):
        national_id_kind("30108299921")


# --- Dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "date_part",
    [
        "320185",  # day 32
        "000185",  # day 0
        "011385",  # month 13
        "010085",  # month 0
        "310485",  # 31 April
        "300285",  # 30 February
        "290201",  # 29 February in a year that is never a leap year
        "720185",  # D-nummer, day 32
        "400185",  # D-nummer, day 0
        "015385",  # H-nummer, month 13
        "014085",  # H-nummer, month 0
        "314485",  # H-nummer, 31 April
    ],
)
def test_an_impossible_date_is_rejected_even_with_right_check_digits(date_part):
    number = next(
        n
        for individual in range(1000)
        if (n := with_k1_remainder(f"{date_part}{individual:03d}", 0))
    )
    assert not is_valid_national_id(number)
    assert rule_broken_by(number) == "date"


@pytest.mark.parametrize("year", ["00", "04", "32", "96"])
def test_29_february_is_accepted_when_the_year_can_be_a_leap_year(year):
    assert is_valid_national_id(with_classic_check_digits(f"2902{year}"))


# --- Error messages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rule", "message"),
    [
        ("3010829992", "length", "Fødselsnummeret må ha elleve sifre."),
        ("3010829992O", "digits", "Fødselsnummeret kan bare inneholde sifre."),
        ("32108299920", "date", "Fødselsnummeret inneholder ingen gyldig dato."),
        ("30108299921", "checksum", "Fødselsnummeret har ugyldige kontrollsifre."),
    ],
)
def test_errors_name_the_rule_in_norwegian_without_any_digits(raw, rule, message):
    with pytest.raises(InvalidNationalId) as excinfo:
        normalise_national_id(raw)
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert error.rule == rule
    assert str(error) == message
    assert not any(c.isdigit() for c in str(error) + repr(error))
    assert raw not in repr(error.args)
    assert error.__cause__ is None and error.__context__ is None


# --- Making numbers (with_check_digits) ---------------------------------------


def _first_nine_where(broken: str, date_part: str = "150215") -> str:
    """The first nine digits (``date_part`` and an individual number) for which the
    test's own classic rule finds no K1 (``broken="k1"``) or a K1 but no K2 ("k2")."""
    for individual in range(1000):
        first_nine = f"{date_part}{individual:03d}"
        k1 = classic_check_digit(first_nine, K1_WEIGHTS)
        if k1 is None:
            if broken == "k1":
                return first_nine
            continue
        if broken == "k2" and classic_check_digit(first_nine + str(k1), K2_WEIGHTS) is None:
            return first_nine
    raise AssertionError(f"no first nine digits without a classic {broken}")


@pytest.mark.parametrize("date_part", ["150215", "010100", "311299", "290204", "450315"])
def test_with_check_digits_makes_numbers_the_validator_accepts(date_part):
    made = 0
    for individual in range(1000):
        first_nine = f"{date_part}{individual:03d}"
        number = with_check_digits(first_nine)
        if number is None:
            continue
        made += 1
        assert number[:9] == first_nine
        assert number == with_classic_check_digits(date_part, individual)
        assert is_valid_national_id(number)
    assert made > 750  # K1 is 10 for about one in eleven, K2 for one in eleven of the rest


@pytest.mark.parametrize("broken", ["k1", "k2"])
def test_with_check_digits_is_none_where_a_check_digit_would_be_10(broken):
    first_nine = _first_nine_where(broken)
    assert with_check_digits(first_nine) is None


@pytest.mark.parametrize("raw", ["", "15021550", "1502155000", "15021550x", "150215 50"])
def test_with_check_digits_wants_exactly_nine_digits(raw):
    with pytest.raises(ValueError):
        with_check_digits(raw)
