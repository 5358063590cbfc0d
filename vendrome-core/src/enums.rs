//! Every enum that exists as a SQL type, mirrored 1:1.
//! Labels, in order, match the PostgreSQL `CREATE TYPE`s and SQLite `CHECK` lists in `migrations/`.

crate::sql_enums! {
    // ---- Identity ----

    /// A member's role: what they may do beyond their own resources.
    UserRole = "user_role" {
        /// An ordinary account.
        Member = "member",
        /// May hide content and review reports and verification requests.
        Moderator = "moderator",
        /// May do everything, including changing roles and feature flags.
        Admin = "admin",
    }

    /// How much of a member's identity has been checked, derived from their badges.
    VerificationLevel = "verification_level" {
        Unverified = "unverified",
        EmailVerified = "email_verified",
        IdentityVerified = "identity_verified",
        /// The business behind the profile was checked too (registration, tax or bank details).
        BusinessVerified = "business_verified",
    }

    /// One verification check a member has passed, shown as a badge.
    BadgeKind = "badge_kind" {
        Email = "email",
        Phone = "phone",
        Identity = "identity",
        BusinessRegistration = "business_registration",
        TaxRegistration = "tax_registration",
        BankAccount = "bank_account",
    }

    /// An OAuth identity provider a member can sign in with.
    OauthProvider = "oauth_provider" {
        Google = "google",
        Facebook = "facebook",
        Linkedin = "linkedin",
    }

    // ---- Platform ----

    /// Where an outbox event is in its at-least-once publication.
    OutboxStatus = "outbox_status" {
        /// Waiting for (or leased by) the relay.
        Pending = "pending",
        Published = "published",
        /// Gave up after too many attempts; needs a human.
        Dead = "dead",
    }

    /// Whether the request behind an idempotency key has finished.
    IdempotencyStatus = "idempotency_status" {
        InProgress = "in_progress",
        /// The stored response is replayed to retries.
        Completed = "completed",
    }

    /// What a consent record grants or withdraws (POPIA).
    ConsentKind = "consent_kind" {
        TermsOfService = "terms_of_service",
        PrivacyPolicy = "privacy_policy",
        MarketingEmail = "marketing_email",
        Analytics = "analytics",
        CrossBorderTransfer = "cross_border_transfer",
    }

    // ---- Profiles and graph ----

    /// Head-count band of a business.
    CompanySize = "company_size" {
        /// One person.
        Solo = "solo",
        /// 2–9 people.
        Micro = "micro",
        /// 10–49 people.
        Small = "small",
        /// 50–249 people.
        Medium = "medium",
        /// 250–999 people.
        Large = "large",
        /// 1,000 people or more.
        Enterprise = "enterprise",
    }

    /// What a business says it is looking for on the network.
    LookingFor = "looking_for" {
        Customers = "customers",
        Suppliers = "suppliers",
        Partners = "partners",
        Investors = "investors",
        Mentors = "mentors",
        Mentees = "mentees",
        Talent = "talent",
    }

    /// The state of a connection request between two members.
    ConnectionStatus = "connection_status" {
        /// Sent, not yet answered.
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        /// Cancelled by the requester before an answer.
        Withdrawn = "withdrawn",
        /// An accepted connection that either side ended.
        Removed = "removed",
    }

    // ---- Posts ----

    /// What a post is; every type but `text` has a side table with its details.
    PostType = "post_type" {
        Text = "text",
        Product = "product",
        Service = "service",
        Crowdfunding = "crowdfunding",
        InvestmentOffer = "investment_offer",
        InvestmentRequest = "investment_request",
        MentorshipRequest = "mentorship_request",
    }

    /// Who may see a post.
    PostVisibility = "post_visibility" {
        Public = "public",
        /// Only the author's accepted connections.
        Connections = "connections",
    }

    /// The kind of a member's (single) reaction to a post.
    ReactionKind = "reaction_kind" {
        Like = "like",
        Celebrate = "celebrate",
        Support = "support",
        Insightful = "insightful",
        Curious = "curious",
    }

    /// Where a post was shared to.
    ShareChannel = "share_channel" {
        /// The link was copied.
        Link = "link",
        /// Sent in a Vendrome conversation.
        Message = "message",
        Email = "email",
        Linkedin = "linkedin",
        X = "x",
        Facebook = "facebook",
        Whatsapp = "whatsapp",
    }

    /// What a service's rate is charged per.
    ServiceRateUnit = "service_rate_unit" {
        /// One price for the whole job.
        Fixed = "fixed",
        Hourly = "hourly",
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
    }

    /// The maturity of a business raising money, youngest first.
    InvestmentStage = "investment_stage" {
        Idea = "idea",
        PreSeed = "pre_seed",
        Seed = "seed",
        SeriesA = "series_a",
        SeriesB = "series_b",
        Growth = "growth",
        Established = "established",
    }

    /// What an investor or backer receives for their money.
    InvestmentInstrument = "investment_instrument" {
        Equity = "equity",
        ConvertibleNote = "convertible_note",
        /// Simple agreement for future equity.
        Safe = "safe",
        Debt = "debt",
        RevenueShare = "revenue_share",
        /// Reward-based crowdfunding: a product or perk, no stake.
        Reward = "reward",
        /// Nothing in return.
        Donation = "donation",
    }

    /// How mentor and mentee meet.
    MentorshipFormat = "mentorship_format" {
        Virtual = "virtual",
        InPerson = "in_person",
        Hybrid = "hybrid",
    }

    // ---- Messaging ----

    /// Whether a conversation is between exactly two members or a named group.
    ConversationKind = "conversation_kind" {
        /// Exactly one per pair of members.
        Direct = "direct",
        Group = "group",
    }

    /// A participant's rights in a conversation.
    ParticipantRole = "participant_role" {
        Owner = "owner",
        /// May add and remove members and rename the group.
        Admin = "admin",
        Member = "member",
    }

    /// What a message carries.
    MessageKind = "message_kind" {
        Text = "text",
        Attachment = "attachment",
        /// Generated by Vendrome (someone joined, left, renamed the group); has no sender.
        System = "system",
    }

    /// Who may start a direct conversation with a member.
    DirectMessagePolicy = "direct_message_policy" {
        Anyone = "anyone",
        /// Only the members they are connected to.
        Connections = "connections",
    }

    // ---- Commerce ----

    /// The state of a product order.
    OrderStatus = "order_status" {
        PendingPayment = "pending_payment",
        Paid = "paid",
        /// Shipped or delivered by the seller.
        Fulfilled = "fulfilled",
        /// Confirmed received; may be reviewed.
        Completed = "completed",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }

    /// The state of a service booking.
    BookingStatus = "booking_status" {
        /// A booking of a paid service, holding its slot until its charge succeeds.
        AwaitingPayment = "awaiting_payment",
        Requested = "requested",
        Confirmed = "confirmed",
        Completed = "completed",
        Cancelled = "cancelled",
        /// Refused by the provider.
        Declined = "declined",
        /// The client did not turn up.
        NoShow = "no_show",
    }

    /// What a client's cancellation inside a service's cancellation window refunds.
    CancellationRefund = "cancellation_refund" {
        Full = "full",
        Half = "half",
        None = "none",
    }

    /// The state of a mentor–mentee relationship.
    MentorshipStatus = "mentorship_status" {
        Requested = "requested",
        Active = "active",
        Paused = "paused",
        Completed = "completed",
        Declined = "declined",
        Cancelled = "cancelled",
    }

    /// What a row of rating aggregates is about.
    RatingScope = "rating_scope" {
        /// A listing (a product or service post), from the reviews of its orders and bookings.
        Listing = "listing",
        /// A member as seller or provider, from the reviews of their orders and bookings.
        Seller = "seller",
        /// A member as mentor, from their mentees' feedback at completion.
        Mentor = "mentor",
    }

    /// The state of an investment or crowdfunding campaign.
    InvestmentCampaignStatus = "investment_campaign_status" {
        Draft = "draft",
        /// Open for commitments.
        Live = "live",
        /// Reached its goal; may still accept commitments until closed.
        Funded = "funded",
        Closed = "closed",
        Cancelled = "cancelled",
    }

    /// What a campaign's escrow becomes at its deadline.
    InvestmentModel = "investment_model" {
        /// Released only when the goal is reached; otherwise every commitment is refunded.
        AllOrNothing = "all_or_nothing",
        /// Released whatever the total.
        KeepItAll = "keep_it_all",
    }

    /// What a campaign's settlement decided for its escrow.
    InvestmentSettlement = "investment_settlement" {
        /// To the founder's payable, less the platform's fee.
        Release = "release",
        /// Back to every backer.
        Refund = "refund",
    }

    /// The state of an investor's commitment to a campaign.
    CommitmentStatus = "commitment_status" {
        /// Held for an admin's review (cross-border above the configured amount) before any
        /// payment.
        PendingReview = "pending_review",
        /// Awaiting payment.
        Pending = "pending",
        /// Paid; counts towards the campaign's raised amount.
        Confirmed = "confirmed",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }

    // ---- Payments and ledger ----

    /// A payment service provider the orchestrator can route to.
    PaymentProvider = "payment_provider" {
        Stripe = "stripe",
        Paypal = "paypal",
        Airwallex = "airwallex",
        Yoco = "yoco",
        Peach = "peach",
        Payfast = "payfast",
        Ozow = "ozow",
        Paystack = "paystack",
        /// The built-in provider for development and tests: no account, no money moves.
        Sandbox = "sandbox",
    }

    /// Which way a payment transaction moves money.
    PaymentKind = "payment_kind" {
        /// Money in from a payer.
        Charge = "charge",
        /// Money back to a payer, against an earlier charge.
        Refund = "refund",
        /// Money out to a seller, provider or campaign owner.
        Payout = "payout",
    }

    /// The state of a payment transaction at its provider.
    PaymentStatus = "payment_status" {
        Pending = "pending",
        /// Waiting for the payer (3-D Secure, redirect, EFT confirmation).
        RequiresAction = "requires_action",
        Processing = "processing",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }

    /// Where a payment attempt is among its recovery points: each phase is one atomic
    /// database step, so a crash between two resumes from the last one recorded.
    PaymentAttemptPhase = "payment_attempt_phase" {
        /// Recorded; the provider has not been called (or its answer was lost).
        Started = "started",
        /// The provider answered and its reference is stored; the outcome may still be pending.
        ProviderCalled = "provider_called",
        /// The outcome is final and its effects (ledger, order) are written.
        Finished = "finished",
    }

    /// The outcome of one reconciliation run.
    ReconciliationStatus = "reconciliation_status" {
        Running = "running",
        /// Every settled transaction matched a posting and every posting a transaction.
        Clean = "clean",
        Discrepancies = "discrepancies",
        /// The provider could not be read.
        Failed = "failed",
    }

    /// The accounting class of a ledger account.
    LedgerAccountKind = "ledger_account_kind" {
        Asset = "asset",
        Liability = "liability",
        Equity = "equity",
        Revenue = "revenue",
        Expense = "expense",
    }

    /// The side of a ledger entry.
    LedgerDirection = "ledger_direction" {
        Debit = "debit",
        Credit = "credit",
    }

    /// Where a received payment webhook is in its processing.
    WebhookEventStatus = "webhook_event_status" {
        Received = "received",
        Processed = "processed",
        /// Processing failed; it will be retried.
        Failed = "failed",
        /// Valid but of no interest (an event type we do not handle).
        Ignored = "ignored",
    }

    // ---- Marketing ----

    /// What a marketing campaign optimises for.
    MarketingObjective = "marketing_objective" {
        Awareness = "awareness",
        Engagement = "engagement",
        Traffic = "traffic",
        Leads = "leads",
        Sales = "sales",
    }

    /// The state of a marketing campaign.
    MarketingCampaignStatus = "marketing_campaign_status" {
        Draft = "draft",
        /// Approved and waiting for its start time.
        Scheduled = "scheduled",
        Active = "active",
        Paused = "paused",
        Completed = "completed",
        Cancelled = "cancelled",
    }

    /// What a campaign's bid pays for.
    MarketingBidModel = "marketing_bid_model" {
        /// Per 1,000 impressions.
        Cpm = "cpm",
        /// Per click.
        Cpc = "cpc",
    }

    /// What a delivery event reports.
    MarketingEventKind = "marketing_event_kind" {
        Impression = "impression",
        Click = "click",
    }

    // ---- Calendar ----

    /// An external calendar Vendrome can sync with.
    CalendarProvider = "calendar_provider" {
        Google = "google",
        /// Outlook / Microsoft 365 through Microsoft Graph.
        Microsoft = "microsoft",
        Caldav = "caldav",
    }

    /// The status of a calendar event (iCalendar `STATUS`).
    CalendarEventStatus = "calendar_event_status" {
        Confirmed = "confirmed",
        Tentative = "tentative",
        Cancelled = "cancelled",
    }

    /// An attendee's answer to an invitation (iCalendar `PARTSTAT`).
    CalendarAttendeeStatus = "calendar_attendee_status" {
        NeedsAction = "needs_action",
        Accepted = "accepted",
        Declined = "declined",
        Tentative = "tentative",
    }

    /// Who may see a native calendar event besides its owner and attendees.
    CalendarVisibility = "calendar_visibility" {
        /// Nobody: not even as busy time.
        Private = "private",
        /// Connections see the time as busy (free/busy), nothing more.
        Busy = "busy",
        /// Any member may read it.
        Public = "public",
    }

    /// The health of a calendar integration.
    CalendarIntegrationStatus = "calendar_integration_status" {
        Active = "active",
        /// Sync switched off by the user.
        Paused = "paused",
        /// The last sync failed; it is being retried.
        Error = "error",
        /// Access was withdrawn; the user must reconnect.
        Revoked = "revoked",
    }

    /// The work a calendar sync job does.
    CalendarSyncJobKind = "calendar_sync_job_kind" {
        FullSync = "full_sync",
        DeltaSync = "delta_sync",
        PushEvent = "push_event",
        DeleteEvent = "delete_event",
        /// Renew the provider's push-notification subscription before it expires.
        RenewSubscription = "renew_subscription",
    }

    /// Where a calendar sync job is in the retry queue.
    CalendarSyncJobStatus = "calendar_sync_job_status" {
        /// Due at `available_at` (a failed attempt comes back here with a later time).
        Pending = "pending",
        Running = "running",
        Succeeded = "succeeded",
        /// Gave up after its last attempt.
        Dead = "dead",
    }
}
