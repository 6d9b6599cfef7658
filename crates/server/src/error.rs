//! Errors as HTTP answers. API paths get JSON with Japanese and English messages; a
//! resource outside the caller's tenancy is always 404, never 403 (PRODUCT.md).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            message_ja: ja.into(),
            message_en: en.into(),
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "認証が必要です。",
            "Authentication required.",
        )
    }
    /// Not found — also the answer for anything outside the caller's tenancy or role.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "見つかりません。",
            "Not found.",
        )
    }
    pub fn bad_request(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", ja, en)
    }
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "ファイルが上限({} MB)を超えています。",
                limit / (1024 * 1024)
            ),
            format!(
                "The file exceeds the limit of {} MB.",
                limit / (1024 * 1024)
            ),
        )
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "内部エラーが発生しました。時間をおいて再度お試しください。",
            "An internal error occurred. Please try again later.",
        )
    }
}

impl From<daiko_store::StoreError> for ApiError {
    fn from(e: daiko_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.code,
            "message_ja": self.message_ja,
            "message_en": self.message_en,
        });
        (self.status, axum::Json(body)).into_response()
    }
}
