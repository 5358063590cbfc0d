//! `vendrome ledger check` on a real embedded database: clean after balanced postings, exit
//! status 3 and the breach named once a stored balance no longer equals its entries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vendrome_core::enums::PaymentProvider;
use vendrome_core::ledger::{AccountCode, Entry, LedgerRepo as _, PostOutcome, Posting};
use vendrome_core::money::{Currency, Money};
use vendrome_store::Store;

fn vendrome(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vendrome"))
        .args(args)
        .env_remove("VENDROME_DATABASE_URL")
        .env("VENDROME_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn ledger_check_is_clean_then_names_a_tampered_balance() {
    let dir =
        TempDir(std::env::temp_dir().join(format!("vendrome-ledger-{}", uuid::Uuid::new_v4())));
    let migrated = vendrome(&dir.0, &["migrate", "up"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let url = format!("sqlite://{}", dir.0.join("vendrome.db").display());
    let store = Store::open(&url).await.unwrap();
    let zar = Currency::parse("ZAR").unwrap();
    let clearing = AccountCode::provider_clearing(PaymentProvider::Sandbox, zar);
    let fees = AccountCode::platform_fees(zar);
    for i in 0..3 {
        let posting = Posting::new(
            format!("test:{i}"),
            "a test posting",
            None,
            vec![
                Entry::debit(clearing.clone(), Money::new(1_000 + i, zar)),
                Entry::credit(fees.clone(), Money::new(1_000 + i, zar)),
            ],
        )
        .unwrap();
        assert_eq!(
            store.post(&posting, chrono::Utc::now()).await.unwrap(),
            PostOutcome::Posted
        );
    }

    let clean = vendrome(&dir.0, &["ledger", "check"]);
    let text = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(text.contains("3 postings, 6 entries, 2 accounts"), "{text}");
    assert!(text.contains("clean"), "{text}");

    // Nothing in the code updates a balance without an entry; a hand edit is what the check is for.
    vendrome_store::with_db!(store.db(), pool => {
        sqlx::query("UPDATE ledger_accounts SET balance = balance + 1 WHERE code = 'platform:fees:ZAR'")
            .execute(pool)
            .await
            .unwrap();
    });
    let broken = vendrome(&dir.0, &["ledger", "check", "--json"]);
    assert_eq!(
        broken.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["clean"], false);
    assert_eq!(
        report["balance_mismatches"][0]["account"],
        "platform:fees:ZAR"
    );
    assert_eq!(report["balance_mismatches"][0]["stored"], 3_004);
    assert_eq!(report["balance_mismatches"][0]["computed"], 3_003);
    assert_eq!(report["unbalanced_currencies"], serde_json::json!([]));
}

#[test]
fn reconcile_names_what_it_cannot_reconcile() {
    let dir =
        TempDir(std::env::temp_dir().join(format!("vendrome-reconcile-{}", uuid::Uuid::new_v4())));
    assert!(vendrome(&dir.0, &["migrate", "up"]).status.success());
    let window = ["--from", "2026-12-01", "--to", "2026-12-02"];
    let cases: [(&[&str], &str); 7] = [
        (&["--provider", "stripe"], "VENDROME_STRIPE_SECRET_KEY"),
        (&["--provider", "sandbox"], "nothing to reconcile"),
        (
            &["--provider", "yoco"],
            "yoco publishes no settlement listing",
        ),
        (
            &["--provider", "peach"],
            "peach publishes no settlement listing",
        ),
        (
            &["--provider", "ozow"],
            "ozow publishes no settlement listing",
        ),
        (&["--provider", "acme"], "unknown provider"),
        (
            &["--provider", "stripe", "--stripe-secret-key", "sk_test_x"],
            "VENDROME_STRIPE_WEBHOOK_SECRET",
        ),
    ];
    for (args, reason) in cases {
        let mut all = vec!["reconcile"];
        all.extend_from_slice(args);
        all.extend_from_slice(&window);
        let output = Command::new(env!("CARGO_BIN_EXE_vendrome"))
            .args(&all)
            .env_remove("VENDROME_DATABASE_URL")
            .env_remove("VENDROME_STRIPE_SECRET_KEY")
            .env_remove("VENDROME_STRIPE_WEBHOOK_SECRET")
            .env("VENDROME_DATA_DIR", &dir.0)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{all:?}: {stderr}");
        assert!(stderr.contains(reason), "{all:?}: {stderr}");
    }
    let backwards = vendrome(
        &dir.0,
        &[
            "reconcile",
            "--provider",
            "stripe",
            "--from",
            "2026-12-02",
            "--to",
            "2026-12-01",
        ],
    );
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("must be before"));
}
