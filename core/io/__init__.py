"""Layer ``io``: import (CSV, XLSX) and export of records."""
