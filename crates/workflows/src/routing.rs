//! Routing: who works a qualified lead. An organization chooses in its
//! settings (`settings.routing`):
//!
//! ```json
//! { "routing": { "mode": "auto", "strategy": "round_robin",
//!                "teamId": "…", "maxOpenLeadsPerMember": 25 } }
//! ```
//!
//! `mode`: `manual` (the default: no route step), `propose` (a proposal a
//! person accepts or rejects) or `auto` (assigned at once). `strategy`:
//! `round_robin` (members in turn, by a counter every submission of the
//! organization shares, so it stays fair under concurrency) or
//! `least_loaded` (the member with the fewest open leads). `teamId` limits
//! the candidates to a team; `maxOpenLeadsPerMember` skips members who have
//! that many open leads.

use leadflow_kernel::{TeamId, UserId};
use serde_json::Value;

/// How long a routing proposal waits for a decision.
pub const PROPOSAL_TTL: chrono::Duration = chrono::Duration::days(7);

/// How an organization routes leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingMode {
    /// People assign leads themselves.
    Manual,
    /// A proposal that a person accepts or rejects.
    Propose,
    /// Assigned at once.
    Auto,
}

/// Whom a lead goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Members in turn.
    RoundRobin,
    /// The member with the fewest open leads.
    LeastLoaded,
}

impl Strategy {
    /// The settings' name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::LeastLoaded => "least_loaded",
        }
    }
}

/// An organization's routing settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutingSettings {
    /// Manual, propose or auto.
    pub mode: RoutingMode,
    /// Round robin or least loaded.
    pub strategy: Strategy,
    /// Only this team's members.
    pub team: Option<TeamId>,
    /// Skip members with this many open leads.
    pub max_open_leads: Option<u64>,
}

impl RoutingSettings {
    /// Reads `settings.routing` (anything unreadable is the default: manual, round robin).
    #[must_use]
    pub fn from_settings(settings: &Value) -> Self {
        let routing = settings.get("routing");
        let text = |key: &str| routing.and_then(|r| r.get(key)).and_then(Value::as_str);
        Self {
            mode: match text("mode") {
                Some("auto") => RoutingMode::Auto,
                Some("propose") => RoutingMode::Propose,
                _ => RoutingMode::Manual,
            },
            strategy: match text("strategy") {
                Some("least_loaded") => Strategy::LeastLoaded,
                _ => Strategy::RoundRobin,
            },
            team: text("teamId").and_then(|t| uuid::Uuid::parse_str(t).ok()).map(TeamId::from_uuid),
            max_open_leads: routing.and_then(|r| r.get("maxOpenLeadsPerMember")).and_then(Value::as_u64),
        }
    }
}

/// A member who could take the lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The member.
    pub user: UserId,
    /// Their open (pending) leads.
    pub open_leads: u64,
}

/// The member `strategy` picks among `candidates` (`ticket`: the
/// organization's round-robin counter, taken atomically per lead).
#[must_use]
pub fn pick(settings: &RoutingSettings, candidates: &[Candidate], ticket: u64) -> Option<UserId> {
    let mut eligible: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| settings.max_open_leads.is_none_or(|max| c.open_leads < max))
        .collect();
    eligible.sort_by_key(|c| c.user.as_uuid());
    match settings.strategy {
        Strategy::RoundRobin => {
            let n = u64::try_from(eligible.len()).ok().filter(|n| *n > 0)?;
            eligible.get(usize::try_from(ticket % n).ok()?).map(|c| c.user)
        }
        Strategy::LeastLoaded => {
            eligible.iter().min_by_key(|c| (c.open_leads, c.user.as_uuid())).map(|c| c.user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn members(n: usize) -> Vec<Candidate> {
        (0..n).map(|i| Candidate { user: UserId::new(), open_leads: i as u64 }).collect()
    }

    #[test]
    fn settings_default_to_manual_round_robin() {
        let s = RoutingSettings::from_settings(&json!({}));
        assert_eq!(
            (s.mode, s.strategy, s.team, s.max_open_leads),
            (RoutingMode::Manual, Strategy::RoundRobin, None, None)
        );
        let s = RoutingSettings::from_settings(
            &json!({ "routing": { "mode": "auto", "strategy": "least_loaded", "maxOpenLeadsPerMember": 3 } }),
        );
        assert_eq!(
            (s.mode, s.strategy, s.max_open_leads),
            (RoutingMode::Auto, Strategy::LeastLoaded, Some(3))
        );
    }

    #[test]
    fn round_robin_is_fair_and_least_loaded_takes_the_lightest() {
        let team = members(4);
        let rr = RoutingSettings::from_settings(&json!({ "routing": { "mode": "auto" } }));
        let mut counts = std::collections::HashMap::new();
        for ticket in 0..100 {
            *counts.entry(pick(&rr, &team, ticket).unwrap()).or_insert(0) += 1;
        }
        assert!(counts.values().all(|c| *c == 25), "{counts:?}");
        let ll = RoutingSettings { strategy: Strategy::LeastLoaded, ..rr };
        assert_eq!(pick(&ll, &team, 7), Some(team[0].user));
        let capped = RoutingSettings { max_open_leads: Some(0), ..ll };
        assert_eq!(pick(&capped, &team, 0), None);
        assert_eq!(pick(&rr, &[], 3), None);
    }
}
