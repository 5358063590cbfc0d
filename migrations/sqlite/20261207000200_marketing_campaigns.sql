-- Marketing campaigns as issue 28 runs them: a bid (CPM or CPC), targeting, funding through a
-- checkout, events ingested once each and spend that never passes the budgets.
--
-- The targeting is kept whole as JSON on the campaign: delivery holds every running campaign's
-- targeting in memory and matches a reader against it, and the audience estimate turns it into
-- one grouped query; the per-dimension tables of migration 8 stay available for indexed reverse
-- look-ups and are not written.

-- Enum marketing_bid_model: cpm, cpc. Enum marketing_event_kind: impression, click.

ALTER TABLE marketing_campaigns ADD COLUMN bid_model TEXT NOT NULL DEFAULT 'cpm' CHECK (bid_model IN ('cpm', 'cpc'));
-- Minor units: per 1,000 impressions (cpm) or per click (cpc).
ALTER TABLE marketing_campaigns ADD COLUMN bid_amount INTEGER NOT NULL DEFAULT 0 CHECK (bid_amount >= 0);
ALTER TABLE marketing_campaigns ADD COLUMN targeting TEXT NOT NULL DEFAULT '{}';
-- The owner froze the draft for funding.
ALTER TABLE marketing_campaigns ADD COLUMN submitted_at TEXT;
-- Impressions charged so far: a CPM campaign's spend is floor(billed_impressions × bid / 1000)
-- plus its clicks' (none for CPM), so batches of any size add up to the same spend.
ALTER TABLE marketing_campaigns ADD COLUMN billed_impressions INTEGER NOT NULL DEFAULT 0
    CHECK (billed_impressions >= 0);
-- When it completed or was cancelled, and what of the budget went back to the ad balance.
ALTER TABLE marketing_campaigns ADD COLUMN ended_at TEXT;
ALTER TABLE marketing_campaigns ADD COLUMN released_amount INTEGER CHECK (released_amount >= 0);

-- Delivery reads every running campaign at once.
CREATE INDEX marketing_campaigns_running ON marketing_campaigns (status)
    WHERE status IN ('scheduled', 'active') AND deleted_at IS NULL;

-- The campaign a charge funds.
ALTER TABLE payment_transactions ADD COLUMN marketing_campaign_id BLOB REFERENCES marketing_campaigns (id);

CREATE INDEX payment_transactions_marketing_campaign ON payment_transactions (marketing_campaign_id)
    WHERE marketing_campaign_id IS NOT NULL;

-- Each event counts once: its id is unique per campaign (an event is about one campaign), and a
-- batch inserts its events under the campaign's row lock, so duplicates are found in the same
-- transaction that charges. `billed` is false for an event past a budget (recorded, not charged).
CREATE TABLE marketing_campaign_events (
    campaign_id BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    event_id    BLOB NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('impression', 'click')),
    occurred_at TEXT NOT NULL,
    viewer_id   BLOB,
    billed      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, event_id)
) STRICT;

-- One row per campaign per hour: the stats' hour buckets (migration 8's daily rows are the day
-- buckets and the daily budget's spend).
CREATE TABLE marketing_campaign_hourly (
    campaign_id  BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    hour         TEXT NOT NULL,
    impressions  INTEGER NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    clicks       INTEGER NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    spend_amount INTEGER NOT NULL DEFAULT 0 CHECK (spend_amount >= 0),
    unbilled     INTEGER NOT NULL DEFAULT 0 CHECK (unbilled >= 0),
    PRIMARY KEY (campaign_id, hour)
) STRICT;

ALTER TABLE marketing_campaign_metrics ADD COLUMN unbilled INTEGER NOT NULL DEFAULT 0 CHECK (unbilled >= 0);

-- Impressions per member, campaign and UTC day, for the frequency cap.
CREATE TABLE marketing_frequency (
    campaign_id BLOB NOT NULL REFERENCES marketing_campaigns (id) ON DELETE CASCADE,
    viewer_id   BLOB NOT NULL,
    day         TEXT NOT NULL,
    impressions INTEGER NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    PRIMARY KEY (viewer_id, day, campaign_id)
) STRICT;

-- POPIA s69: direct marketing only to members who opted in. No row is "not opted in".
CREATE TABLE marketing_consents (
    user_id          BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    direct_marketing INTEGER NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;

CREATE INDEX marketing_consents_opted_in ON marketing_consents (user_id) WHERE direct_marketing = 1;
