//! [`OrderRepo`] on both databases: orders, their lines, and the stock they reserve.
//!
//! Creating an order on SQLite starts with its insert (`ON CONFLICT (buyer_id, idempotency_key)
//! DO NOTHING`, so a retry finds the first order) and then reserves each line with one
//! conditional `UPDATE … WHERE stock_quantity IS NULL OR stock_quantity >= quantity`, in post
//! order: a line that cannot be reserved rolls the whole transaction back. Every transaction
//! begins with a write, so on SQLite it holds the write lock before it reads anything. On
//! PostgreSQL the same creation is one statement (`orders_postgres.rs`).
//!
//! A status change is a compare-and-set on the status (`WHERE status = from`); the one that
//! cancels an unpaid order gives the stock back in the same transaction, so two expirers racing
//! give it back once.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::types::Json;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;
use vendrome_core::enums::OrderStatus;
use vendrome_core::events::{DomainEvent, OrderChanged};
use vendrome_core::ids::{OrderId, OrderItemId, PostId, UserId};
use vendrome_core::money::{Currency, Money};
use vendrome_core::orders::{
    CreateOrderOutcome, NewOrder, Order, OrderItem, OrderRepo, OrderRole, Product, StatusChange,
};
use vendrome_core::outbox::NewEvent;
use vendrome_core::page::{Cursor, Limit, Page};
use vendrome_core::time::Timestamp;
use vendrome_core::{Error, Result};

use crate::error::SqlxResultExt as _;
use crate::orders_postgres::CreatedOrder;
use crate::sql_enum::DbEnum;
use crate::sql_text::{bind_args, SqlText};
use crate::writes::TxWrites as _;
use crate::{with_db, Store};

/// Order status changes inside a transaction another port method opened (payment settlement).
pub(crate) trait OrderWrites {
    /// Applies `change` if the order is still in `change.from` (giving stock back when an unpaid
    /// order is cancelled); `false` when it was not.
    fn apply_status_change(&mut self, change: StatusChange) -> BoxFuture<'_, sqlx::Result<bool>>;
}

/// The column an order's move to `to` stamps with its instant.
pub(crate) fn stamped_column(to: OrderStatus) -> Option<&'static str> {
    match to {
        OrderStatus::Paid => Some("paid_at"),
        OrderStatus::Cancelled => Some("cancelled_at"),
        OrderStatus::Fulfilled => Some("fulfilled_at"),
        OrderStatus::Completed => Some("completed_at"),
        OrderStatus::PendingPayment | OrderStatus::Refunded => None,
    }
}

/// The columns an order's creation writes, and their parameters (`$13`, its instant, twice).
pub(crate) const NEW_ORDER_COLUMNS: &str = "id, buyer_id, seller_id, status, currency, \
    subtotal_amount, shipping_amount, platform_fee_amount, total_amount, idempotency_key, \
    shipping_address, note, created_at, updated_at, expires_at";
pub(crate) const NEW_ORDER_VALUES: &str =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14";

/// Binds a [`NewOrder`] to [`NEW_ORDER_VALUES`], as an order awaiting payment.
macro_rules! bind_new_order {
    ($query:expr, $order:expr) => {
        $query
            .bind($order.id.as_uuid())
            .bind($order.buyer_id.as_uuid())
            .bind($order.seller_id.as_uuid())
            .bind($crate::sql_enum::DbEnum(
                vendrome_core::enums::OrderStatus::PendingPayment,
            ))
            .bind($order.currency.as_str())
            .bind($order.subtotal_amount)
            .bind($order.shipping_amount)
            .bind($order.platform_fee_amount)
            .bind($order.total_amount)
            .bind(&$order.idempotency_key)
            .bind($order.shipping_address.as_ref().map(sqlx::types::Json))
            .bind(&$order.note)
            .bind($order.created_at)
            .bind($order.expires_at)
    };
}
pub(crate) use bind_new_order;

fn change_sql(to: OrderStatus) -> String {
    let stamp = stamped_column(to).map_or(String::new(), |c| format!(", {c} = $4"));
    format!("UPDATE orders SET status = $2, updated_at = $4{stamp} WHERE id = $1 AND status = $3")
}

/// Reserves `$2` of the product `$1` (SQLite): a row when it was reserved, or its stock is
/// untracked (NULL, which never runs out), none when it is short. PostgreSQL reserves in the
/// order's creation statement (`orders_postgres.rs`).
const RESERVE_STOCK: &str = "UPDATE post_products SET stock_quantity = stock_quantity - $2 \
    WHERE post_id = $1 AND (stock_quantity IS NULL OR stock_quantity >= $2) RETURNING true";

/// Gives back the stock an order's lines reserved (untracked stock stays NULL).
const RELEASE_STOCK: &str = "UPDATE post_products SET stock_quantity = stock_quantity + \
    (SELECT i.quantity FROM order_items i WHERE i.order_id = $1 AND i.product_post_id = post_products.post_id) \
    WHERE stock_quantity IS NOT NULL AND post_id IN (SELECT product_post_id FROM order_items WHERE order_id = $1)";

macro_rules! impl_order_writes {
    ($conn:ty) => {
        impl OrderWrites for $conn {
            fn apply_status_change(
                &mut self,
                change: StatusChange,
            ) -> BoxFuture<'_, sqlx::Result<bool>> {
                Box::pin(async move {
                    let moved = sqlx::query(&change_sql(change.to))
                        .bind(change.order_id.as_uuid())
                        .bind(DbEnum(change.to))
                        .bind(DbEnum(change.from))
                        .bind(change.at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected()
                        == 1;
                    if moved
                        && change.from == OrderStatus::PendingPayment
                        && change.to == OrderStatus::Cancelled
                    {
                        sqlx::query(RELEASE_STOCK)
                            .bind(change.order_id.as_uuid())
                            .execute(&mut *self)
                            .await?;
                    }
                    Ok(moved)
                })
            }
        }
    };
}

impl_order_writes!(PgConnection);
impl_order_writes!(SqliteConnection);

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.buyer_id, o.seller_id, o.status, o.currency, o.subtotal_amount, \
    o.shipping_amount, o.platform_fee_amount, o.total_amount, o.refunded_amount, o.shipping_address, \
    o.note, o.created_at, o.updated_at, COALESCE(o.expires_at, o.created_at) AS expires_at, o.paid_at, \
    o.fulfilled_at, o.completed_at, o.cancelled_at";

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    id: Uuid,
    buyer_id: Uuid,
    seller_id: Uuid,
    status: DbEnum<OrderStatus>,
    currency: String,
    subtotal_amount: i64,
    shipping_amount: i64,
    platform_fee_amount: i64,
    total_amount: i64,
    refunded_amount: i64,
    shipping_address: Option<Json<serde_json::Value>>,
    note: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    expires_at: Timestamp,
    paid_at: Option<Timestamp>,
    fulfilled_at: Option<Timestamp>,
    completed_at: Option<Timestamp>,
    cancelled_at: Option<Timestamp>,
}

/// [`ORDER_COLUMNS`] under names of their own (`ord_…`), for a statement that returns an order
/// beside another row's columns ([`OrderRow::from_prefixed`]).
pub(crate) fn prefixed_order_columns() -> &'static str {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        // The list's top-level commas (not those inside `COALESCE(…)`).
        let (mut columns, mut depth, mut start) = (Vec::new(), 0, 0);
        for (i, c) in ORDER_COLUMNS.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    columns.push(&ORDER_COLUMNS[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        columns.push(&ORDER_COLUMNS[start..]);
        columns
            .iter()
            .map(|column| {
                let column = column.trim();
                let (expression, name) = column
                    .rsplit_once(" AS ")
                    .unwrap_or((column, column.trim_start_matches("o.")));
                format!("{expression} AS ord_{name}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    &COLUMNS
}

impl OrderRow {
    /// The order a row holds under [`prefixed_order_columns`]; `None` when it holds none (a left
    /// join that found no order).
    pub(crate) fn from_prefixed(row: &sqlx::postgres::PgRow) -> sqlx::Result<Option<Self>> {
        use sqlx::Row as _;
        let Some(id) = row.try_get::<Option<Uuid>, _>("ord_id")? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id,
            buyer_id: row.try_get("ord_buyer_id")?,
            seller_id: row.try_get("ord_seller_id")?,
            status: row.try_get("ord_status")?,
            currency: row.try_get("ord_currency")?,
            subtotal_amount: row.try_get("ord_subtotal_amount")?,
            shipping_amount: row.try_get("ord_shipping_amount")?,
            platform_fee_amount: row.try_get("ord_platform_fee_amount")?,
            total_amount: row.try_get("ord_total_amount")?,
            refunded_amount: row.try_get("ord_refunded_amount")?,
            shipping_address: row.try_get("ord_shipping_address")?,
            note: row.try_get("ord_note")?,
            created_at: row.try_get("ord_created_at")?,
            updated_at: row.try_get("ord_updated_at")?,
            expires_at: row.try_get("ord_expires_at")?,
            paid_at: row.try_get("ord_paid_at")?,
            fulfilled_at: row.try_get("ord_fulfilled_at")?,
            completed_at: row.try_get("ord_completed_at")?,
            cancelled_at: row.try_get("ord_cancelled_at")?,
        }))
    }
}

/// An order with one of its lines (none: an order without lines, from a left join).
#[derive(sqlx::FromRow)]
struct OrderLineRow {
    #[sqlx(flatten)]
    order: OrderRow,
    item_id: Option<Uuid>,
    product_post_id: Option<Uuid>,
    title: Option<String>,
    unit_amount: Option<i64>,
    quantity: Option<i32>,
    line_amount: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: Uuid,
    order_id: Uuid,
    product_post_id: Uuid,
    title: String,
    unit_amount: i64,
    quantity: i32,
    line_amount: i64,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    post_id: Uuid,
    author_id: Uuid,
    title: String,
    price_amount: i64,
    currency: String,
    stock_quantity: Option<i32>,
}

pub(crate) fn parse_currency(raw: &str) -> Result<Currency> {
    Currency::parse(raw.trim())
        .map_err(|_| Error::Unexpected(anyhow::anyhow!("stored currency `{raw}` is not valid")))
}

impl OrderRow {
    pub(crate) fn into_order(self, items: Vec<OrderItem>) -> Result<Order> {
        Ok(Order {
            id: OrderId::from_uuid(self.id),
            buyer_id: UserId::from_uuid(self.buyer_id),
            seller_id: UserId::from_uuid(self.seller_id),
            status: self.status.0,
            currency: parse_currency(&self.currency)?,
            items,
            subtotal_amount: self.subtotal_amount,
            shipping_amount: self.shipping_amount,
            platform_fee_amount: self.platform_fee_amount,
            total_amount: self.total_amount,
            refunded_amount: self.refunded_amount,
            shipping_address: self.shipping_address.map(|j| j.0),
            note: self.note,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            paid_at: self.paid_at,
            fulfilled_at: self.fulfilled_at,
            completed_at: self.completed_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

impl Store {
    /// Orders by a condition on `o` (and its arguments), with their lines, in the order asked.
    async fn load_orders(&self, sql: SqlText) -> Result<Vec<Order>> {
        let rows: Vec<OrderRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, OrderRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut items_sql = SqlText::new(
            self.dialect(),
            "SELECT id, order_id, product_post_id, title, unit_amount, quantity, line_amount \
             FROM order_items WHERE order_id IN (NULL",
        );
        for row in &rows {
            items_sql.push(", ").uuid(row.id);
        }
        items_sql.push(") ORDER BY order_id, product_post_id");
        let items: Vec<ItemRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, ItemRow>(&items_sql.text), items_sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        let mut by_order: HashMap<Uuid, Vec<OrderItem>> = HashMap::new();
        for i in items {
            by_order.entry(i.order_id).or_default().push(OrderItem {
                id: OrderItemId::from_uuid(i.id),
                post_id: PostId::from_uuid(i.product_post_id),
                title: i.title,
                unit_amount: i.unit_amount,
                quantity: i.quantity,
                line_amount: i.line_amount,
            });
        }
        rows.into_iter()
            .map(|row| {
                let items = by_order.remove(&row.id).unwrap_or_default();
                row.into_order(items)
            })
            .collect()
    }

    /// The order placed before under `order`'s key.
    async fn existing_order(&self, order: &NewOrder) -> Result<CreateOrderOutcome> {
        self.order_by_key(order.buyer_id, &order.idempotency_key)
            .await?
            .map(CreateOrderOutcome::Existing)
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("the order of a used key is missing")))
    }

    /// [`OrderRepo::create_order`] on PostgreSQL: one statement (`orders_postgres.rs`).
    async fn create_order_postgres(
        &self,
        pool: &sqlx::PgPool,
        order: &NewOrder,
        created: &NewEvent,
    ) -> Result<CreateOrderOutcome> {
        let mut conn = pool.acquire().await.or_unexpected()?;
        let outcome = crate::orders_postgres::create_order(&mut conn, order, created)
            .await
            .or_unexpected()?;
        drop(conn);
        match outcome {
            CreatedOrder::Inserted => Ok(CreateOrderOutcome::Created(order.created())),
            CreatedOrder::KeyUsed => self.existing_order(order).await,
            // A retry of an order placed before its stock ran out answers that order.
            CreatedOrder::Short(post) => Ok(
                match self
                    .order_by_key(order.buyer_id, &order.idempotency_key)
                    .await?
                {
                    Some(existing) => CreateOrderOutcome::Existing(existing),
                    None => CreateOrderOutcome::OutOfStock {
                        post_id: PostId::from_uuid(post),
                    },
                },
            ),
        }
    }

    async fn order_by_key(&self, buyer: UserId, key: &str) -> Result<Option<Order>> {
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.buyer_id = "),
        );
        sql.uuid(buyer.as_uuid()).push(" AND o.idempotency_key = ");
        sql.bind(crate::sql_text::Arg::Text(key.to_owned()));
        Ok(self.load_orders(sql).await?.pop())
    }
}

/// What creating an order did inside its transaction.
enum Created {
    Inserted,
    Existing,
    OutOfStock(Uuid),
}

#[async_trait]
impl OrderRepo for Store {
    #[tracing::instrument(skip(self))]
    async fn products(&self, posts: &[PostId]) -> Result<Vec<Product>> {
        let mut sql = SqlText::new(
            self.dialect(),
            "SELECT p.id AS post_id, p.author_id, pp.title, pp.price_amount, pp.currency, pp.stock_quantity \
             FROM posts p JOIN post_products pp ON pp.post_id = p.id \
             WHERE p.deleted_at IS NULL AND p.id IN (NULL",
        );
        for post in posts {
            sql.push(", ").uuid(post.as_uuid());
        }
        sql.push(")");
        let rows: Vec<ProductRow> = with_db!(&self.db, pool => {
            bind_args!(sqlx::query_as::<_, ProductRow>(&sql.text), sql).fetch_all(pool).await
        })
        .or_unexpected()?;
        rows.into_iter()
            .map(|r| {
                Ok(Product {
                    post_id: PostId::from_uuid(r.post_id),
                    seller_id: UserId::from_uuid(r.author_id),
                    title: r.title,
                    price: Money::new(r.price_amount, parse_currency(&r.currency)?),
                    stock_quantity: r.stock_quantity,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(order = %order.id))]
    async fn create_order(&self, order: &NewOrder) -> Result<CreateOrderOutcome> {
        let created = NewEvent::new(DomainEvent::OrderCreated(OrderChanged {
            order_id: order.id,
            buyer_id: order.buyer_id,
            seller_id: order.seller_id,
            status: OrderStatus::PendingPayment,
            total_amount: order.total_amount,
            refunded_amount: 0,
            currency: order.currency,
        }));
        let pool = match &self.db {
            crate::Db::Postgres(pool) => {
                return self.create_order_postgres(pool, order, &created).await
            }
            crate::Db::Sqlite(pool) => pool,
        };
        // In post order, so that the short line reported is the first in post order, as on
        // PostgreSQL.
        let mut lines: Vec<&OrderItem> = order.items.iter().collect();
        lines.sort_by_key(|l| l.post_id.as_uuid());
        let outcome = async {
            let mut tx = pool.begin().await?;
            let insert = format!(
                "INSERT INTO orders ({NEW_ORDER_COLUMNS}) VALUES ({NEW_ORDER_VALUES}) \
                 ON CONFLICT (buyer_id, idempotency_key) DO NOTHING"
            );
            let inserted = bind_new_order!(sqlx::query(&insert), order)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(Created::Existing);
            }
            for line in &lines {
                let reserved: Option<bool> = sqlx::query_scalar(RESERVE_STOCK)
                    .bind(line.post_id.as_uuid())
                    .bind(line.quantity)
                    .fetch_optional(&mut *tx)
                    .await?;
                if reserved.is_none() {
                    return Ok(Created::OutOfStock(line.post_id.as_uuid()));
                }
                sqlx::query(
                    "INSERT INTO order_items (id, order_id, product_post_id, title, quantity, unit_amount, line_amount) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(line.id.as_uuid())
                .bind(order.id.as_uuid())
                .bind(line.post_id.as_uuid())
                .bind(&line.title)
                .bind(line.quantity)
                .bind(line.unit_amount)
                .bind(line.line_amount)
                .execute(&mut *tx)
                .await?;
            }
            tx.append_event(&created, order.created_at).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Created::Inserted)
        }
        .await
        .or_unexpected()?;
        match outcome {
            Created::OutOfStock(post) => Ok(CreateOrderOutcome::OutOfStock {
                post_id: PostId::from_uuid(post),
            }),
            // Written as it is: reading it back would cost two statements more.
            Created::Inserted => Ok(CreateOrderOutcome::Created(order.created())),
            Created::Existing => self.existing_order(order).await,
        }
    }

    #[tracing::instrument(skip(self))]
    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        // One statement: the order's columns repeated on each of its lines.
        let sql = format!(
            "SELECT {ORDER_COLUMNS}, i.id AS item_id, i.product_post_id, i.title, i.unit_amount, \
             i.quantity, i.line_amount FROM orders o LEFT JOIN order_items i ON i.order_id = o.id \
             WHERE o.id = $1 ORDER BY i.product_post_id"
        );
        let rows: Vec<OrderLineRow> = with_db!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id.as_uuid()).fetch_all(pool).await
        })
        .or_unexpected()?;
        let mut items = Vec::with_capacity(rows.len());
        let mut order = None;
        for row in rows {
            if let (
                Some(id),
                Some(post_id),
                Some(title),
                Some(unit_amount),
                Some(quantity),
                Some(line_amount),
            ) = (
                row.item_id,
                row.product_post_id,
                row.title,
                row.unit_amount,
                row.quantity,
                row.line_amount,
            ) {
                items.push(OrderItem {
                    id: OrderItemId::from_uuid(id),
                    post_id: PostId::from_uuid(post_id),
                    title,
                    unit_amount,
                    quantity,
                    line_amount,
                });
            }
            order = Some(row.order);
        }
        order.map(|o| o.into_order(items)).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn orders_of(
        &self,
        user: UserId,
        role: OrderRole,
        status: Option<OrderStatus>,
        after: Option<&Cursor>,
        limit: Limit,
    ) -> Result<(Vec<Order>, Option<Cursor>)> {
        let after: Option<(Timestamp, Uuid)> = after.map(Cursor::decode).transpose()?;
        let party = match role {
            OrderRole::Buyer => "o.buyer_id",
            OrderRole::Seller => "o.seller_id",
        };
        let mut sql = SqlText::new(
            self.dialect(),
            &format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE {party} = "),
        );
        sql.uuid(user.as_uuid());
        if let Some(status) = status {
            sql.push(" AND o.status = ").enum_value(status);
        }
        if let Some((at, id)) = after {
            sql.push(" AND (o.created_at, o.id) < (");
            sql.bind(crate::sql_text::Arg::At(at)).push(", ").uuid(id);
            sql.push(")");
        }
        sql.push(" ORDER BY o.created_at DESC, o.id DESC LIMIT ");
        sql.bind(crate::sql_text::Arg::Int(limit.probe()));
        let orders = self.load_orders(sql).await?;
        let page = Page::from_probe(orders, limit, |o| (o.created_at, o.id.as_uuid()));
        Ok((page.items, page.next_cursor))
    }

    #[tracing::instrument(skip(self, event))]
    async fn change_status(&self, change: StatusChange, event: NewEvent) -> Result<Option<Order>> {
        let moved = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = tx.apply_status_change(change).await?;
            if moved {
                tx.append_event(&event, change.at).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(moved)
        })
        .or_unexpected()?;
        if !moved {
            return Ok(None);
        }
        self.order(change.order_id).await
    }

    #[tracing::instrument(skip(self))]
    async fn expired_orders(&self, now: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at < $1 \
                 ORDER BY expires_at, id LIMIT $2",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(OrderId::from_uuid).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn fulfilled_before(&self, before: Timestamp, limit: u32) -> Result<Vec<OrderId>> {
        let ids: Vec<Uuid> = with_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE status = 'fulfilled' AND fulfilled_at < $1 \
                 ORDER BY fulfilled_at, id LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .or_unexpected()?;
        Ok(ids.into_iter().map(OrderId::from_uuid).collect())
    }
}
