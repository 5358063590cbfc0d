//! One module per feature, each with the handlers of its endpoints; [`api`] gathers them with
//! their OpenAPI descriptions.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::AppState;

pub mod auth;
pub mod blocks;
pub mod bookings;
pub mod calendar;
pub mod calendar_google;
pub mod calendar_ics;
pub mod calendar_integrations;
pub mod calendar_microsoft;
pub mod chat;
pub mod comments;
pub mod conversations;
pub mod deal_flow;
pub mod docs;
pub mod engagement;
pub mod feeds;
pub mod flags;
pub mod graph;
pub mod groups;
pub mod health;
pub mod investments;
pub mod ledger;
pub mod marketing;
pub mod me;
pub mod mentorship;
pub mod mentorship_sessions;
pub mod messaging;
pub mod oauth;
pub mod orders;
pub mod page;
pub mod payment_providers;
pub mod payments;
pub mod posts;
pub mod profiles;
pub mod recovery;
pub mod reviews;
pub mod sandbox;
pub mod search;
pub mod topics;
pub mod trending;
pub mod users;
pub mod views;
pub mod ws;

/// Every documented endpoint.
pub fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi as _;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(flags::list_flags))
        .routes(routes!(flags::update_flag))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::delete_session))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(users::verification))
        .routes(routes!(users::grant_badge))
        .routes(routes!(users::revoke_badge))
        .routes(routes!(users::set_level))
        .routes(routes!(users::set_role))
        .routes(routes!(users::set_disabled))
        .routes(routes!(users::list_user_sessions))
        .routes(routes!(users::revoke_user_session))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::callback))
        .routes(routes!(oauth::exchange))
        .routes(routes!(recovery::request_verification))
        .routes(routes!(recovery::verify_email))
        .routes(routes!(recovery::request_reset))
        .routes(routes!(recovery::reset_password))
        .routes(routes!(oauth::list_identities))
        .routes(routes!(oauth::link_identity, oauth::unlink_identity))
        .routes(routes!(posts::create_post, feeds::listing))
        .routes(routes!(feeds::home))
        .routes(routes!(feeds::user_posts))
        .routes(routes!(feeds::topic_posts))
        .routes(routes!(
            posts::get_post,
            posts::update_post,
            posts::delete_post
        ))
        .routes(routes!(
            engagement::set_reaction,
            engagement::remove_reaction
        ))
        .routes(routes!(engagement::list_reactions))
        .routes(routes!(
            engagement::set_bookmark,
            engagement::remove_bookmark
        ))
        .routes(routes!(engagement::list_bookmarks))
        .routes(routes!(comments::create_comment, comments::list_comments))
        .routes(routes!(comments::update_comment, comments::delete_comment))
        .routes(routes!(engagement::set_repost, engagement::remove_repost))
        .routes(routes!(engagement::create_share))
        .routes(routes!(graph::request_connection))
        .routes(routes!(graph::accept_connection))
        .routes(routes!(graph::decline_connection))
        .routes(routes!(graph::withdraw_connection))
        .routes(routes!(graph::remove_connection))
        .routes(routes!(graph::my_connections))
        .routes(routes!(graph::follow, graph::unfollow))
        .routes(routes!(graph::followers))
        .routes(routes!(graph::following))
        .routes(routes!(graph::suggestions))
        .routes(routes!(blocks::block, blocks::unblock))
        .routes(routes!(blocks::my_blocks))
        .routes(routes!(topics::list_topics))
        .routes(routes!(topics::follow_topic, topics::unfollow_topic))
        .routes(routes!(topics::my_topics))
        .routes(routes!(
            messaging::start_conversation,
            messaging::list_conversations
        ))
        .routes(routes!(messaging::send_message, messaging::list_messages))
        .routes(routes!(messaging::mark_read))
        .routes(routes!(messaging::edit_message, messaging::delete_message))
        .routes(routes!(groups::create_group))
        .routes(routes!(groups::add_member, groups::remove_member))
        .routes(routes!(
            conversations::get_conversation,
            conversations::rename_group
        ))
        .routes(routes!(conversations::set_member_role))
        .routes(routes!(
            conversations::get_messaging_settings,
            conversations::set_messaging_settings
        ))
        .routes(routes!(profiles::directory))
        .routes(routes!(profiles::get_profile))
        .routes(routes!(profiles::update_profile))
        .routes(routes!(trending::trending))
        .routes(routes!(search::search))
        .routes(routes!(ws::open_socket))
        .routes(routes!(calendar::create_event, calendar::list_events))
        .routes(routes!(
            calendar::get_event,
            calendar::update_event,
            calendar::delete_event
        ))
        .routes(routes!(calendar::rsvp))
        .routes(routes!(calendar::free_busy))
        .routes(routes!(
            calendar_ics::issue_feed_token,
            calendar_ics::revoke_feed_token
        ))
        .routes(routes!(calendar_ics::feed))
        .routes(routes!(calendar_ics::import))
        .routes(routes!(calendar_integrations::connect_caldav))
        .routes(routes!(calendar_integrations::list_integrations))
        .routes(routes!(calendar_integrations::disconnect))
        .routes(routes!(calendar_integrations::sync_now))
        .routes(routes!(calendar_integrations::reconnect_caldav))
        .routes(routes!(calendar_integrations::push_event))
        .routes(routes!(calendar_integrations::list_conflicts))
        .routes(routes!(calendar_google::start_google))
        .routes(routes!(calendar_google::google_callback))
        .routes(routes!(calendar_google::google_webhook))
        .routes(routes!(calendar_microsoft::start_microsoft))
        .routes(routes!(calendar_microsoft::microsoft_callback))
        .routes(routes!(calendar_microsoft::microsoft_webhook))
        .routes(routes!(orders::create_order))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::my_orders))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::fulfil_order))
        .routes(routes!(orders::complete_order))
        .routes(routes!(orders::refund_order))
        .routes(routes!(orders::checkout))
        .routes(routes!(
            bookings::get_availability,
            bookings::set_availability
        ))
        .routes(routes!(bookings::slots))
        .routes(routes!(bookings::create_booking))
        .routes(routes!(bookings::checkout_booking))
        .routes(routes!(bookings::get_booking))
        .routes(routes!(bookings::my_bookings))
        .routes(routes!(bookings::confirm_booking))
        .routes(routes!(bookings::decline_booking))
        .routes(routes!(bookings::cancel_booking))
        .routes(routes!(bookings::reschedule_booking))
        .routes(routes!(bookings::complete_booking))
        .routes(routes!(bookings::no_show_booking))
        .routes(routes!(payments::methods))
        .routes(routes!(payments::get_payment))
        .routes(routes!(payments::my_payments))
        .routes(routes!(payments::webhook))
        .routes(routes!(payment_providers::providers))
        .routes(routes!(sandbox::page))
        .routes(routes!(sandbox::complete))
        .routes(routes!(ledger::accounts))
        .routes(routes!(ledger::entries))
        .routes(routes!(ledger::reconciliation_run))
        .routes(routes!(reviews::create_review))
        .routes(routes!(
            reviews::get_review,
            reviews::edit_review,
            reviews::delete_review
        ))
        .routes(routes!(reviews::reply_to_review))
        .routes(routes!(reviews::post_reviews))
        .routes(routes!(reviews::user_reviews))
        .routes(routes!(reviews::post_rating))
        .routes(routes!(reviews::user_ratings))
        .routes(routes!(mentorship::request_mentorship))
        .routes(routes!(mentorship::offer_mentorship))
        .routes(routes!(mentorship::my_mentorships))
        .routes(routes!(mentorship::get_mentorship))
        .routes(routes!(mentorship::accept_mentorship))
        .routes(routes!(mentorship::decline_mentorship))
        .routes(routes!(mentorship::cancel_mentorship))
        .routes(routes!(mentorship::pause_mentorship))
        .routes(routes!(mentorship::resume_mentorship))
        .routes(routes!(mentorship::complete_mentorship))
        .routes(routes!(mentorship::add_goal))
        .routes(routes!(mentorship::complete_goal))
        .routes(routes!(mentorship::schedule_session))
        .routes(routes!(
            mentorship_sessions::reschedule_session,
            mentorship_sessions::cancel_session
        ))
        .routes(routes!(mentorship::add_note))
        .routes(routes!(mentorship::give_feedback))
        .routes(routes!(mentorship::mentors))
        .routes(routes!(mentorship::set_mentoring))
        .routes(routes!(
            marketing::create_campaign,
            marketing::list_campaigns
        ))
        .routes(routes!(marketing::get_campaign, marketing::update_campaign))
        .routes(routes!(marketing::submit_campaign))
        .routes(routes!(marketing::pause_campaign))
        .routes(routes!(marketing::resume_campaign))
        .routes(routes!(marketing::cancel_campaign))
        .routes(routes!(marketing::fund_campaign))
        .routes(routes!(marketing::refund_campaign))
        .routes(routes!(marketing::campaign_stats))
        .routes(routes!(marketing::audience_estimate))
        .routes(routes!(marketing::ingest_events))
        .routes(routes!(
            marketing::get_marketing_settings,
            marketing::set_marketing_settings
        ))
        .routes(routes!(
            investments::create_campaign,
            investments::list_campaigns
        ))
        .routes(routes!(investments::get_campaign))
        .routes(routes!(investments::publish_campaign))
        .routes(routes!(investments::cancel_campaign))
        .routes(routes!(investments::commit))
        .routes(routes!(investments::checkout_commitment))
        .routes(routes!(investments::get_commitment))
        .routes(routes!(investments::my_commitments))
        .routes(routes!(investments::withdraw_commitment))
        .routes(routes!(investments::review_commitment))
        .routes(routes!(deal_flow::matches))
        .routes(routes!(deal_flow::express_interest))
}
