//! The Payfast adapter (Payfast's PHP SDK `Payfast/payfast-php-sdk`: `lib/Auth.php`,
//! `lib/Request.php`, `lib/Services/Refunds.php`, `TransactionHistory.php`; the "Custom
//! integration" guide): rand only.
//!
//! - `create`: no call. The payer goes to `{PROCESS_BASE}/eng/process` with the payment's
//!   fields in Payfast's order (`merchant_id`, `merchant_key`, `return_url`, `cancel_url`,
//!   `m_payment_id` ours, `amount` a decimal string, `item_name`) and their MD5 `signature`
//!   with the passphrase. Our payment id is the reference: Payfast has no idempotency key, and
//!   a second redirect for the same `m_payment_id` is the same payment.
//! - `status`: `GET {API_BASE}/process/query/{m_payment_id}`.
//! - `refund`: `POST {API_BASE}/refunds/{pf_payment_id}` (the charge's Payfast id, read by
//!   `status`) with the amount in cents.
//! - `settled_transactions`: `GET {API_BASE}/transactions/history?from&to`, a CSV whose
//!   completed rows are keyed on `M Payment ID` (ours).
//!
//! API calls carry `merchant-id`, `version: v1`, `timestamp` and `signature`: MD5 of every
//! header, query and body field and the passphrase, sorted by name, as `name=urlencode(value)`
//! joined by `&` ([`api_signature`]).

use async_trait::async_trait;
use md5::{Digest as _, Md5};
use reqwest::StatusCode;
use serde_json::{json, Value};
use vendrome_core::enums::{PaymentProvider as ProviderId, PaymentStatus};
use vendrome_core::money::{Currency, Money};
use vendrome_core::payments::provider::{
    CreatePayment, Headers, MethodOffer, NextAction, PaymentProvider, ProviderError,
    ProviderPayment, ProviderRefund, RefundPayment, SettledTransaction, WebhookError, WebhookEvent,
};
use vendrome_core::time::Timestamp;

use super::http::{rejected, unreadable, Rest};
use super::payfast::{status as payfast_status, PayfastNotifications};
use super::{decimal_money, listen_only, text, Notifications, ProviderSettings};
use crate::notifications::payfast::{sign, urlencode};

/// The API's signature over `fields` (headers, query and body) with `passphrase`.
#[must_use]
pub fn api_signature(fields: &[(String, String)], passphrase: &str) -> String {
    let mut all: Vec<(String, String)> = fields.to_vec();
    all.push(("passphrase".to_owned(), passphrase.to_owned()));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let text = all
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(text.as_bytes()))
}

struct Api {
    rest: Rest,
    merchant_id: String,
    merchant_key: String,
    process_base: String,
}

fn refused(status: StatusCode, body: &Value) -> ProviderError {
    rejected(
        text(body, "/code"),
        text(body, "/data/message").or_else(|| text(body, "/message")),
        status,
    )
}

/// The Payfast adapter: see the module documentation.
pub struct Payfast {
    notifications: PayfastNotifications,
    passphrase: String,
    api: Option<Api>,
}

fn rand() -> Currency {
    Currency::parse("ZAR").expect("ISO 4217")
}

impl Payfast {
    /// The adapter; without `MERCHANT_ID` and `MERCHANT_KEY` it only listens.
    #[must_use]
    pub fn new(settings: &ProviderSettings) -> Self {
        Self {
            notifications: PayfastNotifications::new(settings),
            passphrase: settings.notification_secret().to_owned(),
            api: settings
                .pair("MERCHANT_ID", "MERCHANT_KEY")
                .map(|(merchant_id, merchant_key)| Api {
                    rest: Rest::new(settings.get("API_BASE").unwrap_or_default()),
                    merchant_id,
                    merchant_key,
                    process_base: settings
                        .get("PROCESS_BASE")
                        .unwrap_or_default()
                        .trim_end_matches('/')
                        .to_owned(),
                }),
        }
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .ok_or_else(|| listen_only(ProviderId::Payfast))
    }

    /// A signed API request: the headers, with `extra` (query or body fields) under the
    /// signature too.
    fn signed(
        &self,
        api: &Api,
        request: reqwest::RequestBuilder,
        extra: &[(String, String)],
    ) -> reqwest::RequestBuilder {
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut fields = vec![
            ("merchant-id".to_owned(), api.merchant_id.clone()),
            ("timestamp".to_owned(), timestamp.clone()),
            ("version".to_owned(), "v1".to_owned()),
        ];
        fields.extend_from_slice(extra);
        request
            .header("merchant-id", &api.merchant_id)
            .header("version", "v1")
            .header("timestamp", timestamp)
            .header("signature", api_signature(&fields, &self.passphrase))
    }

    async fn query(&self, api: &Api, reference: &str) -> Result<Value, ProviderError> {
        let request = api.rest.get(&format!("/process/query/{reference}"));
        let answer = api
            .rest
            .send(self.signed(api, request, &[]), refused)
            .await?;
        answer
            .pointer("/data/response")
            .cloned()
            .ok_or_else(|| unreadable("data.response"))
    }
}

#[async_trait]
impl PaymentProvider for Payfast {
    fn id(&self) -> ProviderId {
        ProviderId::Payfast
    }

    /// Cards and EFT in rand, with API credentials.
    fn methods(&self) -> Vec<MethodOffer> {
        self.api
            .iter()
            .flat_map(|_| ["card", "eft"])
            .map(|method| MethodOffer {
                provider: ProviderId::Payfast,
                method: method.to_owned(),
                currencies: vec![rand()],
            })
            .collect()
    }

    async fn create(&self, request: &CreatePayment) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        if request.amount.currency != rand() {
            return Err(rejected(
                Some("unsupported_currency".into()),
                Some("Payfast takes rand only".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        let url = request.return_url.clone().unwrap_or_default();
        let mut fields = vec![
            ("merchant_id".to_owned(), api.merchant_id.clone()),
            ("merchant_key".to_owned(), api.merchant_key.clone()),
            ("return_url".to_owned(), url.clone()),
            ("cancel_url".to_owned(), url),
            ("m_payment_id".to_owned(), request.payment_id.clone()),
            ("amount".to_owned(), request.amount.to_decimal_string()),
            (
                "item_name".to_owned(),
                request.description.chars().take(100).collect(),
            ),
        ];
        fields.retain(|(_, v)| !v.is_empty());
        let signature = sign(&fields, Some(&self.passphrase));
        fields.push(("signature".to_owned(), signature));
        let query = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Ok(ProviderPayment {
            reference: request.payment_id.clone(),
            status: PaymentStatus::RequiresAction,
            amount: request.amount,
            next_action: NextAction::Redirect {
                url: format!("{}/eng/process?{query}", api.process_base),
            },
            failure: None,
        })
    }

    async fn capture(&self, _: &str, _: Money, _: &str) -> Result<ProviderPayment, ProviderError> {
        Err(ProviderError::Unsupported)
    }

    #[tracing::instrument(skip(self, request), fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundPayment) -> Result<ProviderRefund, ProviderError> {
        let api = self.api()?;
        let charge = self.query(api, &request.charge_reference).await?;
        let pf_payment_id =
            text(&charge, "/pf_payment_id").ok_or_else(|| unreadable("pf_payment_id"))?;
        let body = [
            ("amount".to_owned(), request.amount.amount.to_string()),
            ("reason".to_owned(), request.refund_id.clone()),
            ("notify_buyer".to_owned(), "0".to_owned()),
        ];
        let post = api
            .rest
            .post(&format!("/refunds/{pf_payment_id}"))
            .json(&json!({
                "amount": request.amount.amount,
                "reason": request.refund_id,
                "notify_buyer": 0,
            }));
        let answer = api
            .rest
            .send(self.signed(api, post, &body), refused)
            .await?;
        Ok(ProviderRefund {
            reference: text(&answer, "/data/transaction_id")
                .unwrap_or_else(|| format!("{pf_payment_id}:{}", request.refund_id)),
            status: match text(&answer, "/data/response").as_deref() {
                Some("true" | "success") => PaymentStatus::Succeeded,
                _ => PaymentStatus::Processing,
            },
            amount: request.amount,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn status(&self, reference: &str) -> Result<ProviderPayment, ProviderError> {
        let api = self.api()?;
        let response = self.query(api, reference).await?;
        let status = payfast_status(&text(&response, "/status").unwrap_or_default());
        Ok(ProviderPayment {
            reference: reference.to_owned(),
            status,
            amount: decimal_money(text(&response, "/amount_gross"), Some("ZAR".into()))
                .ok_or_else(|| unreadable("amount_gross"))?,
            next_action: NextAction::None,
            failure: super::failure(status, "payment_failed", None),
        })
    }

    async fn verify_webhook(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookError> {
        self.notifications.verify(headers, body, now).await
    }

    #[tracing::instrument(skip(self))]
    async fn settled_transactions(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SettledTransaction>, ProviderError> {
        let api = self.api()?;
        let query = [
            ("from".to_owned(), from.format("%Y-%m-%d").to_string()),
            ("to".to_owned(), to.format("%Y-%m-%d").to_string()),
        ];
        let request = api.rest.get("/transactions/history").query(&query);
        let (csv, _) = api
            .rest
            .send_text(self.signed(api, request, &query), refused)
            .await?;
        history(&csv, from, to)
    }
}

/// The completed rows of a transaction history CSV in `[from, to)`.
///
/// # Errors
///
/// [`ProviderError::Unavailable`] when a column it needs is missing or a row cannot be read.
pub fn history(
    csv: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<SettledTransaction>, ProviderError> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = split_csv(lines.next().unwrap_or_default());
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| unreadable(name))
    };
    let (date, kind, reference, gross, fee) = (
        column("Date")?,
        column("Type")?,
        column("M Payment ID")?,
        column("Gross")?,
        column("Fee")?,
    );
    let mut settled = Vec::new();
    for line in lines {
        let row = split_csv(line);
        let cell = |i: usize| {
            row.get(i)
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| unreadable("cell"))
        };
        let at = chrono::NaiveDateTime::parse_from_str(&cell(date)?, "%Y-%m-%d %H:%M:%S")
            .map(|t| t.and_utc())
            .map_err(|_| unreadable("Date"))?;
        let kind = cell(kind)?;
        if at < from || at >= to || !(kind == "COMPLETE" || kind == "REFUND") {
            continue;
        }
        let amount = decimal_money(Some(cell(gross)?), Some("ZAR".into()))
            .ok_or_else(|| unreadable("Gross"))?;
        settled.push(SettledTransaction {
            reference: cell(reference)?,
            amount,
            provider_fee: decimal_money(
                Some(cell(fee)?.trim_start_matches('-').to_owned()),
                Some("ZAR".into()),
            ),
            settled_at: at,
        });
    }
    Ok(settled)
}

/// One CSV line's cells (quoted cells may hold commas and doubled quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_keeps_completed_rows_in_the_window() {
        let csv = "Date,Type,Sign,Party,Name,Description,Currency,Funding Type,Gross,Fee,Net,Balance,M Payment ID,PF Payment ID\n\
            2026-12-06 10:00:00,COMPLETE,CREDIT,x,\"Doe, J\",Order,ZAR,CC,200.00,-4.60,195.40,0,pay-1,1\n\
            2026-12-06 11:00:00,REFUND,DEBIT,x,y,Order,ZAR,CC,-50.00,0.00,-50.00,0,pay-1,2\n\
            2026-12-06 12:00:00,FUNDS_RECEIVED,CREDIT,x,y,Order,ZAR,CC,9.00,0.00,9.00,0,,3\n\
            2026-12-08 10:00:00,COMPLETE,CREDIT,x,y,Order,ZAR,CC,1.00,0.00,1.00,0,pay-2,4\n";
        let day = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let rows = history(csv, day(6), day(7)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].reference, "pay-1");
        assert_eq!(rows[0].amount.amount, 20_000);
        assert_eq!(rows[0].provider_fee.unwrap().amount, 460);
        assert_eq!(rows[1].amount.amount, -5_000);
    }

    #[test]
    fn api_signatures_sort_every_field_with_the_passphrase() {
        let fields = vec![
            ("version".to_owned(), "v1".to_owned()),
            ("merchant-id".to_owned(), "10000100".to_owned()),
            ("timestamp".to_owned(), "2026-12-07T00:00:00".to_owned()),
        ];
        let expected = hex::encode(Md5::digest(
            b"merchant-id=10000100&passphrase=pass+phrase&timestamp=2026-12-07T00%3A00%3A00&version=v1",
        ));
        assert_eq!(api_signature(&fields, "pass phrase"), expected);
    }
}
