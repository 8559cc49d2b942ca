//! The API described for integrators: `GET /api/openapi.json` (OpenAPI
//! 3.1). Written by hand beside the routes it describes; a test checks
//! that every `/api` route is in it.

use axum::Json;
use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/Error" },
        "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" },
        "409": { "$ref": "#/components/responses/Error" }
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn op(summary: &str, roles: &str, ok: Value, body: Option<Value>) -> Value {
    let mut o = json!({
        "summary": summary,
        "description": format!("Roles: {roles}."),
        "responses": merge(ok, error_responses()),
    });
    if let Some(schema) = body
        && let Some(m) = o.as_object_mut()
    {
        m.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
    }
    o
}

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }])
}

/// `GET /api/openapi.json`
pub async fn document() -> Json<Value> {
    let no_content = json!({ "204": { "description": "done" } });
    let comment = json!({ "type": "object", "properties": { "comment": { "type": "string" } } });
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "apflow",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accounts-payable invoice processing. Errors are {\"error\": {\"code\", \"message\"}}."
        },
        "security": [{ "bearer": [] }, { "session": [] }],
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "an API token from `apflow user token`" },
                "session": { "type": "apiKey", "in": "cookie", "name": "apflow_session", "description": "browser session; state-changing requests also send X-CSRF-Token" }
            },
            "responses": {
                "Error": { "description": "an error", "content": { "application/json": { "schema": {
                    "type": "object", "properties": { "error": { "type": "object", "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" } } } } } } } }
            },
            "schemas": {
                "Invoice": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "document_id": { "type": "integer" },
                    "status": { "type": "string", "enum": ["pending", "scheduled", "needs_review", "awaiting_approval", "duplicate", "rejected", "paid"] },
                    "vendor_id": { "type": ["string", "null"] }, "vendor_name": { "type": ["string", "null"] },
                    "invoice_number": { "type": ["string", "null"] }, "invoice_date": { "type": ["string", "null"] },
                    "due_date": { "type": ["string", "null"] }, "currency": { "type": ["string", "null"] },
                    "total_amount": { "type": ["string", "null"], "description": "decimal as text" },
                    "po_number": { "type": ["string", "null"] },
                    "reasons": { "type": "array", "items": { "type": "string" } } } }
            }
        },
        "paths": {
            "/api/documents": { "post": merge(op("Upload documents (multipart `file` parts); a saved mail (.eml) or an archive (ZIP, winmail.dat) is unpacked into its invoices", "clerk, admin",
                json!({ "201": { "description": "one entry per document stored (a mail or archive gives several)", "content": { "application/json": { "schema": {
                    "type": "array", "items": { "type": "object", "properties": {
                        "document_id": { "type": "integer" }, "filename": { "type": "string" },
                        "duplicate": { "type": "boolean" } } } } } } } }), None),
                json!({ "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": {
                    "type": "object", "properties": { "file": { "type": "string", "format": "binary" } } } } } } })) },
            "/api/invoices": { "get": merge(op("List invoices", "any",
                json!({ "200": { "description": "invoices", "content": { "application/json": { "schema": {
                    "type": "array", "items": { "$ref": "#/components/schemas/Invoice" } } } } } }), None),
                json!({ "parameters": [
                    { "name": "status", "in": "query", "schema": { "type": "string" } },
                    { "name": "reason", "in": "query", "schema": { "type": "string" } },
                    { "name": "vendor", "in": "query", "schema": { "type": "string" } } ] })) },
            "/api/invoices/{id}": { "get": merge(op("One invoice: fields with confidence and page box, lines, reasons, match, payment", "any",
                json!({ "200": { "description": "the invoice" } }), None), json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/fields": { "post": merge(op("Correct a field (recorded with who, when, old and new)", "clerk, admin", no_content.clone(),
                Some(json!({ "type": "object", "required": ["field", "value"], "properties": {
                    "field": { "type": "string", "enum": crate::store::CORRECTABLE_FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>() },
                    "value": { "type": "string" } } }))), json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/assign": { "post": merge(op("Give the invoice's review to a clerk (`to`), or claim it (no `to`)", "clerk, admin", json!({ "204": { "description": "assigned" } }),
                Some(json!({ "type": "object", "properties": { "to": { "type": "string" } } }))), json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/request-approval": { "post": merge(op("Send an invoice on the review queue to approval, telling the approver in `comment` (required) what was checked or changed", "clerk, admin", no_content.clone(), Some(comment.clone())),
                json!({ "parameters": id_param() })) },
            "/api/documents/{id}/retry": { "post": merge(op("Another full set of attempts for a document apflow gave up on (its job dead-lettered); 409 for any other", "clerk, admin", no_content.clone(), None),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/lines": { "post": merge(op("Replace the invoice's lines (fix, add, remove, split): one change an approver who did not make it approves", "clerk, admin", no_content.clone(),
                Some(json!({ "type": "object", "required": ["lines"], "properties": { "lines": { "type": "array", "items": { "type": "object", "properties": {
                    "from": { "type": "integer", "description": "the line it was (1-based)" }, "description": { "type": "string" },
                    "quantity": { "type": "string" }, "unit_price": { "type": "string" }, "amount": { "type": "string" } } } } } }))),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/notes": { "post": merge(op("A note on the invoice (kept in the audit log); `@name` tells that user", "any",
                json!({ "200": { "description": "{mentions}" } }), Some(json!({ "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } }))),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/undo": { "post": merge(op("Undo a rejection or a \"duplicate\" of the last 24 hours: back to the review queue", "approver, admin", no_content.clone(), None),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/approve": { "post": merge(op("Approve: the payment is planned (not by whoever corrected or sent it; within the approver's limit; above the two-approver threshold the first approval answers 202 and a different approver must approve too)", "approver, admin",
                json!({ "204": { "description": "approved: scheduled for payment" }, "202": { "description": "first of two approvals recorded" } }), Some(comment.clone())),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/reject": { "post": merge(op("Reject, with a reason in `comment`: the approver's decision while it awaits approval, else the clerk's from the review queue", "approver, admin (awaiting approval); clerk, admin (review queue)", no_content.clone(), Some(comment.clone())),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/hold": { "post": merge(op("Put on hold, with a reason in `comment`", "clerk, admin", no_content.clone(), Some(comment.clone())),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/release": { "post": merge(op("Bring an invoice on hold back to the review queue", "clerk, admin", no_content.clone(), None),
                json!({ "parameters": id_param() })) },
            "/api/invoices/{id}/mark-duplicate": { "post": merge(op("Mark a duplicate of an earlier invoice (never paid)", "clerk, admin", no_content,
                Some(json!({ "type": "object", "required": ["duplicate_of"], "properties": { "duplicate_of": { "type": "integer" }, "comment": { "type": "string" } } }))),
                json!({ "parameters": id_param() })) },
            "/api/vendors/{id}/verify-iban": { "post": merge(op("Confirm a vendor's new bank account (not by whoever entered it); held invoices are checked again", "approver, admin",
                json!({ "200": { "description": "{vendor_id, reevaluated}" } }), Some(json!({ "type": "object", "required": ["iban"], "properties": { "iban": { "type": "string" } } }))),
                json!({ "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }] })) },
            "/api/import/{kind}": { "post": merge(op("Import master data: JSONL, or CSV with Content-Type text/csv", "admin",
                json!({ "200": { "description": "{imported, reevaluated}" } }), None),
                json!({ "parameters": [{ "name": "kind", "in": "path", "required": true, "schema": { "type": "string", "enum": ["vendors", "pos", "receipts"] } }] })) },
            "/api/payment-runs/{id}/{outcome}": { "post": merge(op("The bank's answer for a payment run (recorded as the caller)", "admin",
                json!({ "200": { "description": "{run, state}" } }), Some(json!({ "type": "object", "properties": { "reason": { "type": "string" } } }))),
                json!({ "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } },
                    { "name": "outcome", "in": "path", "required": true, "schema": { "type": "string", "enum": ["executed", "failed"] } } ] })) },
            "/api/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3.1" } } } }
        }
    }))
}
