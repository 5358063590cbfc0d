//! An order's creation in one statement on PostgreSQL: its tracked stock locked in post order
//! and checked, then (when every line is available) the order, its reservations, its lines and
//! its event, as data-modifying CTEs. A single statement is atomic without `BEGIN` and `COMMIT`,
//! so the whole creation is one round trip where a transaction of a statement per write took six.
//! SQLite keeps the transaction of [`OrderRepo::create_order`](crate::orders) (a statement there
//! costs no round trip).
//!
//! Why it is exact under concurrency (READ COMMITTED): `FOR NO KEY UPDATE` waits for a concurrent
//! order of the same product and then reads the product's newest stock, so the check sees every
//! reservation committed before it; the locks are held until the statement commits, so nothing
//! moves the stock between the check and the reservation. The locks are taken in post order, as
//! the statement-per-line transaction took them, so two orders of the same products never wait
//! on each other in a cycle. An untracked product (stock NULL) is neither locked nor written.

use std::sync::LazyLock;

use sqlx::PgConnection;
use uuid::Uuid;
use vendrome_core::orders::NewOrder;
use vendrome_core::outbox::NewEvent;

use crate::orders::{bind_new_order, NEW_ORDER_COLUMNS, NEW_ORDER_VALUES};
use crate::writes::bind_new_event;

/// `$1`–`$14` the order, `$15`–`$20` its lines as arrays, `$21`–`$25` its event. Answers whether
/// the order was inserted (false: its key was used before) and the first line short of stock
/// (nothing was written then).
static CREATE_ORDER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH want AS (\
       SELECT * FROM unnest($15::uuid[], $16::uuid[], $17::text[], $18::int[], $19::bigint[], $20::bigint[]) \
       AS w(id, post_id, title, quantity, unit_amount, line_amount)), \
     need AS (SELECT post_id, sum(quantity) AS quantity FROM want GROUP BY post_id), \
     stock AS (SELECT pp.post_id, pp.stock_quantity FROM post_products pp \
       WHERE pp.post_id = ANY($16::uuid[]) AND pp.stock_quantity IS NOT NULL \
       ORDER BY pp.post_id FOR NO KEY UPDATE), \
     short AS (SELECT n.post_id FROM need n LEFT JOIN stock s ON s.post_id = n.post_id \
       WHERE NOT (COALESCE(s.stock_quantity >= n.quantity, false) \
         OR EXISTS (SELECT 1 FROM post_products u WHERE u.post_id = n.post_id AND u.stock_quantity IS NULL)) \
       ORDER BY n.post_id LIMIT 1), \
     o AS (INSERT INTO orders ({NEW_ORDER_COLUMNS}) SELECT {NEW_ORDER_VALUES} \
       WHERE NOT EXISTS (SELECT 1 FROM short) \
       ON CONFLICT (buyer_id, idempotency_key) DO NOTHING RETURNING id), \
     r AS (UPDATE post_products pp SET stock_quantity = pp.stock_quantity - n.quantity \
       FROM need n WHERE pp.post_id = n.post_id AND pp.stock_quantity IS NOT NULL \
       AND EXISTS (SELECT 1 FROM o) RETURNING pp.post_id), \
     i AS (INSERT INTO order_items (id, order_id, product_post_id, title, quantity, unit_amount, line_amount) \
       SELECT w.id, o.id, w.post_id, w.title, w.quantity, w.unit_amount, w.line_amount FROM want w, o), \
     e AS (INSERT INTO outbox_events (event_id, event_type, aggregate_type, aggregate_id, payload, \
       status, attempts, available_at, created_at) \
       SELECT $21, $22, $23, $24, $25, 'pending', 0, $13, $13 FROM o) \
     SELECT EXISTS (SELECT 1 FROM o) AS inserted, (SELECT post_id FROM short) AS short"
    )
});

/// What [`create_order`] did.
pub(crate) enum CreatedOrder {
    Inserted,
    /// The buyer's key was used before; nothing was written.
    KeyUsed,
    /// This product has too little stock; nothing was written.
    Short(Uuid),
}

/// Creates `order` with its `created` event in one statement ([`CREATE_ORDER`]).
pub(crate) async fn create_order(
    conn: &mut PgConnection,
    order: &NewOrder,
    created: &NewEvent,
) -> sqlx::Result<CreatedOrder> {
    let lines = &order.items;
    // The order (`$1`–`$14`), its lines (`$15`–`$20`), its event (`$21`–`$25`).
    let with_lines = bind_new_order!(sqlx::query_as(&CREATE_ORDER), order)
        .bind(lines.iter().map(|l| l.id.as_uuid()).collect::<Vec<_>>())
        .bind(
            lines
                .iter()
                .map(|l| l.post_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind(lines.iter().map(|l| l.title.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.quantity).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.unit_amount).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.line_amount).collect::<Vec<_>>());
    let (inserted, short): (bool, Option<Uuid>) =
        bind_new_event!(with_lines, created).fetch_one(conn).await?;
    Ok(match (inserted, short) {
        (_, Some(post)) => CreatedOrder::Short(post),
        (true, None) => CreatedOrder::Inserted,
        (false, None) => CreatedOrder::KeyUsed,
    })
}
