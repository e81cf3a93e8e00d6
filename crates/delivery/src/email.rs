//! The email outbox's model: what a message is, its kinds and statuses, and
//! the retry schedule of SPEC §5.

use chrono::{DateTime, Duration, Utc};
use leadflow_kernel::OrganizationId;
use serde_json::Value;

leadflow_kernel::typed_id!(
    /// Identifies a queued email (and builds its stable `Message-ID`).
    EmailId
);

/// What a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// An invitation to join an organization (carries the invitation token).
    Invitation,
    /// A password reset link (carries a reset token).
    PasswordReset,
    /// An email-address verification link (carries a verification token).
    EmailVerification,
    /// An approver is asked to review an outreach draft.
    ApprovalRequest,
    /// The approved email to a lead.
    Outreach,
    /// The organization's admins learn that Leadflow disabled a webhook endpoint.
    WebhookDisabled,
}

impl EmailKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Invitation,
        Self::PasswordReset,
        Self::EmailVerification,
        Self::ApprovalRequest,
        Self::Outreach,
        Self::WebhookDisabled,
    ];

    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::ApprovalRequest => "approval_request",
            Self::Outreach => "outreach",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Outreach to a lead is sent at most once; everything else (transactional
    /// mail) at least once.
    #[must_use]
    pub const fn at_most_once(self) -> bool {
        matches!(self, Self::Outreach)
    }
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// A worker is sending it now (leased).
    Sending,
    /// The server accepted it.
    Sent,
    /// Given up: a permanent refusal, or the retries ran out.
    Failed,
    /// An outreach send was interrupted so that its fate is unknown; it is
    /// never re-sent automatically (a person may resend it).
    Unknown,
}

impl EmailStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [Self::Pending, Self::Sending, Self::Sent, Self::Failed, Self::Unknown];

    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether a person may ask for it to be sent again.
    #[must_use]
    pub const fn resendable(self) -> bool {
        matches!(self, Self::Failed | Self::Unknown)
    }
}

/// One message of the outbox, as people see it (its secrets never leave the store).
#[derive(Clone, Debug, PartialEq)]
pub struct Email {
    /// Its id.
    pub id: EmailId,
    /// The organization it concerns (`None` for account mail such as a password reset).
    pub organization_id: Option<OrganizationId>,
    /// What it is.
    pub kind: EmailKind,
    /// Who receives it.
    pub recipient: String,
    /// Its subject.
    pub subject: String,
    /// Its plain-text body, with every secret redacted.
    pub body: String,
    /// Where it is.
    pub status: EmailStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The server's reply to the accepted message.
    pub reply: Option<String>,
    /// The `Message-ID` header it was sent with.
    pub message_id: Option<String>,
    /// The lead it was written to (outreach).
    pub lead_id: Option<uuid::Uuid>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A leased message, with what rendering it needs: the template data and its secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingEmail {
    /// The message.
    pub email: Email,
    /// The template's data (never secret).
    pub data: Value,
    /// The secrets the template puts in its links (a token), if not forgotten yet.
    pub secrets: Option<Value>,
}

/// The waits before the 2nd … 6th attempt of an email (SPEC §5).
pub const EMAIL_RETRY_SCHEDULE: [Duration; 5] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(6),
];

/// When to try again after failed attempt number `attempts` (1-based), or
/// `None` when the schedule is spent and the message fails.
#[must_use]
pub fn email_retry_delay(attempts: u32) -> Option<Duration> {
    EMAIL_RETRY_SCHEDULE.get(usize::try_from(attempts.checked_sub(1)?).ok()?).copied()
}

/// How a message left, or did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailOutcome {
    /// Accepted: the server's reply and the body as sent, its secrets redacted.
    Sent {
        /// The server's reply line.
        reply: String,
        /// The `Message-ID` it carried.
        message_id: String,
        /// The body as sent, redacted.
        body: String,
    },
    /// Try again at `at`.
    Retry {
        /// Why it failed.
        error: String,
        /// The next attempt.
        at: DateTime<Utc>,
    },
    /// Given up.
    Failed {
        /// Why.
        error: String,
    },
    /// Its fate is unknown (outreach only): never re-sent automatically.
    Unknown {
        /// What interrupted it.
        error: String,
    },
}

/// Filters of the email list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailFilter {
    /// Only this status.
    pub status: Option<EmailStatus>,
    /// Only this kind.
    pub kind: Option<EmailKind>,
    /// Only outreach (a reader with `leads:view_all` but not `settings:manage`).
    pub outreach_only: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_is_five_waits_then_failure() {
        let waits: Vec<_> = (1..=6).map(email_retry_delay).collect();
        assert_eq!(waits[0], Some(Duration::minutes(1)));
        assert_eq!(waits[4], Some(Duration::hours(6)));
        assert_eq!(waits[5], None);
        assert_eq!(email_retry_delay(0), None);
    }

    #[test]
    fn names_round_trip() {
        for k in EmailKind::ALL {
            assert_eq!(EmailKind::parse(k.as_str()), Some(k));
        }
        for s in EmailStatus::ALL {
            assert_eq!(EmailStatus::parse(s.as_str()), Some(s));
        }
        assert!(EmailKind::Outreach.at_most_once());
        assert!(!EmailKind::Invitation.at_most_once());
    }
}
