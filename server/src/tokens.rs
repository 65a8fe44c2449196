//! Capability tokens: 128 random bits, hex-encoded, looked up by their SHA-256.
//!
//! A token is the only credential: whoever holds a link holds its role. Tokens travel in
//! URL fragments (never sent over HTTP, so never in access logs or referrers) and over the
//! websocket. Architecture invariant: no token is ever written to a log; only hashes are
//! used as keys in memory.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random token: 16 bytes from the OS generator, as 32 lowercase hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The lookup key of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a string has the shape of a token (cheap check before hashing).
pub fn well_formed(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_hex_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 32);
        assert!(well_formed(&a));
        assert_ne!(a, b);
        assert_ne!(hash(&a), hash(&b));
        assert!(!well_formed("not-a-token"));
    }
}
