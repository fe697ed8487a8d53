"""Writers of reports: `sheet` turns a Sheet into a table, Markdown, LaTeX or CSV and knows nothing of
convolutions; one small module per report kind turns a report into a Sheet (or JSON)."""
