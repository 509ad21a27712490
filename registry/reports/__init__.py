"""The study's reports: Table 1, a patient timeline and the cohort response, with server-side SVG charts."""
