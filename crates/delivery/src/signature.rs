//! Standard Webhooks signing: `v1,` and the base64 of HMAC-SHA256 over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed by the secret's decoded
//! bytes (the part after `whsec_`). During a rotation every live secret signs,
//! the signatures separated by spaces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// A secret that is not `whsec_` + base64.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `whsec_` followed by base64")]
pub struct BadSecret;

/// One `v1,…` signature of `body` sent as message `id` at `timestamp`.
///
/// # Errors
/// When `secret` is not a `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, BadSecret> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").ok_or(BadSecret)?).map_err(|_| BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
///
/// # Errors
/// When a secret is malformed.
pub fn signature_header(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let signatures = secrets.iter().map(|s| sign(s, id, timestamp, body)).collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn matches_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1_614_265_330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_secret_signs_during_a_rotation() {
        let header = signature_header(
            &[crate::webhooks::new_secret(), crate::webhooks::new_secret()],
            "msg_1",
            1,
            "{}",
        )
        .unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(sign("nope", "m", 1, "{}").is_err());
    }
}
