//! The browser client, embedded in the binary at build time (no CDN, works offline).
//! Every file under `web-client/` is served at `/assets/<path>`; every meeting page
//! (`/m/<meeting>/<role>`) is `index.html`, which reads role and token from the URL.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../web-client/"]
#[exclude = "node_modules/*"]
struct Assets;

fn file(path: &str) -> Response {
    match Assets::get(path) {
        Some(f) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_string()),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                f.data.into_owned(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `GET /assets/<path>`.
pub fn asset(path: &str) -> Response {
    file(path)
}

/// The single page every role link opens.
pub fn index() -> Response {
    let mut r = file("index.html");
    // Links carry their token in the fragment; never leak the page URL to other sites.
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        "no-referrer".parse().expect("static header"),
    );
    r
}
