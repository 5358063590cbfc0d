//! The sandbox provider's side of checkout: the page the payer is sent to (Pay and Decline,
//! self-contained) and the outcome it posts, turned into the sandbox's signed webhook and handled
//! by the same pipeline as every provider's. Served only while the sandbox is on. No token: the
//! page is opened by a browser redirect, as a provider's hosted page would be.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use vendrome_core::enums::PaymentProvider;
use vendrome_core::ids::PaymentId;
use vendrome_core::payments::Payment;
use vendrome_core::{Error, SqlEnum as _};
use vendrome_payments::{Sandbox, SandboxOutcome, WebhookOutcome};

use super::payments::{payment_id, PaymentView};
use crate::envelope::{ApiSuccess, Envelope, ErrorEnvelope};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The payer's choice on the sandbox page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxCompleteRequest {
    /// `succeeded` (Pay) or `failed` (Decline).
    #[schema(value_type = String)]
    pub outcome: SandboxOutcome,
}

/// The sandbox and one of its payments, or why not.
async fn sandbox_payment<'a>(state: &'a AppState, raw: &str) -> ApiResult<(&'a Sandbox, Payment)> {
    let sandbox = state.sandbox.as_deref().ok_or_else(|| {
        Error::not_configured(
            "provider_not_configured",
            "the payments sandbox is not on for this server",
        )
    })?;
    let payment = state
        .payment_records
        .payment(payment_id(raw)?)
        .await?
        .filter(|p| p.provider == PaymentProvider::Sandbox)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    Ok((sandbox, payment))
}

/// The sandbox's payment page: the amount, and Pay and Decline buttons that post the outcome
/// to `/v1/payments/sandbox/{id}/complete`. No external assets.
#[utoipa::path(get, path = "/v1/payments/sandbox/{id}", tag = "payments",
    params(("id" = PaymentId, Path, description = "A sandbox payment.")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 404, description = "No such sandbox payment; `provider_not_configured` when the sandbox is off.", body = ErrorEnvelope),
    ))]
pub async fn page(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let (_, payment) = sandbox_payment(&state, &id).await?;
    Ok((
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        render(&payment),
    )
        .into_response())
}

/// Settle a sandbox payment as the payer chose: the sandbox signs a webhook with the outcome and
/// the server handles it through `POST /v1/payments/webhooks/sandbox`'s pipeline. Scripted
/// tests call this directly.
#[utoipa::path(post, path = "/v1/payments/sandbox/{id}/complete", tag = "payments",
    params(("id" = PaymentId, Path, description = "A sandbox payment.")),
    request_body = SandboxCompleteRequest,
    responses(
        (status = 200, description = "The payment now (unchanged when it was already final).", body = Envelope<PaymentView>),
        (status = 400, description = "`malformed_json`.", body = ErrorEnvelope),
        (status = 404, description = "No such sandbox payment; `provider_not_configured` when the sandbox is off.", body = ErrorEnvelope),
        (status = 422, description = "`validation_failed`: outcome.", body = ErrorEnvelope),
    ))]
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SandboxCompleteRequest>,
) -> ApiResult<ApiSuccess<PaymentView>> {
    let (sandbox, payment) = sandbox_payment(&state, &id).await?;
    let (headers, webhook) = sandbox.outcome_webhook(&payment, body.outcome);
    let outcome = state
        .payments
        .handle_webhook(PaymentProvider::Sandbox.as_str(), &headers, &webhook)
        .await?;
    // The delivery answers the payment as it left it; only a duplicate needs a read.
    let payment = match outcome {
        WebhookOutcome::Applied(payment) | WebhookOutcome::Stale(payment) => payment,
        WebhookOutcome::Duplicate | WebhookOutcome::Ignored => state
            .payment_records
            .payment(payment.id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))?,
    };
    Ok(ApiSuccess::ok(payment.into()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(payment: &Payment) -> String {
    let amount = escape(&payment.amount.to_decimal_string());
    let currency = escape(payment.amount.currency.as_str());
    let id = payment.id;
    let status = escape(payment.status.as_str());
    let back = escape(payment.return_url.as_deref().unwrap_or(""));
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vendrome sandbox payment</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; color: #1c1c1c; }}
.amount {{ font-size: 2rem; font-weight: 600; margin: 1rem 0; }}
button {{ font-size: 1rem; padding: .6rem 1.4rem; margin-right: .6rem; border-radius: .4rem; border: 1px solid #888; cursor: pointer; }}
#pay {{ background: #1f7a3a; color: #fff; border-color: #1f7a3a; }}
#result {{ margin-top: 1.5rem; }}
</style>
</head>
<body data-back="{back}">
<h1>Sandbox payment</h1>
<p>No money moves: choose how this payment ends.</p>
<div class="amount">{amount} {currency}</div>
<p>Payment <code>{id}</code>, now <code id="status">{status}</code>.</p>
<button id="pay" type="button" data-outcome="succeeded">Pay</button>
<button id="decline" type="button" data-outcome="failed">Decline</button>
<p id="result" role="status"></p>
<script>
const back = document.body.dataset.back;
for (const button of document.querySelectorAll("button")) {{
  button.addEventListener("click", async () => {{
    for (const b of document.querySelectorAll("button")) b.disabled = true;
    const response = await fetch("/v1/payments/sandbox/{id}/complete", {{
      method: "POST",
      headers: {{ "content-type": "application/json" }},
      body: JSON.stringify({{ outcome: button.dataset.outcome }}),
    }});
    const answer = await response.json();
    const status = answer.data ? answer.data.status : answer.error.code;
    document.getElementById("status").textContent = status;
    document.getElementById("result").textContent = "The payment is " + status + ".";
    if (/^https?:\/\//.test(back)) window.setTimeout(() => {{ window.location.href = back; }}, 800);
  }});
}}
</script>
</body>
</html>
"#
    )
}
