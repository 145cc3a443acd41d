//! The access token: random, one per data directory (as Jupyter does per server), kept in
//! `DIR/token` readable only by its owner, so the URL printed once keeps working across
//! restarts.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

const FILE: &str = "token";

/// Reads the token of `dir`, creating it on first use.
pub fn load_or_create(dir: &Path) -> Result<String> {
    let path = dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "{} does not hold a valid token (remove it to get a new one)",
                    path.display()
                );
            }
            return Ok(token);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    Ok(token)
}

/// Compares without an early exit, so response times do not reveal a prefix.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_is_stable_per_directory_and_private() {
        let dir = std::env::temp_dir().join(format!("heapscope-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = super::load_or_create(&dir).unwrap();
        let b = super::load_or_create(&dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 48);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(super::matches(&a, &b));
        assert!(!super::matches(&a, "x"));
        std::fs::remove_dir_all(dir).ok();
    }
}
