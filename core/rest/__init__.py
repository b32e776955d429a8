"""Layer ``rest``: the REST API ``/api/v1``, its schemas and the OpenAPI document."""
