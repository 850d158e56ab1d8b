//! Analytics for admins: the summary of a range and its buckets as CSV, both read from the
//! read model that the analytics projection keeps (`workers::analytics`; read through `oms_platform::analytics`), never from the
//! orders.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, TimeDelta, Utc};
use oms_contracts::analytics::Granularity;
use oms_platform::analytics::{self as summary, Range, SummaryOut};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminUser;
use crate::error::{ApiError, responses};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(analytics_summary))
        .routes(routes!(export_csv))
}

/// The longest range a request may cover.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The longest range hourly buckets may cover.
pub const MAX_HOURLY_DAYS: i64 = 31;
/// Without `bucket`, ranges up to this long are hourly, longer ones daily.
const HOURLY_UP_TO: TimeDelta = TimeDelta::days(2);
/// Without `from`, the range starts this long before `to`.
const DEFAULT_SPAN: TimeDelta = TimeDelta::days(7);

#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketWidth {
    Hour,
    Day,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start of the range (RFC 3339), rounded down to its bucket; default: 7 days before `to`.
    from: Option<DateTime<Utc>>,
    /// End of the range (RFC 3339, exclusive); default: now.
    to: Option<DateTime<Utc>>,
    /// Bucket width; default `hour` for ranges up to 2 days, else `day`. Hourly buckets cover
    /// at most 31 days.
    #[param(inline)]
    bucket: Option<BucketWidth>,
}

impl RangeQuery {
    /// The range this query asks for, as of `now`.
    fn parse(self, now: DateTime<Utc>) -> Result<Range, ApiError> {
        let invalid = |field: &str, message: String| ApiError::Invalid {
            code: "invalid_range",
            field: field.to_string(),
            message,
        };
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or(to - DEFAULT_SPAN);
        if from >= to {
            return Err(invalid("from", "must be before `to`".into()));
        }
        let span = to - from;
        if span > TimeDelta::days(MAX_RANGE_DAYS) {
            return Err(invalid(
                "from",
                format!("a range covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        let granularity = match self.bucket {
            Some(BucketWidth::Hour) => Granularity::Hour,
            Some(BucketWidth::Day) => Granularity::Day,
            None if span <= HOURLY_UP_TO => Granularity::Hour,
            None => Granularity::Day,
        };
        if granularity == Granularity::Hour && span > TimeDelta::days(MAX_HOURLY_DAYS) {
            return Err(invalid(
                "bucket",
                format!("hourly buckets cover at most {MAX_HOURLY_DAYS} days; ask for `day`"),
            ));
        }
        Ok(Range::covering(from, to, granularity))
    }
}

async fn read(state: &AppState, query: RangeQuery) -> Result<SummaryOut, ApiError> {
    let range = query.parse(Utc::now())?;
    Ok(summary::summary(&state.store, range, state.config.low_stock_threshold).await?)
}

/// The analytics of a range: counts, revenue and lead times per bucket, best sellers,
/// cancellation reasons, orders by status and the products running low.
#[utoipa::path(
    get,
    path = "/api/analytics/summary",
    tag = "analytics",
    params(RangeQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The summary of the range", body = SummaryOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn analytics_summary(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<SummaryOut>, ApiError> {
    Ok(Json(read(&state, query).await?))
}

/// The buckets of a range as CSV (RFC 4180): `start,placed,cancelled,rejected,delivered`, then
/// one `revenue_<CURRENCY>` column (minor units) per currency with revenue in the range (at
/// least the main one).
#[utoipa::path(
    get,
    path = "/api/analytics/export.csv",
    tag = "analytics",
    params(RangeQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The buckets, one row each", content_type = "text/csv", body = String),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn export_csv(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let summary = read(&state, query).await?;
    let name = format!(
        "attachment; filename=\"oms-analytics-{}-{}.csv\"",
        summary.from.format("%Y%m%dT%H%M"),
        summary.to.format("%Y%m%dT%H%M")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv(&summary),
    ))
}

/// The summary's buckets as RFC 4180 CSV (CRLF line ends; no field needs quoting).
pub fn csv(summary: &SummaryOut) -> String {
    let mut currencies: Vec<String> = vec![summary.currency.clone()];
    for money in &summary.totals.revenue_by_currency {
        let code = money.currency.to_string();
        if !currencies.contains(&code) {
            currencies.push(code);
        }
    }
    let mut out = String::from("start,placed,cancelled,rejected,delivered");
    for code in &currencies {
        out.push_str(&format!(",revenue_{code}"));
    }
    out.push_str("\r\n");
    for b in &summary.buckets {
        out.push_str(&format!(
            "{},{},{},{},{}",
            b.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            b.placed,
            b.cancelled,
            b.rejected,
            b.delivered
        ));
        for code in &currencies {
            let amount = b
                .revenue_by_currency
                .iter()
                .find(|m| m.currency.as_str() == code)
                .map_or(0, |m| m.amount);
            out.push_str(&format!(",{amount}"));
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn query(from: Option<&str>, to: Option<&str>, bucket: Option<BucketWidth>) -> RangeQuery {
        RangeQuery {
            from: from.map(t),
            to: to.map(t),
            bucket,
        }
    }

    #[test]
    fn a_range_rounds_down_to_its_first_bucket_and_picks_its_width() {
        let now = t("2026-03-10T12:34:56Z");
        let range = query(Some("2026-03-10T00:30:00Z"), None, None)
            .parse(now)
            .expect("range");
        assert_eq!((range.from, range.to), (t("2026-03-10T00:00:00Z"), now));
        assert_eq!(range.granularity, Granularity::Hour);
        assert_eq!(range.starts().count(), 13);
        let week = query(None, None, None).parse(now).expect("range");
        assert_eq!(week.granularity, Granularity::Day);
        assert_eq!(week.from, t("2026-03-03T00:00:00Z"));
    }

    #[test]
    fn bad_ranges_name_the_field_at_fault() {
        let now = t("2026-03-10T12:00:00Z");
        let field = |q: RangeQuery| match q.parse(now) {
            Err(ApiError::Invalid { field, code, .. }) => (code, field),
            other => panic!("expected a refusal, got {:?}", other.map(|r| r.from)),
        };
        assert_eq!(
            field(query(
                Some("2026-03-10T12:00:00Z"),
                Some("2026-03-10T12:00:00Z"),
                None
            )),
            ("invalid_range", "from".into())
        );
        assert_eq!(
            field(query(Some("2024-01-01T00:00:00Z"), None, None)),
            ("invalid_range", "from".into())
        );
        assert_eq!(
            field(query(Some("2026-01-01T00:00:00Z"), None, Some(BucketWidth::Hour))),
            ("invalid_range", "bucket".into())
        );
    }
}
