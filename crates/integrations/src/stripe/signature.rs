//! `Stripe-Signature` verification, as Stripe documents it
//! (<https://docs.stripe.com/webhooks#verify-manually>): the header is
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`; the expected signature is
//! the HMAC-SHA256, keyed with the endpoint's signing secret (`whsec_…`, used
//! as is), of `"{t}.{raw body}"`; any `v1` may match (several are sent while
//! a secret is rolled); comparisons are constant-time; a timestamp further
//! than the tolerance from now is refused, so a captured payload cannot be
//! replayed later.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use leadflow_subscriptions::billing::EventRejected;
use sha2::Sha256;

/// Stripe's default tolerance: five minutes.
pub const TOLERANCE_SECS: i64 = 300;

/// Verifies `header` for `payload` with `secret` at `now`.
///
/// # Errors
/// [`EventRejected::Signature`] when the header is missing or malformed, the
/// timestamp is out of tolerance, or no `v1` signature matches.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), EventRejected> {
    let header = header.ok_or(EventRejected::Signature("the Stripe-Signature header is missing"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex_signature)) => signatures.extend(hex::decode(hex_signature).ok()),
            _ => {}
        }
    }
    let timestamp =
        timestamp.ok_or(EventRejected::Signature("the Stripe-Signature header has no timestamp"))?;
    if signatures.is_empty() {
        return Err(EventRejected::Signature("the Stripe-Signature header has no v1 signature"));
    }
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err(EventRejected::Signature("the timestamp is outside the tolerance"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| EventRejected::Signature("the signing secret is unusable"))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    // `verify_slice` compares in constant time.
    if signatures.iter().any(|signature| mac.clone().verify_slice(signature).is_ok()) {
        Ok(())
    } else {
        Err(EventRejected::Signature("no signature matches the payload"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header Stripe would send for `payload` signed with `secret` at `timestamp`.
    fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_made_as_stripe_makes_it_verifies() {
        let now = Utc::now();
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, now.timestamp());
        assert_eq!(verify(Some(&header), body, SECRET, now), Ok(()));
        // The reference value, computed independently:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test_secret
        assert_eq!(
            sign(b"{}", SECRET, 1_700_000_000),
            "t=1700000000,v1=ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3"
        );
    }

    #[test]
    fn any_v1_may_match_and_others_are_ignored() {
        let now = Utc::now();
        let body = b"{}";
        let good = sign(body, SECRET, now.timestamp());
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t={},v1={},v0=abc,v1={v1}", now.timestamp(), "00".repeat(32));
        assert_eq!(verify(Some(&header), body, SECRET, now), Ok(()));
    }

    #[test]
    fn tampering_an_old_timestamp_or_another_secret_is_refused() {
        let now = Utc::now();
        let body = b"{\"amount\":1}";
        let header = sign(body, SECRET, now.timestamp());
        assert!(verify(Some(&header), b"{\"amount\":2}", SECRET, now).is_err());
        assert!(verify(Some(&header), body, "whsec_other", now).is_err());
        let old = sign(body, SECRET, now.timestamp() - TOLERANCE_SECS - 1);
        assert!(verify(Some(&old), body, SECRET, now).is_err());
        assert!(verify(None, body, SECRET, now).is_err());
        assert!(verify(Some("v1=abc"), body, SECRET, now).is_err());
        assert!(verify(Some(&format!("t={}", now.timestamp())), body, SECRET, now).is_err());
    }
}
