"""Resource profiles: the values a profile of `heddle.toml` gives a resource's config, checked and applied.

Every profile is checked against the resources this document declares (HE4012 at the resource's name: a key
its kind does not have, a value of the wrong type, a variable of the active profile that is not set); only
the active profile's values are applied, so the plan, hovers and the run see the effective config.

An `env:NAME` value stays a reference for a secret key (the run reads it, so no secret enters the plan),
and is the variable's value, converted to the key's type, for any other key.
"""

from __future__ import annotations

from heddle_lang.catalog import NO_PROFILES, ProfileValue, ResourceSpec
from heddle_lang.diagnostics import Diagnostic
from heddle_lang.semantic.context import Context, ResourceInfo
from heddle_lang.suggest import closest
from heddle_lang.types import Field, ValueType


def apply_profiles(ctx: Context, name: str, info: ResourceInfo, spec: ResourceSpec) -> None:
    profiles = getattr(ctx.catalog, "profiles", NO_PROFILES)
    decl = info.decl
    assert decl.name is not None
    for profile, resources in profiles.profiles.items():
        active = profile == profiles.active
        for key, given in resources.get(name, {}).items():
            where = f"profile `{profile}` ({profiles.source}:{given.line})"
            field = spec.config.get(key)
            if field is None:
                best = closest(key, spec.config.by_name)
                hint = f"; did you mean `{best}`?" if best else ""
                ctx.report(Diagnostic("HE4012", decl.name.span, f"{where} sets `{key}`, which `{spec.kind}` has "
                                      f"no key for{hint}"))
                continue
            value, problem = _value(given, field, active)
            if problem is not None:
                ctx.report(Diagnostic("HE4012", decl.name.span, f"{where}: {problem}"))
            elif active:
                info.config[key] = value
                info.overrides[key] = given


def _value(given: ProfileValue, field: Field, active: bool) -> tuple[object, str | None]:
    """The value the config receives, or what is wrong with it."""
    if given.env is not None:
        if field.secret:
            return f"env:{given.env}", None  # read by the run, never written into the plan
        if not given.present:
            problem = f"`{field.name}` is read from the environment variable {given.env}, which is not set"
            return None, problem if active else None
        converted = _converted(str(given.value), field.type)
        if converted is None:
            return None, (f"`{field.name}` expects {field.type}, but the environment variable {given.env} holds "
                          f"{given.value!r}")
        return converted[0], None
    if not _fits(given.value, field.type):
        return None, f"`{field.name}` expects {field.type}, not {given.value!r}"
    return given.value, None


def _converted(text: str, expected: ValueType) -> tuple[object] | None:
    kind = expected.kind
    try:
        if kind == "int":
            return (int(text),)
        if kind == "float":
            return (float(text),)
    except ValueError:
        return None
    if kind == "bool":
        lowered = text.strip().lower()
        return (lowered in ("1", "true", "yes", "on"),) if lowered in ("1", "0", "true", "false", "yes", "no", "on",
                                                                       "off") else None
    if kind in ("str", "any"):
        return (text,)
    return None


def _fits(value: object, expected: ValueType) -> bool:
    if value is None:
        return expected.nullable or expected.kind == "any"
    match expected.kind:
        case "any":
            return True
        case "str":
            return isinstance(value, str)
        case "int":
            return isinstance(value, int) and not isinstance(value, bool)
        case "float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "bool":
            return isinstance(value, bool)
        case "list":
            return isinstance(value, list) and (expected.item is None or all(_fits(v, expected.item) for v in value))
        case "dict" | "record":
            return isinstance(value, dict)
    return True
