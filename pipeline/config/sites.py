"""Site configuration: one YAML file per site, typed and validated on load.

Errors name the file and the field (`deploy/sites/RF4.yaml: sources.0.dataset: ...`), because
the people who edit these files are trust data teams, not the authors of this code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from benefits.register import Benefit, Project
from dataset_contracts.contracts import CONTRACTS
from pipeline.config.settings import benefits_home

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A site configuration that cannot be used; the message names file and field."""


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    connector: str
    dataset: str
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        if v not in CONTRACTS:
            raise ValueError(f"unknown dataset {v!r}; known: {', '.join(sorted(CONTRACTS))}")
        return v


MappingValue = str | bool | int | float


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold_above_percent: float = Field(
        default=5.0, ge=0, le=100, description="hold a batch when more than this % of its rows fail one error rule"
    )


def _unique(what: str, values: list) -> None:
    dupes = {v for v in values if values.count(v) > 1}
    if dupes:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(sorted(dupes))}")


def _investments_dated(projects: list, named: set) -> None:
    """A project's investment starts at its benefits' earliest go-live unless it gives a start itself."""
    for p in projects:
        if p.investment is not None and p.investment.start is None and p.name not in named:
            raise ValueError(f"project {p.name!r}: investment.start is needed when no benefit names the project "
                             "(it defaults to their earliest go-live)")


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ods_code: str = Field(pattern=r"^[A-Z0-9]{3,5}$")
    name: str
    trust_type: Literal["acute", "mental_health", "ambulance", "community", "national_body"]
    region: str
    role: Literal["trust", "publisher"] = "trust"
    # when the daily extract starts, "HH:MM" Europe/London (deploy/prefect.yaml is written from it
    # by `benefits docs`); default: a time between 00:00 and 01:50 its ODS code picks
    extract_at: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # the Prefect work queue of a worker inside the trust's network (docs/deploy.md); default: the pool's
    work_queue: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    sources: list[Source] = Field(default_factory=list)
    # dataset -> contract column -> local value -> national value (a list means the values
    # are already national and are the only ones allowed)
    mappings: dict[str, dict[str, dict[str, MappingValue] | list[str]]] = Field(default_factory=dict)
    benefits: list[Benefit] = Field(default_factory=list)  # or, in YAML, a path to a register file
    # projects' shared investment and who gains / bears the cost (a register file may hold them too)
    projects: list[Project] = Field(default_factory=list)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    # a demo site's simulator settings; the simulator validates them (pipeline.runtime.get_sites)
    simulation: dict[str, Any] | None = None
    path: Path | None = Field(default=None, exclude=True)
    benefits_path: Path | None = Field(default=None, exclude=True)  # a register in its own file

    @field_validator("mappings")
    @classmethod
    def _mapped_columns_exist(cls, v):
        for dataset, columns in v.items():
            if dataset not in CONTRACTS:
                raise ValueError(f"mapping for unknown dataset {dataset!r}")
            names = CONTRACTS[dataset].column_names
            for column, mapping in columns.items():
                if column not in names:
                    raise ValueError(f"{dataset} has no column {column!r} to map; columns: {', '.join(names)}")
                # a local code mapped to a value the contract does not allow would only be found
                # as a quarantined row of every batch that carries it
                allowed = CONTRACTS[dataset].column(column).values
                if allowed and isinstance(mapping, dict):
                    bad = sorted(str(t) for t in mapping.values() if str(t) not in allowed)
                    if bad:
                        raise ValueError(f"{dataset}.{column} maps to {', '.join(map(repr, bad))}, not one of "
                                         f"{', '.join(allowed)}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        seen = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"two sources are named {s.name!r}")
            seen.add(s.name)
        sim_code = (self.simulation or {}).get("ods_code", self.ods_code)
        if sim_code != self.ods_code:
            raise ValueError(f"simulation.ods_code {sim_code!r} differs from ods_code {self.ods_code!r}")
        if self.role == "trust" and self.trust_type == "national_body":
            raise ValueError("trust_type national_body is only for role: publisher")
        _unique("benefit ids", [b.id for b in self.benefit_list])
        _unique("project names", [p.name for p in self.projects])
        _investments_dated(self.projects, {b.project for b in self.benefit_list})
        return self

    @property
    def benefit_list(self) -> list[Benefit]:
        return self.benefits

    @property
    def schema(self) -> str:
        return f"local_{self.ods_code.lower()}"

    def mapping(self, dataset: str) -> dict[str, dict[str, MappingValue] | list[str]]:
        return self.mappings.get(dataset, {})


def _interpolate(value: Any) -> Any:
    """Expand ${VAR} and ${VAR:-default}; BENEFITS_HOME always has a value."""
    if isinstance(value, str):

        def repl(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            if name == "BENEFITS_HOME":
                return os.environ.get(name) or str(benefits_home())
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"environment variable {name} is not set")

        return _ENV.sub(repl, value)
    if isinstance(value, dict):
        return {k: _interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v) for v in value]
    return value


def _location(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def format_errors(
    path: Path, err: ValidationError | list[dict], prefix: tuple = (), what: str = "site configuration"
) -> str:
    lines = [f"{path}: invalid {what}"]
    for e in err.errors() if isinstance(err, ValidationError) else err:
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {path.name}: {_location(prefix + tuple(e['loc']))}: {msg}")
    return "\n".join(lines)


# Config files are a few kilobytes; the bounds stop a mistaken or hostile file (a data extract
# saved as .yaml, a "billion laughs" alias bomb) from hanging the run (issue 15 #7).
MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_NODES = 100_000


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """How many nodes the document has once every alias is expanded, counting shared nodes once
    per use (memoised, so a bomb is measured without being expanded); stops past `limit`."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if depth > 200:  # a recursive alias or absurd nesting
            return limit + 1
        total = 1
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [x for pair in n.value for x in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > limit:
                break
        sizes[id(n)] = total
        return total

    return size(node, 0)


def _repeated_key(node: yaml.Node) -> yaml.Node | None:
    """The second use of a key in one mapping, which YAML loaders keep silently (the last wins):
    a site file giving `name:` twice ran under the name the user did not expect to see."""
    seen_nodes: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen_nodes:  # an alias: its node was checked where it was defined
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in n.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in keys:
                        return key
                    keys.add(key.value)
                stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


def _safe_load(text: str, path: Path) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, MAX_CONFIG_NODES) > MAX_CONFIG_NODES:
            raise ConfigError(
                f"{path}: YAML anchors and aliases expand to more than {MAX_CONFIG_NODES:,} values; "
                "write the settings out rather than through nested aliases"
            )
        repeated = _repeated_key(node)
        if repeated is not None:
            raise ConfigError(
                f"{path}: line {repeated.start_mark.line + 1}: {repeated.value!r} is given twice in one mapping; keep one"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _read_yaml(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: {size:,} bytes is too large for a configuration file (limit {MAX_CONFIG_BYTES:,})"
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); save it as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        return _safe_load(text, path)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML: {getattr(e, 'problem', e)}") from None


def load_site(path: Path) -> SiteConfig:
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of site settings at the top level")
    try:
        raw = _interpolate(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    benefits = raw.get("benefits")
    try:
        return _validated(path, raw, benefits)
    except ConfigError as e:
        if isinstance(benefits, str):  # load_sites must know the register even of a site that failed
            e.register = _register_path(path, benefits)
        raise


def _register_path(site_path: Path, ref: str) -> Path:
    bpath = Path(ref)
    return bpath if bpath.is_absolute() else site_path.parent / bpath


def _validated(path: Path, raw: dict, benefits: Any) -> SiteConfig:
    benefits_path = projects = None
    if isinstance(benefits, str):
        benefits_path, raw["benefits"], projects = _load_benefits_file(path, benefits)
        if projects is not None:
            if "projects" in raw:
                raise ConfigError(f"{path}: projects: give them in the site file or in {benefits}, not both")
            raw["projects"] = projects
    try:
        site = SiteConfig.model_validate(raw)
    except ValidationError as e:
        if benefits_path is not None:
            # the fields under benefits (and projects, if it gave them) are in the register file:
            # an error naming the site file sent the user to a file without that line
            from_register = ("benefits", "projects") if projects is not None else ("benefits",)
            theirs = [x for x in e.errors() if x["loc"] and x["loc"][0] in from_register]
            if theirs:
                raise ConfigError(format_errors(benefits_path, theirs, what="benefit register")) from None
        raise ConfigError(format_errors(path, e)) from None
    site.path = path.resolve()
    site.benefits_path = benefits_path
    stem = path.stem.upper()
    if stem != site.ods_code and not path.stem.startswith("_"):
        raise ConfigError(f"{path}: ods_code {site.ods_code!r} does not match the file name (expected {stem}.yaml)")
    return site


def _load_benefits_file(site_path: Path, ref: str) -> tuple[Path, list, list | None]:
    bpath = _register_path(site_path, ref)
    if not bpath.exists():
        raise ConfigError(f"{site_path}: benefits: file {bpath} does not exist")
    data = _read_yaml(bpath)
    projects = None
    if isinstance(data, dict) and "benefits" in data:
        projects = data.get("projects")
        data = data["benefits"]
    if not isinstance(data, list):
        raise ConfigError(f"{bpath}: expected a list of benefits")
    return bpath, data, projects


def load_sites(directory: Path, only: list[str] | None = None) -> list[SiteConfig]:
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such sites folder")
    files = sorted(p for p in directory.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    if not files:
        raise ConfigError(f"{directory}: no site configuration files (*.yaml)")
    sites = _sites_of(files)
    codes = [s.ods_code for s in sites]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        raise ConfigError(f"{directory}: more than one file configures {', '.join(sorted(dupes))}")
    if only:
        wanted = {o.upper() for o in only}
        unknown = wanted - set(codes)
        if unknown:
            raise ConfigError(f"{directory}: no configuration for site(s) {', '.join(sorted(unknown))}")
        sites = [s for s in sites if s.ods_code in wanted]
    return sites


def _sites_of(files: list[Path]) -> list[SiteConfig]:
    """Every file loaded as a site; the first that is not a site raises its error, unless it is a
    register kept beside the site files that name it (`benefits: register.yaml`): that is theirs,
    not a site file of its own."""
    loaded: list[tuple[Path, SiteConfig | ConfigError]] = []
    for p in files:
        try:
            loaded.append((p, load_site(p)))
        except ConfigError as e:
            loaded.append((p, e))
    registers = {r.resolve() for _, s in loaded if (r := getattr(s, "register", None) or getattr(s, "benefits_path", None))}
    sites = []
    for p, s in loaded:
        if isinstance(s, ConfigError):
            if p.resolve() in registers:
                continue
            raise s
        sites.append(s)
    return sites


def resolve_path(site: SiteConfig, value: str) -> Path:
    """Relative paths in a site config are relative to the config file."""
    p = Path(value).expanduser()
    if not p.is_absolute() and site.path is not None:
        p = site.path.parent / p
    return p
