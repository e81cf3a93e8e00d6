//! Access tokens (JWT, HS256) and opaque refresh tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use leadflow_kernel::{OrganizationId, Role, UserId};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How tokens are signed and how long they live.
#[derive(Clone)]
pub struct TokenSettings {
    /// HMAC key (at least 32 bytes), used as given.
    pub secret: Vec<u8>,
    /// `iss` claim written and required.
    pub issuer: String,
    /// `aud` claim written and required.
    pub audience: String,
    /// Access token lifetime in seconds (default 3600).
    pub access_ttl_secs: i64,
    /// Refresh token lifetime in seconds (default 30 days).
    pub refresh_ttl_secs: i64,
}

impl std::fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSettings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .finish()
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The organization the token acts in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Uuid>,
    /// The role there when the token was issued (informational: the current
    /// membership is what counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The user's email.
    pub email: String,
    /// Super admin.
    #[serde(default)]
    pub sa: bool,
    /// Unique token id.
    pub jti: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// A token pair as handed to a client.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The JWT.
    pub access_token: String,
    /// The opaque refresh token (shown once; only its hash is stored).
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedTokens(<redacted>)")
    }
}

/// The token was not issued by us, was tampered with, or has expired.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid or expired access token")]
pub struct InvalidToken;

/// Signs and verifies access tokens; makes refresh tokens.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    settings: TokenSettings,
}

impl TokenIssuer {
    /// An issuer for `settings`. Only HS256 is accepted on verification, so
    /// `alg: none` and algorithm-confusion tokens are refused.
    #[must_use]
    pub fn new(settings: TokenSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            settings,
        }
    }

    /// The lifetimes in force.
    #[must_use]
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Signs an access token for a user acting in `organization`.
    ///
    /// # Errors
    /// When signing fails (it does not with an HMAC key).
    pub fn issue_access(
        &self,
        user: UserId,
        email: &str,
        super_admin: bool,
        organization: Option<OrganizationId>,
        role: Option<Role>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, i64)> {
        let iat = now.timestamp();
        let claims = AccessClaims {
            sub: user.as_uuid(),
            org: organization.map(|o| o.as_uuid()),
            role: role.map(|r| r.as_str().to_owned()),
            email: email.to_owned(),
            sa: super_admin,
            jti: Uuid::now_v7(),
            iat,
            exp: iat + self.settings.access_ttl_secs,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, self.settings.access_ttl_secs))
    }

    /// Verifies signature, algorithm, issuer, audience and expiry.
    ///
    /// # Errors
    /// [`InvalidToken`] for anything but a valid token of ours.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, InvalidToken> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| InvalidToken)
    }
}

/// A new opaque token (refresh tokens, invitation tokens, key secrets): 256
/// random bits, URL-safe base64. Returns the token (for the client) and its
/// hash (for storage).
#[must_use]
pub fn new_opaque_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_opaque_token(&token);
    (token, hash)
}

/// The stored form of an opaque token: hex SHA-256. A high-entropy token
/// needs no salt or slow hash; lookups by hash stay a single index probe.
#[must_use]
pub fn hash_opaque_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(TokenSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "leadflow".into(),
            audience: "leadflow-api".into(),
            access_ttl_secs: 3600,
            refresh_ttl_secs: 86400,
        })
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let iss = issuer();
        let user = UserId::new();
        let org = OrganizationId::new();
        let (token, ttl) =
            iss.issue_access(user, "a@b.io", false, Some(org), Some(Role::Admin), Utc::now()).unwrap();
        assert_eq!(ttl, 3600);
        let claims = iss.verify_access(&token).unwrap();
        assert_eq!(claims.sub, user.as_uuid());
        assert_eq!(claims.org, Some(org.as_uuid()));
        assert_eq!(claims.role.as_deref(), Some("admin"));
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let iss = issuer();
        let old = Utc::now() - chrono::Duration::hours(2);
        let (expired, _) = iss.issue_access(UserId::new(), "a@b.io", false, None, None, old).unwrap();
        assert_eq!(iss.verify_access(&expired), Err(InvalidToken));

        let (token, _) = iss.issue_access(UserId::new(), "a@b.io", false, None, None, Utc::now()).unwrap();
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(iss.verify_access(&tampered), Err(InvalidToken));

        let other =
            TokenIssuer::new(TokenSettings { audience: "someone-else".into(), ..iss.settings().clone() });
        let (foreign, _) =
            other.issue_access(UserId::new(), "a@b.io", false, None, None, Utc::now()).unwrap();
        assert_eq!(iss.verify_access(&foreign), Err(InvalidToken));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_opaque_token();
        let (b, _) = new_opaque_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_opaque_token(&a), hash_a);
        assert_eq!(hash_a.len(), 64);
    }
}
