//! The resources of a tailnet, one module each, each owning its part of [`super::state`] and the
//! handlers of its operations. [`TABLE`] is the one place an operationId is tied to a handler:
//! every module lists its own (`HANDLERS`), and an operation of `schemas/operations.json` no
//! module lists answers 501 `… is not emulated yet` ([`not_emulated`] names them).

mod devices;
mod dns;
mod invites;
mod keys;
mod logging;
mod oauth;
mod policy;
mod posture;
mod services;
mod settings;
mod users;
mod webhooks;

use super::call::Handler;
use crate::routes::OperationTable;
pub use keys::REVOKED_KEPT;

/// Every resource's handlers, by operationId.
const TABLE: &[&[(&str, Handler)]] = &[
    devices::HANDLERS,
    dns::HANDLERS,
    invites::HANDLERS,
    keys::HANDLERS,
    logging::HANDLERS,
    oauth::HANDLERS,
    policy::HANDLERS,
    posture::HANDLERS,
    services::HANDLERS,
    settings::HANDLERS,
    users::HANDLERS,
    webhooks::HANDLERS,
];

fn handler(id: &str) -> Option<Handler> {
    TABLE
        .iter()
        .flat_map(|handlers| handlers.iter())
        .find(|(op, _)| *op == id)
        .map(|(_, handler)| *handler)
}

/// The handler of each operation of `table`, by its index.
pub(super) fn by_index(table: &OperationTable) -> Vec<Option<Handler>> {
    table
        .operations()
        .iter()
        .map(|op| handler(&op.id))
        .collect()
}

/// The operationIds of `table` that have a handler.
pub fn emulated(table: &OperationTable) -> Vec<&str> {
    table
        .operations()
        .iter()
        .filter(|op| handler(&op.id).is_some())
        .map(|op| op.id.as_str())
        .collect()
}

/// The operationIds of `table` that answer 501 (not emulated yet).
pub fn not_emulated(table: &OperationTable) -> Vec<&str> {
    table
        .operations()
        .iter()
        .filter(|op| handler(&op.id).is_none())
        .map(|op| op.id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handler_is_for_a_documented_operation_and_listed_once() {
        let contract = crate::schema::Contract::load(None).unwrap();
        let mut ids: Vec<&str> = TABLE
            .iter()
            .flat_map(|h| h.iter().map(|(id, _)| *id))
            .collect();
        for id in &ids {
            assert!(
                contract.table().get(id).is_some(),
                "{id} is not in the table"
            );
        }
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "an operation has two handlers");
    }
}
