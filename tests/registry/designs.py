"""Small study designs for registry tests, imported through the real dictionary importer."""

from __future__ import annotations

from forms.dictionary.services import import_dictionary
from forms.models import Project

API_HEADER = (
    "field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations,field_note,"
    "text_validation_type_or_show_slider_number,text_validation_min,text_validation_max,identifier,"
    "branching_logic,required_field,custom_alignment,question_number,matrix_group_name,matrix_ranking,"
    "field_annotation"
)

CLASSIC_ROWS = [
    "record_id,demographics,,text,Record ID,,,,,,,,,,,,,",
    "name,demographics,Identity,text,Name,,,,,,y,,,,,,,",
    "age,demographics,,text,Age (years),,years,integer,0,120,,,y,,,,,",
    'consent,demographics,,radio,Consent given,"1, Yes | 0, No",,,,,,,y,,,,,',
    "consent_date,demographics,,text,Date of consent,,,date_ymd,,today,,[consent] = '1',y,,,,,",
    "weight,demographics,,text,Weight (kg),,kg,number,1,150,,,,,,,,",
    "height,demographics,,text,Height (cm),,cm,number,40,220,,,,,,,,",
    'bmi,demographics,,calc,BMI,"round([weight]/(([height]/100)^2),1)",,,,,,,,,,,,',
    'symptoms,demographics,,checkbox,Symptoms,"1, Fever | 2, Rash | -9, Unknown",,,,,,,,,,,,',
    "rash_site,demographics,,text,Where is the rash?,,,,,,,[symptoms(2)] = '1',,,,,,",
    "crp,labs,,text,CRP (mg/L),,,number,0,300,,,,,,,,@FORCE-MINMAX",
    "esr,labs,,text,ESR (mm/h),,,integer,0,140,,,,,,,,",
]


def classic_dictionary() -> str:
    return "\n".join([API_HEADER, *CLASSIC_ROWS]) + "\n"


def import_classic(code: str = "classic") -> Project:
    result = import_dictionary(project_code=code, source=classic_dictionary().encode(), title="A classic study")
    assert not result.errors, result.errors
    project = Project.objects.get(code=code)
    return project
