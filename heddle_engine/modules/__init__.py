"""Built-in modules, declared with the plugin SDK like any plugin: import path → `module:attribute`."""

BUILTIN_MODULES: dict[str, str] = {
    "std/io": "heddle_engine.modules.std.io:plugin",
    "fhub/postgresql": "heddle_engine.modules.fhub.postgresql:plugin",
    "fhub/sqlite": "heddle_engine.modules.fhub.sqlite:plugin",
    "fhub/clickhouse": "heddle_engine.modules.fhub.clickhouse:plugin",
    "fhub/kafka": "heddle_engine.modules.fhub.kafka:plugin",
    "fhub/llm": "heddle_engine.modules.fhub.llm:plugin",
}
