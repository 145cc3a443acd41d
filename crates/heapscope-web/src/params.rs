//! Query parameters, parsed by hand so that a malformed one gets our JSON error naming it.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

/// Page sizes above this are refused rather than silently cut.
pub const MAX_LIMIT: usize = 1000;

pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        Ok(Params(map))
    }
}

impl Params {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn usize(&self, name: &str, default: usize) -> Result<usize, ApiError> {
        match self.str(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "`{name}` must be a non-negative integer, not `{v}`"
                ))
            }),
        }
    }

    /// `offset` and `limit` (default `default_limit`, at most [`MAX_LIMIT`]).
    pub fn page(&self, prefix: &str, default_limit: usize) -> Result<(usize, usize), ApiError> {
        let offset = self.usize(&format!("{prefix}offset"), 0)?;
        let limit = self.usize(&format!("{prefix}limit"), default_limit)?;
        if limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "`{prefix}limit` is at most {MAX_LIMIT}"
            )));
        }
        Ok((offset, limit))
    }
}

/// Parses a path segment naming a snapshot.
pub fn snapshot_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no snapshot `{text}` (ids are numbers)")))
}

/// Parses an object id, `@123` or `123`.
pub fn object_id(text: &str) -> Result<u32, ApiError> {
    text.strip_prefix('@')
        .unwrap_or(text)
        .parse::<u32>()
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{text}` is not an object id (expected @123 or 123)"
            ))
        })
}
