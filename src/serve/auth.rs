//! The optional bearer token: read from an environment variable at start-up (never
//! from a file or the command line, where it would end up in shell history and
//! `ps`), compared in constant time, and never written anywhere.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token every request but the health probes must carry.
pub struct BearerToken {
    /// Only the digest is kept: comparing digests takes the same time whatever the
    /// length of the token a client sends, and the token itself is not in memory
    /// longer than start-up.
    digest: [u8; 32],
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// Reads the token from `variable`; an unset or empty variable is an error that
    /// names the variable, never a value.
    pub fn from_environment(variable: &str) -> Result<BearerToken, String> {
        match std::env::var(variable) {
            Ok(value) if !value.trim().is_empty() => Ok(BearerToken { digest: Sha256::digest(value.as_bytes()).into() }),
            Ok(_) => Err(format!("the environment variable `{variable}` (the bearer token clients must send) is empty; set it, or start without --token-env")),
            Err(_) => Err(format!("the environment variable `{variable}` (the bearer token clients must send) is not set; export it, or start without --token-env")),
        }
    }

    /// Whether an `Authorization` header value carries the token.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        let Some(given) = authorization.and_then(|value| value.strip_prefix("Bearer ")) else { return false };
        let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        bool::from(self.digest.ct_eq(&given))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_token_and_never_shows_it() {
        let token = BearerToken { digest: Sha256::digest(b"s3cret").into() };
        assert!(token.accepts(Some("Bearer s3cret")));
        assert!(!token.accepts(Some("Bearer s3cre")));
        assert!(!token.accepts(Some("s3cret")));
        assert!(!token.accepts(None));
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
