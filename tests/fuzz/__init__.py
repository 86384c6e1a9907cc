"""fuzz tier: schemathesis over docs/openapi.json against the local cloud, plus hand-made bad inputs."""
