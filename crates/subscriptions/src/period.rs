//! Monthly usage periods anchored at the subscription's start.
//!
//! Period *n* runs from `anchor + n months` to `anchor + (n+1) months`
//! (chrono clamps to the month's end: an anchor on the 31st gives periods
//! starting on the 28th/29th/30th in shorter months, and back to the 31st
//! after). The period containing any instant is computed, never stored, so
//! usage rolls over at the boundary without a scheduled job: counters are
//! keyed by the period's start.

use chrono::{DateTime, Months, Utc};

/// One usage period: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// First instant of the period.
    pub start: DateTime<Utc>,
    /// First instant of the next period.
    pub end: DateTime<Utc>,
}

impl Period {
    /// The period of a subscription anchored at `anchor` that contains `at`
    /// (the first period for instants before the anchor).
    #[must_use]
    pub fn containing(anchor: DateTime<Utc>, at: DateTime<Utc>) -> Self {
        let nth = |n: u32| anchor.checked_add_months(Months::new(n)).unwrap_or(DateTime::<Utc>::MAX_UTC);
        if at < anchor {
            return Self { start: anchor, end: nth(1) };
        }
        // A first guess from whole months elapsed, corrected by at most one step either way.
        let months = (at.years_since(anchor).unwrap_or(0) * 12)
            + u32::try_from(((at.month0() as i32) - (anchor.month0() as i32)).rem_euclid(12)).unwrap_or(0);
        let mut n = months.saturating_sub(1);
        while nth(n + 1) <= at {
            n += 1;
        }
        while n > 0 && nth(n) > at {
            n -= 1;
        }
        Self { start: nth(n), end: nth(n + 1) }
    }
}

use chrono::Datelike as _;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn periods_follow_the_anchor_month_by_month() {
        let anchor = t("2026-01-15T10:00:00Z");
        let p = Period::containing(anchor, t("2026-01-20T00:00:00Z"));
        assert_eq!((p.start, p.end), (anchor, t("2026-02-15T10:00:00Z")));
        let p = Period::containing(anchor, t("2026-02-15T10:00:00Z"));
        assert_eq!(p.start, t("2026-02-15T10:00:00Z"), "the boundary belongs to the new period");
        let p = Period::containing(anchor, t("2027-03-15T09:59:59Z"));
        assert_eq!((p.start, p.end), (t("2027-02-15T10:00:00Z"), t("2027-03-15T10:00:00Z")));
    }

    #[test]
    fn month_ends_are_clamped_and_recover() {
        let anchor = t("2026-01-31T00:00:00Z");
        let feb = Period::containing(anchor, t("2026-03-01T00:00:00Z"));
        assert_eq!((feb.start, feb.end), (t("2026-02-28T00:00:00Z"), t("2026-03-31T00:00:00Z")));
        let apr = Period::containing(anchor, t("2026-04-30T12:00:00Z"));
        assert_eq!(apr.start, t("2026-04-30T00:00:00Z"));
        assert_eq!(apr.end, t("2026-05-31T00:00:00Z"));
    }

    #[test]
    fn every_instant_falls_in_exactly_one_contiguous_period() {
        let anchor = t("2024-01-31T08:30:00Z");
        let mut at = anchor;
        let mut previous: Option<Period> = None;
        while at < t("2027-01-01T00:00:00Z") {
            let p = Period::containing(anchor, at);
            assert!(p.start <= at && at < p.end, "{at} not in {p:?}");
            if let Some(prev) = previous
                && prev != p
            {
                assert_eq!(prev.end, p.start, "periods are contiguous");
            }
            previous = Some(p);
            at += chrono::Duration::hours(13);
        }
    }
}
