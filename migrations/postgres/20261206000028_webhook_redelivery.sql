-- Expand only: binaries older than this migration keep working (one new nullable column they never read).
-- A webhook delivery whose processing failed, or never finished, is processed again when the
-- provider redelivers it. `locked_until`: until when the delivery handed out last is being
-- processed; a redelivery in that time is answered as a duplicate, so two concurrent deliveries
-- of one event never process it at once. NULL once processing recorded its outcome.
ALTER TABLE payment_webhook_events ADD COLUMN locked_until timestamptz;
