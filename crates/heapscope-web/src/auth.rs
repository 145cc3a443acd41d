//! Every page and API call needs the token: `Authorization: Bearer TOKEN`, the cookie set
//! when the console was first opened with `?token=TOKEN`, or `?token=` itself (which, on a
//! page, sets the cookie and redirects to the URL without it, so shared URLs carry no
//! token).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::token::matches;
use crate::AppState;

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let ok = |t: Option<&str>| t.is_some_and(|t| matches(&state.token, t));
    if ok(bearer(headers)) || ok(cookie(headers, &state.cookie_name)) {
        return next.run(request).await;
    }
    let is_api = request.uri().path().starts_with("/api/");
    if ok(query_token(request.uri().query())) {
        if is_api {
            return next.run(request).await;
        }
        // A page opened with the token: remember it in a cookie and drop it from the URL.
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            state.cookie_name, state.token
        );
        let mut response = Redirect::to(request.uri().path()).into_response();
        if let Ok(v) = cookie.parse() {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    if is_api {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong access token: send `Authorization: Bearer TOKEN` (the token is \
             in the URL `heapscope serve` printed, and in the file `token` of its data directory)",
        )
        .into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        Html(
            "<!doctype html><title>heapscope</title><h1>Access token needed</h1>\
             <p>Open the URL that <code>heapscope serve</code> printed: it ends in \
             <code>?token=…</code>. The token is also in the file <code>token</code> of the \
             server's data directory.</p>",
        ),
    )
        .into_response()
}
