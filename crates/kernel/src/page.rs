//! Pagination: offset pages with a total, and opaque keyset cursors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::validation::ValidationErrors;

/// Default number of items per page.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u64 = 100;

/// A validated `limit`/`offset` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPage {
    /// Items per page, 1..=[`MAX_LIMIT`].
    pub limit: u64,
    /// Items to skip.
    pub offset: u64,
}

impl Default for OffsetPage {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, offset: 0 }
    }
}

impl OffsetPage {
    /// Validates a page request; missing values take their defaults.
    ///
    /// # Errors
    /// A field error for `limit` outside 1..=100 or `offset` above 1,000,000.
    pub fn new(limit: Option<u64>, offset: Option<u64>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push("limit", format!("must be between 1 and {MAX_LIMIT}"));
        }
        let offset = offset.unwrap_or(0);
        if offset > 1_000_000 {
            errors.push("offset", "must be at most 1000000; narrow the filters instead");
        }
        errors.into_result()?;
        Ok(Self { limit, offset })
    }
}

/// One page of items and the total number of matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paged<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: u64,
    /// The page that was asked for.
    pub page: OffsetPage,
}

/// A position in a list sorted by (creation time, id), newest first: the
/// next page starts strictly after it. Sent to clients as an opaque string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last item seen.
    pub at: DateTime<Utc>,
    /// Id of the last item seen (breaks ties between equal times).
    pub id: Uuid,
}

/// The cursor string was not produced by [`Cursor::encode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid; use the nextCursor of a previous page")]
pub struct InvalidCursor;

impl Cursor {
    /// The opaque form given to clients: 32 base64url characters (the time
    /// in microseconds and the id, 24 bytes).
    #[must_use]
    pub fn encode(&self) -> String {
        let mut bytes = [0_u8; 24];
        bytes[..8].copy_from_slice(&self.at.timestamp_micros().to_be_bytes());
        bytes[8..].copy_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor: any 32 base64url characters (the pattern the API
    /// document states) are a position, a time outside 1970–9999 being read
    /// as the nearest end of that range.
    ///
    /// # Errors
    /// [`InvalidCursor`] for anything else.
    pub fn decode(raw: &str) -> Result<Self, InvalidCursor> {
        if raw.len() != 32 {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let micros = i64::from_be_bytes(bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or(InvalidCursor)?);
        let id = Uuid::from_slice(bytes.get(8..24).ok_or(InvalidCursor)?).map_err(|_| InvalidCursor)?;
        // 9999-12-31T23:59:59.999999Z: both databases store it.
        const LATEST: i64 = 253_402_300_799_999_999;
        let at = DateTime::from_timestamp_micros(micros.clamp(0, LATEST)).ok_or(InvalidCursor)?;
        Ok(Self { at, id })
    }
}

/// A validated keyset page request: newest first, strictly after `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeysetPage {
    /// Items per page, 1..=[`MAX_LIMIT`].
    pub limit: u64,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
}

impl KeysetPage {
    /// Validates `limit` and decodes `cursor`.
    ///
    /// # Errors
    /// Field errors for `limit` or `cursor`.
    pub fn new(limit: Option<u64>, cursor: Option<&str>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push("limit", format!("must be between 1 and {MAX_LIMIT}"));
        }
        let after = cursor.map(|c| errors.check("cursor", Cursor::decode(c))).unwrap_or(None);
        errors.into_result()?;
        Ok(Self { limit, after })
    }
}

/// One keyset page and where the next one starts (`None` at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetPaged<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        assert_eq!(Cursor::decode("not a cursor!"), Err(InvalidCursor));
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12|nope")), Err(InvalidCursor));
    }

    #[test]
    fn keyset_pages_check_limit_and_cursor() {
        assert_eq!(KeysetPage::new(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert!(KeysetPage::new(Some(500), None).is_err());
        assert!(KeysetPage::new(None, Some("??")).is_err());
        let c = Cursor { at: Utc::now(), id: Uuid::now_v7() };
        assert!(KeysetPage::new(Some(5), Some(&c.encode())).unwrap().after.is_some());
    }

    #[test]
    fn page_limits_are_checked() {
        assert_eq!(OffsetPage::new(None, None).unwrap(), OffsetPage::default());
        assert!(OffsetPage::new(Some(0), None).is_err());
        assert!(OffsetPage::new(Some(101), None).is_err());
        assert_eq!(OffsetPage::new(Some(100), Some(5)).unwrap().offset, 5);
    }
}
