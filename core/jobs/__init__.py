"""Layer ``jobs``: the background job queue (huey). Knows a registry only by what it holds
(``config``, ``pm``, ``transaction``), so it imports ground modules only."""
