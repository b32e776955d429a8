"""Layer ``reporting``: pivot tables, charts (SVG) and the PDF report service."""
