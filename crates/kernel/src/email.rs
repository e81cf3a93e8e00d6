//! Email addresses, validated and normalised the same way everywhere.

use std::fmt;

/// A syntactically valid email address, trimmed and lowercased.
///
/// Lowercasing the whole address makes uniqueness case-insensitive: every
/// mail provider in use treats the local part case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

/// The text is not an email address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises `raw`.
    ///
    /// # Errors
    /// [`InvalidEmail`] unless `raw` is `local@domain.tld` with sane characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let candidate = raw.trim().to_lowercase();
        if candidate.len() > Self::MAX_LEN {
            return Err(InvalidEmail);
        }
        let (local, domain) = candidate.rsplit_once('@').ok_or(InvalidEmail)?;
        // The local part is bounded by the total length only (RFC 5321's 64
        // cannot be stated by the API document's pattern, which must agree).
        let local_ok = !local.is_empty()
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok { Ok(Self(candidate)) } else { Err(InvalidEmail) }
    }

    /// The domain part (after `@`).
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let e = EmailAddress::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_ref(), "ada.lovelace@example.com");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa_mple.com",
            "a..b@example.com",
            "ada@-example.com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
