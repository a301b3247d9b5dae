from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_docker_compose_defines_every_service_with_a_health_check():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        for variable in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CHATDIRECT_VAULT_KEYS"):
            assert variable in env, f"{name} does not receive {variable}"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
