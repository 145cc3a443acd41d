//! The console's static files, embedded in the binary: plain HTML, CSS and ES modules (no
//! build step; no CDN). Routing happens in the browser (`#/snapshot/1/object/@42`), so every
//! URL is shareable and the server has one page.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

const INDEX: &str = include_str!("../ui/index.html");

/// `(name, content type, bytes)`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../ui/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/api.js"),
    ),
    (
        "format.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/format.js"),
    ),
    (
        "snapshots.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/snapshots.js"),
    ),
    (
        "snapshot.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/snapshot.js"),
    ),
    (
        "object.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/object.js"),
    ),
    (
        "compare.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/compare.js"),
    ),
    (
        "processes.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/processes.js"),
    ),
    (
        "process.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/process.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/charts.js"),
    ),
    (
        "profiles.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/profiles.js"),
    ),
];

pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.0 == file) {
        Some(&(_, content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
