"""One value checked against its field: every validation type, choices, limits and @FORCE-MINMAX."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from forms.values import BUILT_IN, check_value


@dataclass
class F:
    name: str = "f"
    field_type: str = "text"
    validation: str = ""
    validation_min: str = ""
    validation_max: str = ""
    annotation: str = ""
    choices: list = field(default_factory=list)


GOOD_AND_BAD = {
    "date_ymd": ("2024-02-29", "2023-02-29"), "date_dmy": ("2024-12-31", "31-12-2024"),
    "date_mdy": ("2024-01-02", "01/02/2024"), "datetime_ymd": ("2024-01-02 13:45", "2024-01-02"),
    "datetime_dmy": ("2024-01-02 00:00", "2024-01-02 24:00"),
    "datetime_mdy": ("2024-01-02 23:59", "2024-01-02T23:59"),
    "datetime_seconds_ymd": ("2024-01-02 13:45:59", "2024-01-02 13:45"),
    "datetime_seconds_dmy": ("2024-01-02 13:45:00", "2024-01-02 13:45:60"),
    "datetime_seconds_mdy": ("2024-01-02 00:00:00", "2024-1-2 0:0:0"),
    "time": ("23:59", "24:00"), "time_hh_mm_ss": ("23:59:59", "23:59"), "time_mm_ss": ("59:59", "60:00"),
    "integer": ("-12", "1.5"), "number": ("1.5e3", "1,5"), "number_1dp": ("1.5", "1.50"),
    "number_2dp": ("1.50", "1.5"), "number_3dp": ("-1.500", "1.5"), "number_4dp": ("0.1234", "0.123"),
    "number_comma_decimal": ("1,5", "1,5,0"), "number_1dp_comma_decimal": ("1,5", "1.5"),
    "number_2dp_comma_decimal": ("1,50", "1,5"), "number_3dp_comma_decimal": ("1,500", "1,50"),
    "number_4dp_comma_decimal": ("1,5000", "1,500"), "email": ("a.b@example.org", "a.b@"),
    "phone": ("(615) 555-0100", "555-0100"), "phone_australia": ("(02) 1234 5678", "1234 5678"),
    "phone_uk": ("020 7946 0000", "7946"), "phone_france": ("01 23 45 67 89", "1 23"),
    "zipcode": ("37203-1234", "3720"), "postalcode_australia": ("2000", "200"),
    "postalcode_canada": ("K1A 0B1", "K1A"), "postalcode_germany": ("10115", "00115"),
    "postalcode_french": ("75001", "99001"), "postalcode_uk": ("SW1A 1AA", "SW1A1AA"),
    "ssn": ("123-45-6789", "123456789"), "mrn_10d": ("0123456789", "012345678"),
    "mrn_generic": ("ab-12_c", "ab 12"), "vmrn": ("12345", "123"), "alpha_only": ("abc", "ab1"),
}  # fmt: skip


def test_every_built_in_type_is_covered():
    assert set(GOOD_AND_BAD) == set(BUILT_IN)


@pytest.mark.parametrize(("name", "pair"), sorted(GOOD_AND_BAD.items()))
def test_validation_type_accepts_good_and_refuses_bad(name, pair):
    good, bad = pair
    assert check_value(F(validation=name), good) == []
    (problem,) = check_value(F(validation=name), bad)
    assert problem.hard and repr(bad) in problem.message


def test_limits_are_soft_unless_force_minmax_and_may_name_today_or_a_field():
    age = F(validation="integer", validation_min="0", validation_max="18")
    (warning,) = check_value(age, "19")
    assert not warning.hard and "above the maximum" in warning.message
    (error,) = check_value(F(validation="integer", validation_max="18", annotation="@FORCE-MINMAX"), "19")
    assert error.hard
    visit = F(validation="date_ymd", validation_min="[onset]", validation_max="today")
    assert check_value(visit, "2024-01-01", values={"onset": "2024-02-01"})[0].message.startswith("2024-01-01 is below")
    assert "above the maximum" in check_value(visit, "2999-01-01")[0].message


def test_choices_keep_codes_exactly_and_unknown_site_types_are_plain_text():
    radio = F(field_type="radio", choices=[["-9", "Unknown"], ["Aa", "Other"]])
    assert check_value(radio, "-9") == [] and check_value(radio, "Aa") == []
    assert check_value(radio, "aa")[0].hard
    assert check_value(F(validation="mrn_8d"), "anything") == []
    assert check_value(F(field_type="yesno"), "2")[0].hard
    assert check_value(F(field_type="slider", validation_min="0", validation_max="10"), "11")[0].hard


def test_a_design_field_keeps_its_check_until_its_definition_changes_and_today_is_read_at_each_check():
    from datetime import date

    from forms.models import Field

    visit = Field(name="visit_date", field_type="text", validation="date_ymd", validation_max="today")
    assert check_value(visit, "2024-06-01", today=date(2024, 7, 1)) == []
    (late,) = check_value(visit, "2024-06-01", today=date(2024, 5, 1))  # the same field object, another day
    assert "above the maximum (today)" in late.message and not late.hard
    visit.validation_max, visit.annotation = "2024-01-31", "@FORCE-MINMAX"  # the definition changed in place
    (refused,) = check_value(visit, "2024-06-01")
    assert refused.hard and "above the maximum (2024-01-31)" in refused.message
    visit.validation = "integer"
    assert "not a valid" in check_value(visit, "2024-06-01")[0].message
    dose = Field(name="dose", field_type="radio", choices=[["1", "1 mg/kg"], ["2", "2 mg/kg"]])
    assert check_value(dose, "2") == []
    dose.choices = [["1", "1 mg/kg"]]
    assert "not one of the choices (1)" in check_value(dose, "2")[0].message
