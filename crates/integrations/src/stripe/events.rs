//! Stripe events read into Leadflow's terms. Only these change a
//! subscription: `checkout.session.completed`,
//! `customer.subscription.created|updated|deleted`, `invoice.paid` and
//! `invoice.payment_failed`; any other genuine event is acknowledged and
//! ignored. Both the older payload shapes and those of API versions since
//! 2025-03-31 are read (the period moved to the subscription items, an
//! invoice's subscription to `parent.subscription_details`).

use chrono::{DateTime, Utc};
use leadflow_subscriptions::billing::{BillingEvent, BillingUpdate, EventRejected, ProviderEvent};
use leadflow_subscriptions::{PlanId, SubscriptionStatus};
use serde_json::Value;

/// Maps Stripe price ids to plans.
pub trait PriceBook {
    /// The plan sold at `price`, if any.
    fn plan_of(&self, price: &str) -> Option<PlanId>;
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn time_at(value: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    value.pointer(pointer).and_then(Value::as_i64).and_then(|t| DateTime::from_timestamp(t, 0))
}

/// A Stripe subscription status in Leadflow's terms; `None` leaves the status
/// as it is (`incomplete`: the first payment is still being attempted).
fn status_of(stripe: &str) -> Option<SubscriptionStatus> {
    match stripe {
        "trialing" => Some(SubscriptionStatus::Trialing),
        "active" => Some(SubscriptionStatus::Active),
        // `paused`: a trial ended without a payment method; nothing is paid.
        "past_due" | "unpaid" | "paused" => Some(SubscriptionStatus::PastDue),
        "canceled" | "incomplete_expired" => Some(SubscriptionStatus::Canceled),
        _ => None,
    }
}

/// Reads a verified Stripe event payload.
///
/// # Errors
/// [`EventRejected::Malformed`] when it is not an event, or an event Leadflow
/// acts on lacks what it needs.
pub fn read(payload: &[u8], prices: &dyn PriceBook) -> Result<ProviderEvent, EventRejected> {
    let malformed = |what: &str| EventRejected::Malformed(what.to_owned());
    let event: Value = serde_json::from_slice(payload).map_err(|e| malformed(&format!("not JSON: {e}")))?;
    let id = str_at(&event, "/id").ok_or_else(|| malformed("the event has no id"))?.to_owned();
    let kind = str_at(&event, "/type").ok_or_else(|| malformed("the event has no type"))?.to_owned();
    let occurred_at =
        time_at(&event, "/created").ok_or_else(|| malformed("the event has no created time"))?;
    let object = event.pointer("/data/object").ok_or_else(|| malformed("the event has no data.object"))?;
    let customer = str_at(object, "/customer");
    let update = match kind.as_str() {
        "checkout.session.completed" => {
            if str_at(object, "/mode") != Some("subscription") {
                return Ok(ProviderEvent::Ignored { id, kind });
            }
            let paid = matches!(str_at(object, "/payment_status"), Some("paid" | "no_payment_required"));
            BillingUpdate {
                plan: str_at(object, "/metadata/plan").and_then(|p| PlanId::parse(p).ok()),
                status: paid.then_some(SubscriptionStatus::Active),
                subscription_id: str_at(object, "/subscription").map(str::to_owned),
                cancel_at_period_end: Some(false),
                ..BillingUpdate::default()
            }
        }
        "customer.subscription.created" | "customer.subscription.updated" => {
            let item = object.pointer("/items/data/0");
            BillingUpdate {
                plan: item.and_then(|i| str_at(i, "/price/id")).and_then(|p| prices.plan_of(p)),
                status: str_at(object, "/status").and_then(status_of),
                subscription_id: str_at(object, "/id").map(str::to_owned),
                period_start: time_at(object, "/current_period_start")
                    .or_else(|| item.and_then(|i| time_at(i, "/current_period_start"))),
                cancel_at_period_end: object.pointer("/cancel_at_period_end").and_then(Value::as_bool),
            }
        }
        "customer.subscription.deleted" => BillingUpdate {
            status: Some(SubscriptionStatus::Canceled),
            subscription_id: str_at(object, "/id").map(str::to_owned),
            ..BillingUpdate::default()
        },
        "invoice.paid" | "invoice.payment_failed" => {
            let subscription = str_at(object, "/subscription")
                .or_else(|| str_at(object, "/parent/subscription_details/subscription"));
            // An invoice of no subscription (a one-off charge) changes no plan.
            if subscription.is_none() {
                return Ok(ProviderEvent::Ignored { id, kind });
            }
            let status =
                if kind == "invoice.paid" { SubscriptionStatus::Active } else { SubscriptionStatus::PastDue };
            BillingUpdate { status: Some(status), ..BillingUpdate::default() }
        }
        _ => return Ok(ProviderEvent::Ignored { id, kind }),
    };
    let customer = customer.ok_or_else(|| malformed("the event's object names no customer"))?.to_owned();
    Ok(ProviderEvent::Billing(BillingEvent { id, kind, occurred_at, customer, update }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Prices;
    impl PriceBook for Prices {
        fn plan_of(&self, price: &str) -> Option<PlanId> {
            (price == "price_pro").then_some(PlanId::Pro)
        }
    }

    fn billing(value: &Value) -> BillingEvent {
        match read(value.to_string().as_bytes(), &Prices).unwrap() {
            ProviderEvent::Billing(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_subscription_update_gives_plan_status_period_and_cancellation() {
        // The shape of API versions since 2025-03-31: the period is on the item.
        let event = billing(&json!({
            "id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": 1_700_000_000,
            "data": { "object": {
                "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "past_due",
                "cancel_at_period_end": true,
                "items": { "object": "list", "data": [ {
                    "id": "si_1", "price": { "id": "price_pro" }, "current_period_start": 1_699_000_000
                } ] }
            } }
        }));
        assert_eq!(event.customer, "cus_1");
        assert_eq!(event.occurred_at.timestamp(), 1_700_000_000);
        assert_eq!(
            event.update,
            BillingUpdate {
                plan: Some(PlanId::Pro),
                status: Some(SubscriptionStatus::PastDue),
                subscription_id: Some("sub_1".into()),
                period_start: DateTime::from_timestamp(1_699_000_000, 0),
                cancel_at_period_end: Some(true),
            }
        );
    }

    #[test]
    fn invoices_of_a_subscription_set_its_status_in_either_shape() {
        let old = billing(&json!({
            "id": "evt_2", "type": "invoice.payment_failed", "created": 1,
            "data": { "object": { "id": "in_1", "customer": "cus_1", "subscription": "sub_1" } }
        }));
        assert_eq!(old.update.status, Some(SubscriptionStatus::PastDue));
        let new = billing(&json!({
            "id": "evt_3", "type": "invoice.paid", "created": 1,
            "data": { "object": { "id": "in_2", "customer": "cus_1",
                "parent": { "subscription_details": { "subscription": "sub_1" } } } }
        }));
        assert_eq!(new.update.status, Some(SubscriptionStatus::Active));
        let one_off = json!({
            "id": "evt_4", "type": "invoice.paid", "created": 1,
            "data": { "object": { "id": "in_3", "customer": "cus_1", "subscription": null } }
        });
        assert!(matches!(read(one_off.to_string().as_bytes(), &Prices), Ok(ProviderEvent::Ignored { .. })));
    }

    #[test]
    fn other_events_are_ignored_and_garbage_is_refused() {
        let other =
            json!({ "id": "evt_5", "type": "charge.succeeded", "created": 1, "data": { "object": {} } });
        assert!(matches!(read(other.to_string().as_bytes(), &Prices), Ok(ProviderEvent::Ignored { .. })));
        assert!(matches!(read(b"not json", &Prices), Err(EventRejected::Malformed(_))));
        let nameless = json!({ "id": "evt_6", "type": "invoice.paid", "created": 1,
            "data": { "object": { "subscription": "sub_1" } } });
        assert!(matches!(read(nameless.to_string().as_bytes(), &Prices), Err(EventRejected::Malformed(_))));
    }
}
