//! The routes, one module per audience. They are declared through [`Table`], which keeps the
//! list of (method, path) it registered, so a test can hold the router against the access
//! matrix ([`crate::access::MATRIX`]) row for row. Every route is added from its handler's
//! `#[utoipa::path]` ([`Table::op`]): the path and methods it is served at are the ones its
//! operation in the OpenAPI document names, so the two cannot disagree, and a route cannot be
//! served undocumented.

mod admin;
mod applications;
mod arrivals;
mod auth;
mod banks;
mod cards;
mod carrier;
mod catalogue;
mod feedback;
mod inspection_sync;
mod inspections;
mod live;
mod office;
mod partners;
mod reconcile;
mod rides;
mod sms;
mod staff;
mod top_ups;
mod transit;
pub(crate) mod wire;

use axum::Router;
use axum::routing::MethodRouter;
use utoipa::openapi::path::{PathItem, Paths};
use utoipa::openapi::{RefOr, Schema};
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use crate::State;

/// A router, the (method, path) of every route put into it, and the OpenAPI operations of
/// those routes with the schemas they name.
pub(crate) struct Table {
    pub router: Router<State>,
    pub declared: Vec<(&'static str, String)>,
    pub paths: Paths,
    pub schemas: Vec<(String, RefOr<Schema>)>,
}

/// The methods a path item has operations for, as the access matrix spells them.
fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("GET", item.get.is_some()),
        ("PUT", item.put.is_some()),
        ("POST", item.post.is_some()),
        ("DELETE", item.delete.is_some()),
        ("PATCH", item.patch.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect()
}

impl Table {
    fn new() -> Table {
        Table {
            router: Router::new(),
            declared: Vec::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
    }

    /// Adds the handlers of one path (`routes!(module::handler, …)`): each served
    /// at the path and methods its `#[utoipa::path]` names, its operation kept for the document.
    pub(crate) fn op(self, route: UtoipaMethodRouter<State>) -> Table {
        self.op_layered(route, |route| route)
    }

    /// [`Table::op`] with its own body limit.
    pub(crate) fn op_limited(self, route: UtoipaMethodRouter<State>, bytes: usize) -> Table {
        self.op_layered(route, |route| {
            route.layer(axum::extract::DefaultBodyLimit::max(bytes))
        })
    }

    fn op_layered(
        mut self,
        (schemas, paths, route): UtoipaMethodRouter<State>,
        layer: impl FnOnce(MethodRouter<State>) -> MethodRouter<State>,
    ) -> Table {
        let mut layer = Some(layer);
        let mut route = Some(route);
        for (path, item) in &paths.paths {
            self.declared
                .extend(methods(item).into_iter().map(|m| (m, path.clone())));
            // `routes!` takes handlers of one path: there is one path item.
            if let (Some(route), Some(layer)) = (route.take(), layer.take()) {
                self.router = self.router.route(path, layer(route));
            }
        }
        self.paths.merge(paths);
        self.schemas.extend(schemas);
        self
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", summary = "Liveness",
    responses((status = 200, description = "ok", body = String, content_type = "text/plain")))]
async fn health() -> &'static str {
    "ok"
}

pub(crate) fn all() -> Table {
    let table = Table::new()
        .op(routes!(health))
        .op(routes!(crate::metrics::render))
        .op(routes!(crate::apidoc::document))
        .op(routes!(catalogue::cities))
        .op(routes!(catalogue::keys))
        .op(routes!(auth::request_code))
        .op(routes!(auth::open_session, auth::close_session))
        .op(routes!(auth::list_sessions))
        .op(routes!(auth::end_session))
        .op(routes!(auth::end_other_sessions))
        .op(routes!(rides::buy))
        .op(routes!(rides::quote))
        .op(routes!(rides::status))
        .op(routes!(feedback::submit, feedback::given))
        .op(routes!(feedback::for_carrier))
        .op(routes!(cards::open, cards::list))
        .op(routes!(cards::get))
        .op(routes!(cards::history))
        .op(routes!(cards::block))
        .op(routes!(cards::unblock))
        .op(routes!(cards::close))
        .op(routes!(top_ups::start))
        .op(routes!(top_ups::limits))
        .op(routes!(top_ups::status))
        .op_limited(routes!(top_ups::callback), top_ups::CALLBACK_BODY_BYTES_MAX)
        .op_limited(
            routes!(reconcile::upload),
            service::reconcile::RECONCILIATION_FILE_BYTES_MAX,
        )
        .op(routes!(reconcile::reports))
        .op(routes!(reconcile::discrepancies))
        .op(routes!(reconcile::resolve))
        .op(routes!(applications::apply, applications::mine))
        .op(routes!(applications::queue))
        .op(routes!(applications::approve))
        .op(routes!(applications::reject))
        .op(routes!(banks::biller))
        .op(routes!(banks::put_bank))
        .op(routes!(banks::refund))
        .op(routes!(rides::valid_tickets))
        .op(routes!(rides::history))
        .op(routes!(crate::ticket_page::page))
        .op(routes!(inspections::inspect))
        .op(routes!(inspections::invalidations))
        .op(routes!(inspections::holder_keys))
        .op_limited(
            routes!(inspection_sync::sync),
            crate::INSPECTION_SYNC_BODY_BYTES_MAX,
        )
        .op(routes!(inspection_sync::shift))
        .op(routes!(inspection_sync::vehicles))
        .op(routes!(inspections::revoke))
        .op(routes!(sms::incoming))
        .op(routes!(sms::outbox))
        .op(routes!(sms::sent))
        .op_limited(
            routes!(admin::put_catalogue),
            crate::CATALOGUE_BODY_BYTES_MAX,
        )
        .op(routes!(admin::rotate_keys))
        .op(routes!(admin::ledger))
        .op(routes!(admin::audit))
        .op(routes!(admin::audit_verify))
        .op(routes!(admin::run_recovery));
    let table = staff::routes(table);
    let table = office::routes(table);
    let table = admin::routes(table);
    let table = partners::routes(table);
    let table = carrier::routes(table);
    let table = transit::routes(table);
    let table = arrivals::routes(table);
    live::routes(table)
}
