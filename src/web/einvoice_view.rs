//! An XML-only e-invoice as a person reads it: seller and buyer, lines,
//! allowances and charges, VAT breakdown, totals and payment details,
//! laid out like a printed invoice. An XRechnung sent without a PDF has no
//! page for the review screen; this is its page. The browser prints it to
//! PDF (the print style sheet drops the app's frame).
//!
//! Built with `maud`: every value from the XML is escaped by the template,
//! never by hand. Values carry the ids the invoice page's field list links
//! to (`#xml-total_amount`), so a field lights up where the document shows
//! it, as the boxes do on a PDF page.

use maud::{Markup, html};

use crate::domain::einvoice::{
    Address, AllowanceCharge, At, EInvoice, Party, PaymentMeans, RuleViolation, Severity, Term,
};

/// The document view of an e-invoice, with the rules it breaks on top.
pub fn render(e: &EInvoice, violations: &[RuleViolation]) -> Markup {
    let currency = e.currency.as_ref().map_or("", |c| c.value.as_str());
    html! {
        article.einvoice {
            (rule_findings(violations))
            header.doc-head {
                h2 { (document_title(e)) " " span #xml-invoice_number { (text(&e.number)) } }
                p.meta {
                    "Issued " span #xml-invoice_date { (text(&e.issue_date)) }
                    @if e.due_date.is_some() { " · due " span #xml-due_date { (text(&e.due_date)) } }
                    " · currency " span #xml-currency { (text(&e.currency)) }
                    " · " (e.syntax.as_str()) ", " (e.profile.as_str())
                }
            }
            div.parties {
                (party("Seller", &e.seller, true))
                (party("Buyer", &e.buyer, false))
            }
            dl.refs {
                @if let Some(po) = &e.order_reference { dt { "Purchase order" } dd #xml-po_number { (po.value) } }
                @if let Some(r) = &e.buyer_reference { dt { "Buyer reference" } dd { (r.value) } }
                @if let Some(r) = &e.contract_reference { dt { "Contract" } dd { (r.value) } }
                @if let Some(r) = &e.project_reference { dt { "Project" } dd { (r.value) } }
                @if let Some(r) = &e.invoiced_object { dt { "Invoiced object" } dd { (r.value) } }
                @for p in &e.preceding_invoices {
                    dt { "Corrects invoice" } dd { (text(&p.number)) @if p.issue_date.is_some() { " of " (text(&p.issue_date)) } }
                }
                @if let Some(d) = &e.delivery.date { dt { "Delivered" } dd { (d.value) } }
                @if let Some(p) = &e.invoicing_period { dt { "Period" } dd { (text(&p.start)) " – " (text(&p.end)) } }
                @if let Some(a) = &e.delivery.address {
                    dt { "Deliver to" } dd { (text(&e.delivery.party_name)) " " (address(a)) }
                }
                @if let Some(payee) = &e.payee { dt { "Payee" } dd { (text(&payee.name)) } }
            }
            (lines(e, currency))
            (allowances_and_charges(e))
            (vat_breakdown(e))
            (totals(e, currency))
            (payment(e))
            @if !e.notes.is_empty() {
                section.notes { h3 { "Notes" } @for n in &e.notes { p { (n.value) } } }
            }
        }
    }
}

fn document_title(e: &EInvoice) -> &'static str {
    match e.type_code.as_ref().map(|t| t.value.as_str()) {
        Some("381") => "Credit note",
        Some("384") => "Corrected invoice",
        Some("389") => "Self-billed invoice",
        Some("326") => "Partial invoice",
        Some("875" | "876" | "877") => "Construction invoice",
        _ => "Invoice",
    }
}

fn text<T: std::fmt::Display>(t: &Term<T>) -> String {
    t.as_ref()
        .map_or_else(|| "—".to_string(), |a| a.value.to_string())
}

fn rule_findings(violations: &[RuleViolation]) -> Markup {
    let fatal = violations
        .iter()
        .filter(|v| v.severity == Severity::Fatal)
        .count();
    html! {
        @if violations.is_empty() {
            p.valid.noprint { "Valid EN 16931 e-invoice: no business rule broken." }
        } @else {
            section.rules.noprint {
                h3 {
                    @if fatal > 0 { "Breaks " (fatal) " EN 16931 rule" @if fatal > 1 { "s" } }
                    @else { "Valid, with " (violations.len()) " warning" @if violations.len() > 1 { "s" } }
                }
                ul {
                    @for v in violations {
                        li class=(if v.severity == Severity::Fatal { "low" } else { "" }) {
                            span.reason { (v.rule) } " " (v.message)
                            br; small { "at " code { (v.path) } }
                        }
                    }
                }
            }
        }
    }
}

fn party(role: &str, p: &Party, seller: bool) -> Markup {
    html! {
        section.party {
            h3 { (role) }
            p.name {
                @if seller { span #xml-vendor_name { (text(&p.name)) } } @else { (text(&p.name)) }
                @if let Some(t) = p.trading_name.as_ref().filter(|t| Some(&t.value) != p.name.as_ref().map(|n| &n.value)) {
                    br; small { (t.value) }
                }
            }
            @if let Some(a) = &p.address { p { (address(a)) } }
            dl {
                @if let Some(vat) = &p.vat_id {
                    dt { "VAT id" }
                    @if seller { dd #xml-vendor_vat_id { (vat.value) } } @else { dd { (vat.value) } }
                }
                @if let Some(t) = &p.tax_registration { dt { "Tax number" } dd { (t.value) } }
                @if let Some(l) = &p.legal_id { dt { "Registration" } dd { (l.value) } }
                @for id in &p.identifiers { dt { "Identifier" } dd { (id.value) } }
                @if let Some(a) = &p.electronic_address { dt { "E-address" } dd { (a.value) } }
                @if let Some(c) = &p.contact {
                    dt { "Contact" }
                    dd { (text(&c.name)) @if let Some(ph) = &c.phone { " · " (ph.value) } @if let Some(m) = &c.email { " · " (m.value) } }
                }
            }
        }
    }
}

fn address(a: &Address) -> Markup {
    let parts: Vec<&str> = [
        &a.line_one,
        &a.post_code,
        &a.city,
        &a.subdivision,
        &a.country,
    ]
    .into_iter()
    .filter_map(|t| t.as_ref().map(|v| v.value.as_str()))
    .collect();
    html! { (parts.join(", ")) }
}

fn lines(e: &EInvoice, currency: &str) -> Markup {
    html! {
        @if !e.lines.is_empty() {
            table.lines {
                thead { tr {
                    th { "#" } th { "Item" } th.num { "Quantity" } th.num { "Net price" }
                    th { "VAT" } th.num { "Net amount " (currency) }
                } }
                tbody {
                    @for l in &e.lines {
                        tr {
                            td { (text(&l.id)) }
                            td {
                                (text(&l.name))
                                @if let Some(d) = &l.description { br; small { (d.value) } }
                                @if let Some(s) = &l.seller_item_id { br; small { "Item no. " (s.value) } }
                                @if let Some(o) = &l.object_id { br; small { "Object " (o.value) } }
                                @if let Some(o) = &l.order_line { br; small { "PO line " (o.value) } }
                                @for a in &l.allowances { br; small { "less " (charge_text(a)) } }
                                @for c in &l.charges { br; small { "plus " (charge_text(c)) } }
                            }
                            td.num { (text(&l.quantity)) " " (text(&l.unit)) }
                            td.num {
                                (text(&l.net_price))
                                @if let Some(b) = l.base_quantity.as_ref().filter(|b| b.value != rust_decimal::Decimal::ONE) { " per " (b.value) }
                                @if let Some(g) = &l.gross_price { br; small { "gross " (g.value) } }
                            }
                            td { (text(&l.vat_category)) " " (text(&l.vat_rate)) "%" }
                            td.num { (text(&l.net_amount)) }
                        }
                    }
                }
            }
        }
    }
}

fn charge_text(a: &AllowanceCharge) -> String {
    let reason = a
        .reason
        .as_ref()
        .or(a.reason_code.as_ref())
        .map_or("", |r| r.value.as_str());
    let percent = a
        .percent
        .as_ref()
        .map(|p| format!(" ({}% of {})", p.value, text(&a.base)))
        .unwrap_or_default();
    format!("{} {reason}{percent}", text(&a.amount))
}

fn allowances_and_charges(e: &EInvoice) -> Markup {
    html! {
        @if !e.allowances.is_empty() || !e.charges.is_empty() {
            table.charges {
                thead { tr { th { "Allowances and charges" } th { "VAT" } th.num { "Amount" } } }
                tbody {
                    @for (sign, a) in e.allowances.iter().map(|a| ("−", a)).chain(e.charges.iter().map(|c| ("+", c))) {
                        tr {
                            td { (a.reason.as_ref().or(a.reason_code.as_ref()).map_or("—", |r| r.value.as_str())) }
                            td { (text(&a.vat_category)) " " (text(&a.vat_rate)) "%" }
                            td.num { (sign) " " (text(&a.amount)) }
                        }
                    }
                }
            }
        }
    }
}

fn vat_breakdown(e: &EInvoice) -> Markup {
    html! {
        @if !e.vat_breakdown.is_empty() {
            table.vat {
                thead { tr { th { "VAT category" } th.num { "Rate" } th.num { "Taxable" } th.num { "VAT" } th { "Exemption" } } }
                tbody {
                    @for b in &e.vat_breakdown {
                        tr {
                            td { (category_name(&b.category)) }
                            td.num { (text(&b.rate)) "%" }
                            td.num { (text(&b.taxable)) }
                            td.num { (text(&b.tax)) }
                            td { (b.exemption_reason.as_ref().or(b.exemption_code.as_ref()).map_or("", |r| r.value.as_str())) }
                        }
                    }
                }
            }
        }
    }
}

fn category_name(code: &Term<String>) -> String {
    let name = match code.as_ref().map(|c| c.value.as_str()) {
        Some("S") => "Standard rate",
        Some("Z") => "Zero rated",
        Some("E") => "Exempt",
        Some("AE") => "Reverse charge",
        Some("K") => "Intra-community supply",
        Some("G") => "Export outside the EU",
        Some("O") => "Not subject to VAT",
        Some("L") => "Canary Islands (IGIC)",
        Some("M") => "Ceuta and Melilla (IPSI)",
        _ => "",
    };
    format!("{} {name}", text(code))
}

fn totals(e: &EInvoice, currency: &str) -> Markup {
    let t = &e.totals;
    let row = |label: &str,
               id: Option<&str>,
               v: &Term<rust_decimal::Decimal>,
               strong: bool|
     -> Markup {
        html! {
            @if let Some(At { value, .. }) = v {
                tr class=(if strong { "strong" } else { "" }) {
                    th { (label) }
                    @if let Some(id) = id { td.num id=(id) { (value) " " (currency) } } @else { td.num { (value) " " (currency) } }
                }
            }
        }
    };
    html! {
        table.totals {
            tbody {
                (row("Sum of lines", None, &t.line_total, false))
                (row("Allowances", None, &t.allowance_total, false))
                (row("Charges", None, &t.charge_total, false))
                (row("Total without VAT", Some("xml-net_amount"), &t.tax_exclusive, false))
                (row("VAT", Some("xml-tax_amount"), &t.tax_total, false))
                (row("Total with VAT", Some("xml-total_amount"), &t.grand_total, true))
                (row("Already paid", None, &t.prepaid, false))
                (row("Rounding", None, &t.rounding, false))
                (row("Amount due", None, &t.due_payable, true))
            }
        }
    }
}

fn means_name(m: &PaymentMeans) -> &'static str {
    match m.code.as_ref().map(|c| c.value.as_str()) {
        Some("58") => "SEPA credit transfer",
        Some("30") => "Credit transfer",
        Some("59") => "SEPA direct debit",
        Some("49") => "Direct debit",
        Some("48" | "54" | "55") => "Payment card",
        Some("10") => "Cash",
        Some("20") => "Cheque",
        Some("57") => "Standing agreement",
        Some("1") => "Not defined",
        _ => "Payment",
    }
}

fn payment(e: &EInvoice) -> Markup {
    let mut first_account = true;
    html! {
        section.payment {
            h3 { "Payment" }
            @for m in &e.payment_means {
                p {
                    (means_name(m)) " (" (text(&m.code)) ")"
                    @for a in &m.accounts {
                        @if std::mem::take(&mut first_account) { " to " span #xml-iban { (a.value) } } @else { ", " (a.value) }
                    }
                    @if let Some(b) = &m.bic { " · BIC " (b.value) }
                    @if let Some(r) = &m.remittance { " · reference " (r.value) }
                    @if let Some(c) = &m.card_number { " · card " (c.value) }
                    @if let Some(d) = &m.debited_account { " · debited from " (d.value) }
                }
            }
            @if e.mandate.is_some() || e.creditor_id.is_some() {
                p { "Mandate " (text(&e.mandate)) " · creditor id " (text(&e.creditor_id)) }
            }
            @if !e.payment_terms.is_empty() || !e.discount_terms.is_empty() {
                div #xml-payment_terms {
                    @for t in &e.payment_terms { p { (t.value) } }
                    @for d in &e.discount_terms {
                        p { (d.percent) "% early-payment discount if paid within " (d.days.normalize()) " days"
                            @if let Some(b) = d.base { " (on " (b) ")" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::read::einvoice::parse_model;
    use crate::validate::en16931::check;

    #[test]
    fn shows_every_part_and_escapes_what_the_xml_says() {
        let xml = include_str!("../../tests/fixtures/einvoice/en16931-allowances.cii.xml").replace(
            "Wood screws 4x40, box of 200",
            "&lt;script&gt;alert(1)&lt;/script&gt; screws",
        );
        let model = parse_model(xml.as_bytes()).expect("parses");
        let html = render(&model, &check(&model)).into_string();
        for part in [
            "Schraubenhandel Nord GmbH",
            "Tischlerei Berg KG",
            "id=\"xml-total_amount\"",
            "164.71 EUR",
            "Loyalty discount",
            "Freight",
            "Standard rate",
            "DE02120300000000202051",
            "SEPA credit transfer",
            "Valid EN 16931 e-invoice",
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
        assert!(!html.contains("<script>"), "markup from the XML is escaped");
        assert!(html.contains("&lt;script&gt;"));
    }
}
