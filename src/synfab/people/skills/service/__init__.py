"""Skills use cases: the skill catalogue, people's levels, certifications and their reminders, training plans
and records, the qualification check at the machine with its supervisor override, shift rosters with their skill
coverage and suggested assignment.

Writes take a unit of work and never commit; reads take a session. The `*_query` functions build the filtered
statements the list pages, the API and the Excel exports share. Everything is imported from here
(`from synfab.people.skills import service`).
"""

from synfab.people.skills.service.catalogue import (  # noqa: F401
    MATRIX_SORTS, SKILL_SORTS, create_skill, get_skill, level_history, levels_of, lines_of_people, list_skills,
    matrix_people_query,
    person_skill, person_skills, set_skill_level, skill_by_code, skill_matrix_query, skill_query, update_skill,
)
from synfab.people.skills.service.certifications import (  # noqa: F401
    CERTIFICATION_SORTS, add_certification, certification_query, certification_state, certifications_of,
    days_left, expiring_count, get_certification, is_valid_on, remind_expiring_certifications,
    update_certification,
)
from synfab.people.skills.service.common import (  # noqa: F401
    get_person, level_meaning, list_people, person_by_username, site_today,
)
from synfab.people.skills.service.qualification import (  # noqa: F401
    OverrideNotAllowed, Qualification, Qualifier, check_operation_qualification, check_qualification,
    get_operation, not_qualified_error, override_for, override_qualification, overrides_of, require_qualified,
    require_qualified_for_operation, supervisor_id_for,
)
from synfab.people.skills.service.rosters import (  # noqa: F401
    Assignment, OperationNeed, Requirement, RosterWeek, ShiftCoverage, add_roster_entry, apply_suggestion,
    get_roster_entry, line_shifts, match_people, people_on_shift, remove_roster_entry, roster_line, roster_lines,
    roster_query, roster_week, shift_coverage, shifts_on, uncovered_today,
)
from synfab.people.skills.service.training import (  # noqa: F401
    TRAINING_RECORD_SORTS, TargetProgress, add_training_target, create_training_plan, get_training_plan,
    list_training_plans, plan_progress, record_training, remove_training_target, training_record_query,
    update_training_plan,
)
