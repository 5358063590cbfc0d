-- Expand only: binaries older than this migration keep working (every column is new and nullable or has a default, and the new commitment status is one they never write).
-- Investments: the terms a campaign keeps once live, the reserve that refuses commitments past
-- 150 % of an all-or-nothing goal, its settlement at the deadline, and commitments held for an
-- admin's review (cross-border above the configured amount).
--
-- pending_review -> pending | cancelled; pending -> confirmed | cancelled; confirmed -> refunded.
ALTER TYPE commitment_status ADD VALUE IF NOT EXISTS 'pending_review' BEFORE 'pending';

-- all_or_nothing: the escrow is released only when the goal is reached, else refunded;
-- keep_it_all: released whatever the total.
CREATE TYPE investment_model AS ENUM ('all_or_nothing', 'keep_it_all');

-- What the settlement at the deadline (or a cancellation) decided for the escrow.
CREATE TYPE investment_settlement AS ENUM ('release', 'refund');

ALTER TABLE investment_campaigns
    ADD COLUMN model investment_model NOT NULL DEFAULT 'all_or_nothing',
    ADD COLUMN max_commitment_amount bigint CHECK (max_commitment_amount > 0),
    -- Commitments that may still take money (in review, awaiting payment, confirmed): a new
    -- commitment adds itself here by a conditional UPDATE, so 150 % of an all-or-nothing goal
    -- is never passed, however many commit at once.
    ADD COLUMN reserved_amount bigint NOT NULL DEFAULT 0 CHECK (reserved_amount >= 0),
    -- The platform's fee on a release, fixed when the campaign is created.
    ADD COLUMN platform_fee_bps integer NOT NULL DEFAULT 0 CHECK (platform_fee_bps BETWEEN 0 AND 10000),
    -- Decided once, by the instance that claimed the campaign; `settled_at` when done.
    ADD COLUMN settlement investment_settlement,
    ADD COLUMN settled_at timestamptz,
    -- The settling instance's lease: another instance skips the campaign until it lapses.
    ADD COLUMN settle_lease_until timestamptz,
    ADD COLUMN published_at timestamptz;

-- The settlement task: campaigns past their deadline, or decided but not finished.
CREATE INDEX investment_campaigns_unsettled ON investment_campaigns (closes_at)
    WHERE settled_at IS NULL AND status <> 'draft';

ALTER TABLE investment_commitments
    -- The backer's profile country when they committed (cross-border rules).
    ADD COLUMN country_code char(2) CHECK (country_code ~ '^[A-Z]{2}$'),
    ADD COLUMN review_reason text,
    ADD COLUMN reviewed_by uuid REFERENCES users (id),
    ADD COLUMN reviewed_at timestamptz,
    ADD COLUMN refunded_at timestamptz;

-- `payment_transactions.commitment_id` (migration 7) names the commitment a charge pays for, or
-- a refund gives back.
