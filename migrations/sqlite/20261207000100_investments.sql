-- Expand only: binaries older than this migration keep working (the rebuilt table keeps every column, row and index it had; every new column is nullable or has a default, and the new commitment status is one they never write).
-- Investments: the terms a campaign keeps once live, the reserve that refuses commitments past
-- 150 % of an all-or-nothing goal, its settlement at the deadline, and commitments held for an
-- admin's review (cross-border above the configured amount).
--
-- pending_review -> pending | cancelled; pending -> confirmed | cancelled; confirmed -> refunded.
-- Enum commitment_status: pending_review, pending, confirmed, cancelled, refunded.
-- Enum investment_model: all_or_nothing, keep_it_all.
-- Enum investment_settlement: release, refund.

ALTER TABLE investment_campaigns ADD COLUMN model TEXT NOT NULL DEFAULT 'all_or_nothing'
    CHECK (model IN ('all_or_nothing', 'keep_it_all'));
ALTER TABLE investment_campaigns ADD COLUMN max_commitment_amount INTEGER
    CHECK (max_commitment_amount > 0);
-- Commitments that may still take money (in review, awaiting payment, confirmed): a new
-- commitment adds itself here by a conditional UPDATE, so 150 % of an all-or-nothing goal is
-- never passed, however many commit at once.
ALTER TABLE investment_campaigns ADD COLUMN reserved_amount INTEGER NOT NULL DEFAULT 0
    CHECK (reserved_amount >= 0);
-- The platform's fee on a release, fixed when the campaign is created.
ALTER TABLE investment_campaigns ADD COLUMN platform_fee_bps INTEGER NOT NULL DEFAULT 0
    CHECK (platform_fee_bps BETWEEN 0 AND 10000);
-- Decided once, by the instance that claimed the campaign; `settled_at` when done.
ALTER TABLE investment_campaigns ADD COLUMN settlement TEXT
    CHECK (settlement IN ('release', 'refund'));
ALTER TABLE investment_campaigns ADD COLUMN settled_at TEXT;
-- The settling instance's lease: another instance skips the campaign until it lapses.
ALTER TABLE investment_campaigns ADD COLUMN settle_lease_until TEXT;
ALTER TABLE investment_campaigns ADD COLUMN published_at TEXT;

-- The settlement task: campaigns past their deadline, or decided but not finished.
CREATE INDEX investment_campaigns_unsettled ON investment_campaigns (closes_at)
    WHERE settled_at IS NULL AND status <> 'draft';

-- SQLite cannot change a CHECK in place, so the commitments table is rebuilt (with its new
-- columns) and its rows copied. Payments reference it by name and find the new table once it
-- has the name back; dropping the old one would break those references for a moment, so
-- foreign keys are checked at the commit instead (`defer_foreign_keys` lasts until the end of
-- this transaction).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE investment_commitments_rebuilt (
    id              BLOB NOT NULL PRIMARY KEY,
    campaign_id     BLOB NOT NULL REFERENCES investment_campaigns (id),
    investor_id     BLOB NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending_review', 'pending', 'confirmed', 'cancelled', 'refunded')),
    currency        TEXT NOT NULL CHECK (currency GLOB '[A-Z][A-Z][A-Z]'),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    confirmed_at    TEXT,
    cancelled_at    TEXT,
    -- The backer's profile country when they committed (cross-border rules).
    country_code    TEXT CHECK (country_code GLOB '[A-Z][A-Z]'),
    review_reason   TEXT,
    reviewed_by     BLOB REFERENCES users (id),
    reviewed_at     TEXT,
    refunded_at     TEXT,
    UNIQUE (investor_id, idempotency_key)
) STRICT;

INSERT INTO investment_commitments_rebuilt (id, campaign_id, investor_id, status, currency,
    amount, idempotency_key, created_at, updated_at, confirmed_at, cancelled_at)
SELECT id, campaign_id, investor_id, status, currency, amount, idempotency_key, created_at,
    updated_at, confirmed_at, cancelled_at
FROM investment_commitments;

DROP TABLE investment_commitments;
ALTER TABLE investment_commitments_rebuilt RENAME TO investment_commitments;

CREATE INDEX investment_commitments_campaign ON investment_commitments (campaign_id, status, created_at);
CREATE INDEX investment_commitments_investor ON investment_commitments (investor_id, created_at DESC);

-- `payment_transactions.commitment_id` (migration 7) names the commitment a charge pays for, or
-- a refund gives back.
