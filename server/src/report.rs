//! Meeting reports (being written).
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
/// `GET /api/meetings/{id}/report.json`.
pub async fn http_json() -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}
/// `GET /api/meetings/{id}/report.csv`.
pub async fn http_csv() -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}
/// Placeholder until the report lands.
pub async fn export(
    _data: &std::path::Path,
    _meeting: &str,
    _format: &str,
) -> anyhow::Result<String> {
    anyhow::bail!("reports are not built yet")
}
