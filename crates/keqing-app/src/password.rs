//! Passwords: argon2id hashes, and what a user may choose.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;

/// The longest password accepted, in bytes: argon2 reads all of it.
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password users may choose: at least 8 characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_password_strength(p: &str) -> Result<(), String> {
    if p.chars().count() < 8 {
        return Err("密码至少需要8个字符 a password needs at least 8 characters".into());
    }
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "密码不能超过{MAX_PASSWORD_BYTES}字节 a password may have at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}
