"""What the benefits engine is told: a measure's spec and the engine's settings."""

from __future__ import annotations

from dataclasses import dataclass

from benefits import spc as S
from benefits.status import StatusRules


@dataclass(frozen=True)
class MeasureSpec:
    """What the engine needs to know about a measure (pipeline.marts.build.MeasureDef fits)."""

    code: str
    direction: str = "neutral"  # higher | lower | neutral
    family: str = "binomial"  # binomial | poisson | mean: how the numerator is distributed
    multiplier: float = 1.0
    has_denominator: bool = True
    numerator: str = ""
    warm_up_months: int = 0  # first months of a site's series that are incomplete
    mature_after_days: int = 0  # a month is complete this many days after its end
    moved_by: tuple[str, ...] = ()  # measures of the same records: their benefits explain this one's changes

    @classmethod
    def of(cls, m) -> MeasureSpec:
        return cls(
            code=m.code,
            direction=getattr(m, "direction", "neutral") or "neutral",
            family=getattr(m, "family", "binomial") or "binomial",
            multiplier=float(getattr(m, "multiplier", 1.0) or 1.0),
            has_denominator=bool(getattr(m, "has_denominator", True)),
            numerator=getattr(m, "numerator", "") or "",
            warm_up_months=int(getattr(m, "warm_up_months", 0) or 0),
            mature_after_days=int(getattr(m, "mature_after_days", 0) or 0),
            moved_by=tuple(getattr(m, "moved_by", ()) or ()),
        )


@dataclass(frozen=True)
class EngineSettings:
    status: StatusRules = StatusRules()
    screen_outliers: bool = True
    short_group: int = S.SHORT_GROUP
    its_min_pre: int = 8  # fitted months before go-live
    its_min_post: int = 3  # fitted months after ramp-in
    slope_min_post: int = 12  # fit a slope change from this many months after ramp-in (unless overridden)
    seasonality_min_points: int = 24  # Fourier terms once this many months are fitted ...
    seasonality_min_pre: int = 12  # ... with at least this many before go-live
    # A secular trend only from this many fitted months before go-live. Not 12: a measure with a
    # 2-month warm-up (length of stay, readmissions, rates per bed day) fits 11 months from a
    # calendar year of baseline, and without the trend its counterfactual missed by the drift
    # times two years (cumulative coverage 0.55 on length of stay at scale 0.5, docs/benefits.md).
    trend_min_pre: int = 10
    seasonality_pairs: int = 1  # the automatic choice


DEFAULT_SETTINGS = EngineSettings()
