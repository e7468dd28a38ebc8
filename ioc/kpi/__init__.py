"""KPIs of the plan (績效指標): definitions as data (`schemas/kpis.yaml`), validated measurements,
and pure evaluation (value, target, attainment, status, weighted score).

The CLI: `evaluate_file(path, year, as_of)` returns the JSON object `ioc kpi evaluate` prints;
any `KpiError` it raises carries the message to print before exiting 2.
"""

from .definitions import (
    DefinitionError,
    Definitions,
    Goal,
    Indicator,
    KpiError,
    Pace,
    Project,
    YearError,
    YearSpec,
    load_definitions,
)
from .evaluate import (
    STATUSES,
    evaluate,
    evaluate_file,
    evaluate_indicator,
    evaluate_project,
    evaluate_projects,
    resolve_as_of,
    resolve_year,
    select_latest,
)
from .measurements import (
    KPI_MEASUREMENT,
    PROJECT_MEASUREMENT,
    Measurement,
    MeasurementError,
    Problem,
    ProjectMeasurement,
    parse_measurement_lines,
    parse_project_lines,
    read_measurements,
    read_project_measurements,
    to_project_row,
    to_row,
    validate_measurement,
    validate_project_measurement,
)

__all__ = [
    "KPI_MEASUREMENT", "PROJECT_MEASUREMENT", "STATUSES",
    "DefinitionError", "Definitions", "Goal", "Indicator", "KpiError", "Measurement", "MeasurementError",
    "Pace", "Problem", "Project", "ProjectMeasurement", "YearError", "YearSpec",
    "evaluate", "evaluate_file", "evaluate_indicator", "evaluate_project", "evaluate_projects",
    "load_definitions", "parse_measurement_lines", "parse_project_lines", "read_measurements",
    "read_project_measurements", "resolve_as_of", "resolve_year", "select_latest", "to_project_row",
    "to_row", "validate_measurement", "validate_project_measurement",
]
