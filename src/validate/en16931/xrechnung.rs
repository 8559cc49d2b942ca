//! XRechnung's national rules (BR-DE-*), applied when the specification
//! identifier names XRechnung: what German public buyers need beyond
//! EN 16931 (contact, Leitweg-ID, payment details that fit the payment
//! means, the Skonto syntax). Texts as KoSIT's schematron writes them.

use super::{Rules, has};
use crate::domain::einvoice::PaymentMeans;
use crate::validate::iban_is_valid;

pub(super) fn check(r: &mut Rules<'_>) {
    let e = r.e;
    let seller = &e.seller;
    r.require("BR-DE-1", !e.payment_means.is_empty(), &e.root, "[BR-DE-1] Eine Rechnung (INVOICE) muss Angaben zu \"PAYMENT INSTRUCTIONS\" (BG-16) enthalten.");
    r.require(
        "BR-DE-2",
        seller.contact.is_some(),
        &seller.path,
        "[BR-DE-2] Die Gruppe \"SELLER CONTACT\" (BG-6) muss übermittelt werden.",
    );
    if let Some(a) = &seller.address {
        r.require(
            "BR-DE-3",
            has(&a.city),
            &a.path,
            "[BR-DE-3] Das Element \"Seller city\" (BT-37) muss übermittelt werden.",
        );
        r.require(
            "BR-DE-4",
            has(&a.post_code),
            &a.path,
            "[BR-DE-4] Das Element \"Seller post code\" (BT-38) muss übermittelt werden.",
        );
    }
    if let Some(c) = &seller.contact {
        r.require(
            "BR-DE-5",
            has(&c.name),
            &c.path,
            "[BR-DE-5] Das Element \"Seller contact point\" (BT-41) muss übermittelt werden.",
        );
        r.require("BR-DE-6", has(&c.phone), &c.path, "[BR-DE-6] Das Element \"Seller contact telephone number\" (BT-42) muss übermittelt werden.");
        r.require("BR-DE-7", has(&c.email), &c.path, "[BR-DE-7] Das Element \"Seller contact email address\" (BT-43) muss übermittelt werden.");
        if let Some(phone) = &c.phone
            && phone.value.chars().filter(char::is_ascii_digit).count() < 3
        {
            r.warning("BR-DE-27", &phone.path, format!("[BR-DE-27] In BT-42 sollen mindestens drei Ziffern enthalten sein. (hier {:?})", phone.value));
        }
        if let Some(email) = &c.email
            && !plausible_email(&email.value)
        {
            r.warning("BR-DE-28", &email.path, format!("[BR-DE-28] In BT-43 soll genau ein @-Zeichen enthalten sein, welches nicht von einem Leerzeichen, einem Punkt, aber mindestens zwei Zeichen auf beiden Seiten flankiert werden soll. Ein Punkt sollte nicht am Anfang oder am Ende stehen. (hier {:?})", email.value));
        }
    }
    if let Some(a) = &e.buyer.address {
        r.require(
            "BR-DE-8",
            has(&a.city),
            &a.path,
            "[BR-DE-8] Das Element \"Buyer city\" (BT-52) muss übermittelt werden.",
        );
        r.require(
            "BR-DE-9",
            has(&a.post_code),
            &a.path,
            "[BR-DE-9] Das Element \"Buyer post code\" (BT-53) muss übermittelt werden.",
        );
    }
    if let Some(a) = &e.delivery.address {
        r.require("BR-DE-10", has(&a.city), &a.path, "[BR-DE-10] Das Element \"Deliver to city\" (BT-77) muss übermittelt werden, wenn die Gruppe \"DELIVER TO ADDRESS\" (BG-15) übermittelt wird.");
        r.require("BR-DE-11", has(&a.post_code), &a.path, "[BR-DE-11] Das Element \"Deliver to post code\" (BT-78) muss übermittelt werden, wenn die Gruppe \"DELIVER TO ADDRESS\" (BG-15) übermittelt wird.");
    }
    for b in &e.vat_breakdown {
        r.require(
            "BR-DE-14",
            b.rate.is_some(),
            &b.path,
            "[BR-DE-14] Das Element \"VAT category rate\" (BT-119) muss übermittelt werden.",
        );
    }
    r.require(
        "BR-DE-15",
        has(&e.buyer_reference),
        &e.root,
        "[BR-DE-15] Das Element \"Buyer reference\" (BT-10) muss übermittelt werden.",
    );
    let taxed = e.vat_breakdown.iter().any(|b| {
        b.category.as_ref().is_some_and(|c| {
            matches!(
                c.value.as_str(),
                "S" | "Z" | "E" | "AE" | "K" | "G" | "L" | "M"
            )
        })
    });
    if taxed
        && !has(&seller.vat_id)
        && !has(&seller.tax_registration)
        && e.tax_representative.is_none()
    {
        r.fatal("BR-DE-16", &seller.path, "[BR-DE-16] Wenn in einer Rechnung die Steuercodes S, Z, E, AE, K, G, L oder M verwendet werden, muss mindestens eines der Elemente \"Seller VAT identifier\" (BT-31), \"Seller tax registration identifier\" (BT-32) oder \"SELLER TAX REPRESENTATIVE PARTY\" (BG-11) übermittelt werden.");
    }
    if let Some(code) = &e.type_code
        && !matches!(
            code.value.as_str(),
            "326" | "380" | "384" | "389" | "381" | "875" | "876" | "877"
        )
    {
        r.warning("BR-DE-17", &code.path, format!("[BR-DE-17] Mit dem Element \"Invoice type code\" (BT-3) sollen ausschließlich folgende Codes aus der Codeliste UNTDID 1001 übermittelt werden: 326 (Partial invoice), 380 (Commercial invoice), 384 (Corrected invoice), 389 (Self-billed invoice) und 381 (Credit note), 875 (Partial construction invoice), 876 (Partial final construction invoice), 877 (Final construction invoice). (hier {})", code.value));
    }
    for terms in &e.payment_terms {
        if let Some(bad) = bad_discount_term(&terms.value) {
            r.fatal("BR-DE-18", &terms.path, format!("[BR-DE-18] Die Informationen zur Gewährung von Skonto müssen wie folgt im Element \"Payment terms\" (BT-20) übermittelt werden: Anzugeben ist im ersten Segment \"SKONTO\", im zweiten \"TAGE=n\", im dritten \"PROZENT=n\". Prozentzahlen sind ohne Vorzeichen sowie mit Punkt getrennt von zwei Nachkommastellen anzugeben; optional \"BASISBETRAG=n\". (hier {bad:?})"));
        }
    }
    if let Some(spec) = &e.specification
        && !is_xrechnung_id(&spec.value)
    {
        r.warning("BR-DE-21", &spec.path, format!("[BR-DE-21] Das Element \"Specification identifier\" (BT-24) soll syntaktisch der Kennung des Standards XRechnung entsprechen. (hier {:?})", spec.value));
    }
    for m in &e.payment_means {
        payment_means(r, m);
    }
    direct_debit(r);
    if e.type_code.as_ref().is_some_and(|c| c.value == "384") && e.preceding_invoices.is_empty() {
        r.warning("BR-DE-26", &e.root, "[BR-DE-26] Wenn im Element \"Invoice type code\" (BT-3) der Code 384 (Corrected invoice) übergeben wird, soll PRECEDING INVOICE REFERENCE BG-3 mind. einmal vorhanden sein.");
    }
}

/// BR-DE-30, 31: a direct debit names the creditor and the account.
fn direct_debit(r: &mut Rules<'_>) {
    let e = r.e;
    let debited = e.payment_means.iter().any(|m| has(&m.debited_account));
    let creditor = has(&e.creditor_id);
    let mandate = has(&e.mandate);
    if !(debited || creditor || mandate) {
        return;
    }
    r.require("BR-DE-30", creditor, &e.root, "[BR-DE-30] Wenn \"DIRECT DEBIT\" BG-19 vorhanden ist, dann muss \"Bank assigned creditor identifier\" BT-90 übermittelt werden.");
    r.require("BR-DE-31", debited, &e.root, "[BR-DE-31] Wenn \"DIRECT DEBIT\" BG-19 vorhanden ist, dann muss \"Debited account identifier\" BT-91 übermittelt werden.");
}

/// BR-DE-19, 20, 23, 24, 25: the payment details fit the payment means.
fn payment_means(r: &mut Rules<'_>, m: &PaymentMeans) {
    let e = r.e;
    let transfer = !m.accounts.is_empty();
    let card = has(&m.card_number);
    let debit = has(&m.debited_account) || has(&e.mandate);
    let p = m.path.as_str();
    if m.is_credit_transfer() {
        r.require("BR-DE-23-a", transfer, p, "[BR-DE-23-a] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Überweisungen enthält (30, 58), muss BG-17 \"CREDIT TRANSFER\" übermittelt werden.");
        r.require("BR-DE-23-b", !card && !debit && !has(&e.creditor_id), p, "[BR-DE-23-b] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Überweisungen enthält (30, 58), dürfen BG-18 und BG-19 nicht übermittelt werden.");
        if m.code.as_ref().is_some_and(|c| c.value == "58") {
            for a in m.accounts.iter().filter(|a| !iban_is_valid(&a.value)) {
                r.warning("BR-DE-19", &a.path, "[BR-DE-19] \"Payment account identifier\" (BT-84) soll eine korrekte IBAN enthalten, wenn in \"Payment means type code\" (BT-81) mit dem Code 58 SEPA als Zahlungsmittel gefordert wird.");
            }
        }
    }
    if m.is_card() {
        r.require("BR-DE-24-a", card, p, "[BR-DE-24-a] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Kartenzahlungen enthält (48, 54, 55), muss genau BG-18 \"PAYMENT CARD INFORMATION\" übermittelt werden.");
        r.require("BR-DE-24-b", !transfer && !debit && !has(&e.creditor_id), p, "[BR-DE-24-b] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Kartenzahlungen enthält (48, 54, 55), dürfen BG-17 und BG-19 nicht übermittelt werden.");
    }
    if m.code.as_ref().is_some_and(|c| c.value == "59") {
        r.require("BR-DE-25-a", debit, p, "[BR-DE-25-a] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Lastschriften enthält (59), muss genau BG-19 \"DIRECT DEBIT\" übermittelt werden.");
        r.require("BR-DE-25-b", !transfer && !card, p, "[BR-DE-25-b] Wenn BT-81 \"Payment means type code\" einen Schlüssel für Lastschriften enthält (59), dürfen BG-17 und BG-18 nicht übermittelt werden.");
        if let Some(account) = &m.debited_account
            && !iban_is_valid(&account.value)
        {
            r.warning("BR-DE-20", &account.path, "[BR-DE-20] \"Debited account identifier\" (BT-91) soll eine korrekte IBAN enthalten, wenn in \"Payment means type code\" (BT-81) mit dem Code 59 SEPA als Zahlungsmittel gefordert wird.");
        }
    }
}

/// The first `#SKONTO#` entry that does not follow the XRechnung syntax.
fn bad_discount_term(text: &str) -> Option<String> {
    crate::domain::einvoice::skonto_entries(text).err()
}

/// The identifiers XRechnung versions define: 3.x
/// `...#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0` (with its extension
/// and CVD forms) and 1.2 to 2.3 `...#compliant#urn:xoev-de:kosit:standard:
/// xrechnung_2.1`. An invoice of an older version is not told off for its
/// version's own identifier.
fn is_xrechnung_id(id: &str) -> bool {
    [
        "urn:xeinkauf.de:kosit:xrechnung_",
        "urn:xoev-de:kosit:standard:xrechnung_",
    ]
    .iter()
    .any(|kind| id.starts_with(&format!("urn:cen.eu:en16931:2017#compliant#{kind}")))
}

fn plausible_email(email: &str) -> bool {
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::bad_discount_term;

    #[test]
    fn reads_the_skonto_syntax() {
        assert_eq!(bad_discount_term("#SKONTO#TAGE=14#PROZENT=2.00#"), None);
        assert_eq!(
            bad_discount_term(
                "#SKONTO#TAGE=7#PROZENT=3.00#BASISBETRAG=100.00# #SKONTO#TAGE=14#PROZENT=2.00#"
            ),
            None
        );
        assert_eq!(bad_discount_term("Zahlbar in 30 Tagen"), None);
        assert!(bad_discount_term("#SKONTO#TAGE=14#PROZENT=2#").is_some());
        assert!(bad_discount_term("#SKONTO#TAGE=vierzehn#PROZENT=2.00#").is_some());
    }
}
